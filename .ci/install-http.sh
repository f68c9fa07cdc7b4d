#!/usr/bin/env bash
# Installs what the HTTP interop tests (tests/http_interop.rs) drive the
# server with: curl, and Python 3 with the `requests` package. Idempotent:
# anything already present is left alone. Run as root (CI is).
set -euo pipefail

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    apt-get install -y -qq "$@"
}

if ! command -v curl >/dev/null 2>&1; then
    apt_install curl
fi

if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3 python3-requests
fi

if ! python3 -c 'import requests' >/dev/null 2>&1; then
    # pip first (the python3 on PATH may not be Debian's); a Debian python
    # that refuses pip installs (PEP 668) gets the Debian package.
    python3 -m pip install --quiet requests \
        || python3 -m pip install --quiet --break-system-packages requests \
        || apt_install python3-requests
fi

curl --version | head -n 1
python3 -c 'import requests, sys; print("python", sys.version.split()[0], "requests", requests.__version__)'
