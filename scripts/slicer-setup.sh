#!/usr/bin/env bash
# Install the slicer the node client uses (PrusaSlicer's CLI, from Debian) unless it is already there.
# Idempotent; runs headless (no display needed for --export-gcode). Needs root or sudo for apt-get.
set -euo pipefail
if command -v prusa-slicer >/dev/null 2>&1; then
    echo "slicer-setup: $(prusa-slicer --help 2>/dev/null | grep -o 'PrusaSlicer-[^ ]*' | head -1) already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "slicer-setup: need root or sudo to apt-get install prusa-slicer" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show prusa-slicer >/dev/null 2>&1; then
    $SUDO apt-get update
fi
$SUDO apt-get install -y --no-install-recommends prusa-slicer
echo "slicer-setup: $(prusa-slicer --help 2>/dev/null | grep -o 'PrusaSlicer-[^ ]*' | head -1) installed"
