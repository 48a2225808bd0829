#!/usr/bin/env bash
# Install Debian's Chromium, the browser the dApp's end-to-end tests drive headless through Playwright
# (`executable_path`: Playwright's own browser download is not used), unless it is already there.
# Idempotent; needs root or sudo for apt-get.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    echo "chromium-setup: $(chromium --version 2>/dev/null | head -1) already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "chromium-setup: need root or sudo to apt-get install chromium" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
    $SUDO apt-get update
fi
$SUDO apt-get install -y --no-install-recommends chromium
echo "chromium-setup: $(chromium --version 2>/dev/null | head -1) installed"
