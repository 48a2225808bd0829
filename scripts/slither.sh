#!/usr/bin/env bash
# Slither over contracts/src, compiled by forge (crytic-compile's foundry platform) with the repo's pinned
# solc-js adapter (bin/solc). Exits 0 only when every finding is triaged: fixed, or justified by a
# `slither-disable` comment / the config's exclusions (see contracts/SLITHER.md).
#
#   scripts/slither.sh                          # analyse; non-zero on any untriaged finding or analysis error
#   scripts/slither.sh --show-ignored-findings  # extra arguments go to slither (this one lists triaged findings too)
#
# Forge writes to .cache/slither/ (not contracts/out), so a run never disturbs forge test or deploy artifacts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SLITHER="$ROOT/.venv/bin/slither"
WORK="$ROOT/.cache/slither"

[[ -x "$SLITHER" ]] || { echo "slither.sh: $SLITHER missing (pip install -r requirements.lock into .venv)" >&2; exit 2; }

# Our adapter and the npm forge come first; .venv/bin (solc-select's `solc` shim) is never put on PATH.
export PATH="$ROOT/bin:$ROOT/node_modules/.bin:$PATH"
# Isolated forge output; crytic-compile runs `forge clean` + `forge build --force` on it.
export FOUNDRY_OUT="$WORK/out" FOUNDRY_CACHE_PATH="$WORK/cache"
export FOUNDRY_LINT_LINT_ON_BUILD=false

mkdir -p "$WORK"
JSON="$WORK/slither.json" LOG="$WORK/slither.log"
rm -f "$JSON"

cd "$ROOT/contracts"
set +e
"$SLITHER" . --config-file slither.config.json --json "$JSON" "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e

python3 - "$JSON" "$LOG" "$rc" <<'PY'
import json, re, sys
json_path, log_path, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = open(log_path, encoding="utf8", errors="replace").read()
problems = []
# Parse errors (e.g. unresolved inheritance) make Slither silently analyse less: treat them as failures.
errors = [line for line in log.splitlines() if line.startswith("ERROR:")]
if errors:
    problems.append(f"{len(errors)} ERROR line(s) in the slither log, first: {errors[0]}")
m = re.search(r"analyzed \((\d+) contracts with (\d+) detectors\), (\d+) result", log)
if not m:
    problems.append("no 'analyzed (...)' summary: slither did not finish")
elif int(m.group(1)) == 0:
    problems.append("slither analyzed 0 contracts")
try:
    data = json.load(open(json_path, encoding="utf8"))
except (OSError, ValueError) as exc:
    data = None
    problems.append(f"no JSON report: {exc}")
findings = []
if data is not None:
    if not data.get("success", False):
        problems.append(f"slither reported failure: {data.get('error')}")
    findings = (data.get("results") or {}).get("detectors", [])
# warn_unused_ignores also reports OpenZeppelin's own slither-disable comments (unused here because
# dependencies are not reported); only stale directives in contracts/src count.
own = []
for f in findings:
    if f["check"] == "unused-ignore-directive":
        stale = sorted({(u["file"], u["line"]) for u in f.get("unused_ignores", []) if "/contracts/src/" in u["file"]})
        for file, line in stale:
            problems.append(f"stale slither-disable directive at {file}#{line}")
        continue
    own.append(f)
findings = own
for f in findings:
    first = f.get("first_markdown_element") or ""
    problems.append(f"untriaged [{f['check']}] ({f['impact']}/{f['confidence']}) {first}")
if m:
    print(f"slither.sh: {m.group(1)} contracts, {m.group(2)} detectors, {len(findings)} untriaged finding(s)")
if problems:
    print("slither.sh: FAILED", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
# 255 is slither's "findings or output error": errors are caught above (success flag, ERROR lines), and
# the only findings left are dependencies' unused directives. Any other status is a crash.
if rc not in (0, 255):
    print(f"slither.sh: slither exited {rc}; see {log_path}", file=sys.stderr)
    sys.exit(rc)
print("slither.sh: OK")
PY
