#!/usr/bin/env bash
# Installs the Debian programs that tests drive from outside (run with
# `cargo test --workspace --features interop`): openssl (TLS interop, the
# certificate block of docs/deployment.md), curl (https_hello), wrk (the
# stress-testing guide), systemd-analyze (the systemd unit check), and
# procps (ps, sysctl in the guides). Idempotent: what is already there is
# left alone. Runs as root (apt-get).
set -euo pipefail

need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
{ command -v ps && command -v sysctl; } >/dev/null 2>&1 || need+=(procps)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "tools installed: $(openssl version), $(curl --version | head -n 1 | cut -d' ' -f1-2), \
wrk $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f2), $(systemd-analyze --version | head -n 1)"
