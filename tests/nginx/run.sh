#!/usr/bin/env bash
# sockwire behind nginx (Debian's package, started here with tests/nginx/sockwire.conf):
# sockjs-client over every transport and stomp.js over WebSocket and SockJS through the
# proxy, a streaming response arriving before it ends (no buffering), and the Origin
# check through the proxy (the page's own origin passes, another gets 403).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v nginx >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
(cd tests/sockjs-node && npm ci --no-audit --no-fund --silent)
cargo build --release --quiet -p sockwire-std --bin sockwire

dir=$(mktemp -d)
chmod 755 "$dir"
server=
trap 'kill $server 2>/dev/null || true; nginx -p "$dir" -c "$dir/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$dir"' EXIT
cat >"$dir/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    include $PWD/tests/nginx/sockwire.conf;
}
CONF
target/release/sockwire serve --http 127.0.0.1:9004 --no-stomp-tcp \
  --trusted-proxy 127.0.0.1 >/tmp/sockwire-nginx.log 2>&1 &
server=$!
source tests/wait_port.sh
wait_port 9004
nginx -p "$dir" -c "$dir/nginx.conf"
wait_port 9080

failed=0
check() { # NAME, then a command that must succeed
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failed=$((failed + 1)); fi
}
upgrade() { # ORIGIN: the status of a WebSocket upgrade of /echo through nginx
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H "Origin: $1" \
    http://localhost:9080/echo || true
}
check "the page's own origin upgrades through the proxy" test "$(upgrade http://localhost:9080)" = 101
check "another origin gets 403 through the proxy" test "$(upgrade http://evil.example)" = 403
# The open frame of an xhr_streaming response arrives while the response goes on: a
# buffering proxy would hold it until the 128 KiB response limit.
streamed() {
  { curl -s -N --max-time 3 -X POST http://localhost:9080/sockjs/1/nginx/xhr_streaming || true; } |
    grep -q '^o$'
}
check "xhr_streaming passes unbuffered" streamed
timeout 120 node tests/sockjs-node/interop.js http://localhost:9080/sockjs || failed=$((failed + 1))
timeout 120 node tests/sockjs-node/stomp.js http://localhost:9080 || failed=$((failed + 1))
if [ "$failed" -ne 0 ]; then
  echo "nginx: $failed failed"
  tail -20 "$dir/error.log" /tmp/sockwire-nginx.log || true
  exit 1
fi
echo "nginx: all passed"
