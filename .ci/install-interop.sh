#!/usr/bin/env bash
# Installs the third-party WebSocket clients that tests/websocket_interop.rs
# drives: Debian's chromium, Python's websockets, and Node's ws and
# playwright-core (locked in tests/interop/package-lock.json). Idempotent:
# what is already there is left alone. Runs as root (apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then
        apt-get update -qq
        apt_updated=1
    fi
    apt-get install -y -qq "$@"
}

# Headless browser for the chat test (playwright-core drives it; it never
# downloads a browser of its own).
if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
fi

if ! python3 -c "import websockets.asyncio.client" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "websockets>=13"
fi

if ! (cd tests/interop && node -e "require('ws'); require('playwright-core')" 2>/dev/null); then
    (cd tests/interop && npm ci --no-audit --no-fund)
fi

echo "interop clients installed: $(python3 -c 'import websockets; print("websockets", websockets.__version__)'), \
node $(node --version), $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium ?')"
