#!/usr/bin/env bash
# Interop with the JavaScript clients browsers use, run under Node:
# - interop.js: sockjs-client, the reference SockJS client, against the SockJS echo
#   endpoint, over every transport it offers there (websocket, xhr-streaming,
#   xhr-polling, eventsource);
# - stomp.js: @stomp/stompjs over a plain WebSocket (/ws) and over sockjs-client
#   (/stomp, each transport), through the embedded broker;
# - slow_reader.js: a stomp.js consumer over each sockjs-client transport that stalls
#   now and then still gets every one of 10,000 messages of 20 KB from a /queue, in order;
# - soak.js: two minutes of mixed traffic on its own `sockwire serve --data-dir`, restarted
#   twice (SIGTERM, SIGKILL); prints the figures and fails if a confirmed message is lost.
# Installs the npm packages, starts `sockwire serve` on loopback, runs them (each prints
# "N passed, M failed"), stops the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
(cd tests/sockjs-node && npm ci --no-audit --no-fund --silent)
cargo build --release --quiet -p sockwire-std --bin sockwire
# The slow reader's queue may hold all its 200 MB: the queue limits are raised for it.
target/release/sockwire serve --http 127.0.0.1:9003 --no-stomp-tcp \
  --max-queue-bytes 268435456 --max-held-bytes 536870912 >/tmp/sockwire-sockjs.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
source tests/wait_port.sh
wait_port 9003
status=0
timeout 120 node tests/sockjs-node/interop.js http://127.0.0.1:9003/sockjs || status=1
timeout 120 node tests/sockjs-node/stomp.js http://127.0.0.1:9003 || status=1
timeout 420 node tests/sockjs-node/slow_reader.js http://127.0.0.1:9003 10000 || status=1
timeout 300 node tests/sockjs-node/soak.js target/release/sockwire 120 || status=1
exit $status
