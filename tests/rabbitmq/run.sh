#!/usr/bin/env bash
# Interop of sockwire's STOMP client (sockwire-std) with RabbitMQ's STOMP and Web-STOMP
# plugins, over TCP (127.0.0.1:61613) and WebSocket (ws://127.0.0.1:15674/ws).
#
#   bash tests/rabbitmq/run.sh
#
# Installs Debian's rabbitmq-server when missing, starts a broker of its own on loopback
# (detached, not as a system service), enables rabbitmq_stomp and rabbitmq_web_stomp,
# waits for both ports, runs the ignored test std-adapter/tests/stomp_rabbitmq.rs (which
# prints "N passed, M failed"), and stops the broker. Exit status: the test's.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

if ! command -v rabbitmq-server >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
fi
echo "install: $(( $(date +%s) - start )) s"

export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_DIST_PORT=25672
export ERL_EPMD_ADDRESS=127.0.0.1
conf=$(mktemp -d)
chmod 755 "$conf"  # the broker runs as the rabbitmq user
cat > "$conf/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:5672
stomp.listeners.tcp.1 = 127.0.0.1:61613
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = 15674
loopback_users.guest = true
CONF
export RABBITMQ_CONFIG_FILE="$conf/rabbitmq"
export RABBITMQ_ENABLED_PLUGINS_FILE="$conf/enabled_plugins"
echo '[rabbitmq_stomp,rabbitmq_web_stomp].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"

# Stop a broker the package may have started, then our own on loopback.
if rabbitmqctl -q status >/dev/null 2>&1; then rabbitmqctl -q stop >/dev/null 2>&1 || true; fi
rabbitmq-server -detached
stop_broker() { rabbitmqctl -q stop >/dev/null 2>&1 || true; rm -rf "$conf"; }
trap stop_broker EXIT

source tests/wait_port.sh
wait_port 61613 60
wait_port 15674 60
echo "broker up: $(( $(date +%s) - start )) s"

status=0
SOCKWIRE_STOMP_TCP=stomp://127.0.0.1:61613 SOCKWIRE_STOMP_WS=ws://127.0.0.1:15674/ws \
    cargo test -q -p sockwire-std --test stomp_rabbitmq -- --ignored --nocapture || status=$?
echo "total: $(( $(date +%s) - start )) s"
exit $status
