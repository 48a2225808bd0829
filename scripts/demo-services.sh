#!/usr/bin/env bash
# After `fabrica demo`: keep the index following the devnet (`fabrica indexer run`, polling every 0.25 s so a
# confirmed transaction reaches the dApp well within a second) and serve the gateway,
# both in the background, then wait until the gateway is ready and print where it is.
# `make demo-stop` (this script with `stop`) ends them; `fabrica devnet down` stops the chain.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
STATE=.fabrica
DB="sqlite:///$STATE/demo-index.db"
PORT="${FABRICA_GATEWAY_PORT:-8000}"
mkdir -p "$STATE/logs"

stop() {
  for name in gateway indexer; do
    if [[ -f "$STATE/$name.pid" ]]; then
      pid=$(cat "$STATE/$name.pid")
      kill "$pid" 2>/dev/null && echo "stopped the $name (pid $pid)" || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$STATE/$name.pid"
    fi
  done
}

if [[ "${1:-start}" == "stop" ]]; then
  stop
  exit 0
fi
stop
nohup "$BIN/fabrica" indexer run --db "$DB" --poll 0.25 >"$STATE/logs/indexer.log" 2>&1 &
echo $! >"$STATE/indexer.pid"
nohup "$BIN/fabrica" gateway serve --db "$DB" --port "$PORT" >"$STATE/logs/gateway.log" 2>&1 &
echo $! >"$STATE/gateway.pid"
for _ in $(seq 120); do
  if curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
    echo
    echo "Gateway ready at http://127.0.0.1:$PORT  (API docs /docs, OpenAPI /openapi.json, dApp /)"
    echo "  e.g. curl http://127.0.0.1:$PORT/v1/jobs | python3 -m json.tool"
    echo "Indexer following the devnet into $DB; logs in $STATE/logs/. Stop both with \`make demo-stop\`."
    exit 0
  fi
  if ! kill -0 "$(cat "$STATE/gateway.pid")" 2>/dev/null; then
    echo "the gateway exited; its log:" >&2
    tail -20 "$STATE/logs/gateway.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "the gateway did not become ready in 60 s; see $STATE/logs/gateway.log and /readyz" >&2
curl -sS "http://127.0.0.1:$PORT/readyz" >&2 || true
exit 1
