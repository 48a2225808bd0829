#!/usr/bin/env bash
# Make the repo's solc-js adapter (bin/solc) the compiler ape-solidity finds: ape-solidity discovers
# compilers through py-solc-x's install folder, so we give py-solc-x a repo-local folder holding
# `solc-v<version>` -> bin/solc. Idempotent; run from anywhere. Use it with
#   export SOLCX_BINARY_PATH="$PWD/.cache/solcx"      (the Makefile exports this)
# py-solc-x cannot download compilers here, and must never pick solc-select's .venv/bin/solc shim.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${SOLCX_BINARY_PATH:-$ROOT/.cache/solcx}"
ADAPTER="$ROOT/bin/solc"

# The version the adapter answers, e.g. "Version: 0.8.37+commit.f401782d.Emscripten.clang" -> 0.8.37
VERSION="$("$ADAPTER" --version | sed -n 's/^Version: \([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')"
[[ -n "$VERSION" ]] || { echo "ape-setup.sh: cannot read the version from $ADAPTER --version" >&2; exit 1; }

mkdir -p "$DIR"
LINK="$DIR/solc-v$VERSION"
# Relative link when the folder is inside the repo, so moving the checkout keeps it valid.
case "$DIR" in
  "$ROOT"/*) TARGET="$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$ADAPTER" "$DIR")" ;;
  *) TARGET="$ADAPTER" ;;
esac
if [[ "$(readlink "$LINK" 2>/dev/null || true)" != "$TARGET" ]]; then
  rm -f "$LINK"
  ln -s "$TARGET" "$LINK"
fi
# Any other solc-v* there (a stale version after a solc bump) would be preferred or confuse selection.
for other in "$DIR"/solc-v*; do
  [[ "$other" == "$LINK" || ! -e "$other" && ! -L "$other" ]] && continue
  rm -f "$other"
done
"$LINK" --version >/dev/null
echo "ape-setup.sh: $LINK -> $TARGET (solc $VERSION)"

# ape compiles in place, not in an isolated copy, when the project lies under the temp dir; ape-solidity
# then unpacks OpenZeppelin into contracts/src/.cache, which forge would compile as project sources.
TMP="$(python3 -c 'import os, tempfile; print(os.path.realpath(tempfile.gettempdir()))')"
case "$(realpath "$ROOT")/" in
  "$TMP"/*) echo "ape-setup.sh: warning: $ROOT is under $TMP; set TMPDIR elsewhere before \`ape compile\`" >&2 ;;
esac
