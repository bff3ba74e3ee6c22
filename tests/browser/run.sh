#!/usr/bin/env bash
# Headless Chromium (Debian's chromium, driven by playwright-core) over wss:// and SockJS
# over https:// against `sockwire serve --tls-cert --tls-key`. A CA and a server
# certificate for localhost are made here (openssl), the CA is put in the browser's NSS
# database (certutil), so Chromium verifies the server's certificate as it would any.
# Installs chromium and libnss3-tools when missing and the npm packages, starts the
# server on loopback, runs browser.js (which prints "N passed, M failed"), stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null || ! command -v certutil >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libnss3-tools >/dev/null
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)
cargo build --release --quiet -p sockwire-std --bin sockwire

dir=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=sockwire browser test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$dir/key.pem" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
  -CAcreateserial -days 2 -extfile "$dir/ext" -out "$dir/cert.pem" 2>/dev/null
# The browser's home: an NSS database trusting the CA. The other home has none.
mkdir -p "$dir/home/.pki/nssdb" "$dir/untrusting"
certutil -d "sql:$dir/home/.pki/nssdb" -N --empty-password
certutil -d "sql:$dir/home/.pki/nssdb" -A -t "C,," -n "sockwire test CA" -i "$dir/ca.pem"

target/release/sockwire serve --http 127.0.0.1:9443 --no-stomp-tcp \
  --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" >/tmp/sockwire-browser.log 2>&1 &
server=$!
source tests/wait_port.sh
wait_port 9443
HOME="$dir/home" timeout 120 node tests/browser/browser.js https://localhost:9443 "$dir/untrusting"
