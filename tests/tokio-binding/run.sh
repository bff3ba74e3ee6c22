#!/usr/bin/env bash
# stomp.js (@stomp/stompjs) over a plain WebSocket against the tokio binding of the core
# (tests/tokio-binding): runs its unit tests, builds it, starts it on 127.0.0.1:9004 in the background, waits
# for the port, runs tests/sockjs-node/stomp.js with --only ws (the binding serves no
# SockJS) and fanout.js (deliveries between sessions), and stops it. Each prints
# "N passed, M failed"; exits non-zero when one fails or the server does not come up.
#
#   tests/tokio-binding/run.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${1:-9004}

if [ ! -d tests/sockjs-node/node_modules/@stomp/stompjs ]; then
    (cd tests/sockjs-node && timeout 300 npm ci --no-audit --no-fund --silent)
fi
(cd tests/tokio-binding && timeout 600 cargo test --release --quiet && timeout 600 cargo build --release --quiet)

log=$(mktemp /tmp/sockwire-tokio-binding.XXXXXX.log)
timeout 300 tests/tokio-binding/target/release/sockwire-tokio-binding "$port" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
source tests/wait_port.sh
if ! wait_port "$port"; then
    cat "$log" >&2
    exit 1
fi
status=0
timeout 120 node tests/sockjs-node/stomp.js "http://127.0.0.1:$port" --only ws || status=1
timeout 120 node tests/tokio-binding/fanout.js "http://127.0.0.1:$port" || status=1
if [ "$status" -ne 0 ]; then
    echo "--- server log ($log)" >&2
    cat "$log" >&2
fi
exit $status
