#!/usr/bin/env bash
# Headless Chromium (Debian's chromium, driven by playwright-core) on the page at `/`:
# two tabs publish and subscribe through the page's own STOMP client over WebSocket, a
# third over SockJS, the counters chart fills from /metrics, a screenshot is saved
# (SCREENSHOT, default /tmp/sockwire-page.png). Installs chromium when missing and the npm
# packages, starts `sockwire serve` on loopback over plain http, runs page.js (which prints
# "N passed, M failed"), stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)
cargo build --release --quiet -p sockwire-std --bin sockwire

port=${PAGE_PORT:-9480}
server=
trap 'kill $server 2>/dev/null || true' EXIT
target/release/sockwire serve --http "127.0.0.1:$port" --no-stomp-tcp \
  >/tmp/sockwire-page.log 2>&1 &
server=$!
source tests/wait_port.sh
wait_port "$port"
timeout 120 node tests/browser/page.js "http://127.0.0.1:$port" "${SCREENSHOT:-/tmp/sockwire-page.png}"
