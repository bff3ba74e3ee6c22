#!/usr/bin/env bash
# STOMP fan-out and durable-queue benchmarks: `sockwire serve` against RabbitMQ's STOMP
# plugin, same run.
#
#   bash tests/bench/fanout.sh [--quick]
#
# Installs Debian's rabbitmq-server when missing, starts a private RabbitMQ node on
# loopback (its own node name, ports and data dir, so it does not meet the interop
# test's broker), builds the release binaries, starts `sockwire serve --stomp-tcp`, pins
# both brokers to core $BROKER_CORE and the client to core $CLIENT_CORE, runs each case
# against both brokers (interleaved, so background load hits both alike), prints each
# line and the ratio sockwire/rabbitmq of deliveries per second, and stops both brokers.
# Then durable queues: persistent messages with receipts and an acking consumer, against
# RabbitMQ and `sockwire serve --data-dir`, with the ratio of confirmed SENDs per second.
# --quick divides the message counts by 10 (a smoke run).
#
# Environment: CARGO_TARGET_DIR (default target), BROKER_CORE (1), CLIENT_CORE (0),
# RABBIT_STOMP_PORT (61623), SOCKWIRE_STOMP (127.0.0.1:61614), SOCKWIRE_HTTP
# (127.0.0.1:8081), TIMEOUT_SECS (600, per run: RabbitMQ takes minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument $arg" >&2; exit 2 ;;
    esac
done

broker_core=${BROKER_CORE:-1}
client_core=${CLIENT_CORE:-0}
rabbit_port=${RABBIT_STOMP_PORT:-61623}
sockwire_stomp=${SOCKWIRE_STOMP:-127.0.0.1:61614}
sockwire_http=${SOCKWIRE_HTTP:-127.0.0.1:8081}
SOCKWIRE_DURABLE_STOMP=${SOCKWIRE_DURABLE_STOMP:-127.0.0.1:61615}
SOCKWIRE_DURABLE_HTTP=${SOCKWIRE_DURABLE_HTTP:-127.0.0.1:8082}
timeout=${TIMEOUT_SECS:-600}
target=${CARGO_TARGET_DIR:-target}

# subscribers messages size
cases=(
    "1 100000 64"
    "100 10000 64"
    "1000 1000 64"
    "100 2000 4096"
)

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build -q --release -p sockwire-std --bin sockwire -p sockwire-tests --bin stomp_fanout \
    --bin stomp_durable
fanout="$target/release/stomp_fanout"
durable="$target/release/stomp_durable"
sockwire="$target/release/sockwire"

if ! command -v rabbitmq-server >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
fi

wait_port() { # host port seconds
    for _ in $(seq 1 $(( $3 * 4 ))); do
        if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
        sleep 0.25
    done
    return 1
}

# --- RabbitMQ: a private node on loopback ---------------------------------------------
conf=$(mktemp -d)
export RABBITMQ_NODENAME=fanout-bench@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=5683
export RABBITMQ_DIST_PORT=25683
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_MNESIA_BASE="$conf/mnesia"
export RABBITMQ_LOG_BASE="$conf/log"
export RABBITMQ_PID_FILE="$conf/rabbit.pid"
export RABBITMQ_CONFIG_FILE="$conf/rabbitmq"
export RABBITMQ_ENABLED_PLUGINS_FILE="$conf/enabled_plugins"
# `su rabbitmq` resets the soft file limit to 1024, too few for 1,000 subscribers; this
# file is sourced by the broker's own start script, as the rabbitmq user.
export RABBITMQ_CONF_ENV_FILE="$conf/rabbitmq-env.conf"
echo 'ulimit -n "$(ulimit -Hn)"' > "$RABBITMQ_CONF_ENV_FILE"
cat > "$conf/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:5683
stomp.listeners.tcp.1 = 127.0.0.1:$rabbit_port
loopback_users.guest = true
CONF
echo '[rabbitmq_stomp].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
chown -R rabbitmq: "$conf" 2>/dev/null || true
chmod 755 "$conf"

sockwire_pid=
stop_all() {
    if [ -n "$sockwire_pid" ]; then kill "$sockwire_pid" 2>/dev/null || true; wait "$sockwire_pid" 2>/dev/null || true; fi
    rabbitmqctl -q -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || true
    rm -rf "$conf"
}
trap stop_all EXIT

# The broker and every thread it starts inherit the affinity; Erlang sizes its
# schedulers from it (one scheduler).
taskset -c "$broker_core" rabbitmq-server -detached
if ! wait_port 127.0.0.1 "$rabbit_port" 120; then
    echo "RabbitMQ's STOMP port $rabbit_port did not open" >&2
    exit 1
fi
rabbit_pid=$(cat "$RABBITMQ_PID_FILE" 2>/dev/null || true)
if [ -z "$rabbit_pid" ]; then
    rabbit_pid=$(pgrep -u rabbitmq -f "beam.smp.*$RABBITMQ_NODENAME" | head -1)
fi
taskset -acp "$broker_core" "$rabbit_pid" >/dev/null
echo "rabbitmq: pid $rabbit_pid on core $(taskset -cp "$rabbit_pid" | sed 's/.*: //'), STOMP on 127.0.0.1:$rabbit_port, $(grep 'open files' "/proc/$rabbit_pid/limits" | awk '{print $4}') files"

# --- sockwire ---------------------------------------------------------------------------
sockwire_log=$(mktemp)
# Every client comes from 127.0.0.1: the per-address connection cap (1,000) is lifted.
taskset -c "$broker_core" "$sockwire" serve --stomp-tcp "$sockwire_stomp" \
    --http "$sockwire_http" --workers 1 --max-connections-per-address 10000 \
    >"$sockwire_log" 2>&1 &
sockwire_pid=$!
if wait_port "${sockwire_stomp%:*}" "${sockwire_stomp##*:}" 10; then
    echo "sockwire: pid $sockwire_pid on core $broker_core, STOMP on $sockwire_stomp"
else
    echo "sockwire: skipped, \`sockwire serve --stomp-tcp\` did not open $sockwire_stomp:" >&2
    sed 's/^/    /' "$sockwire_log" | head -5 >&2
    kill "$sockwire_pid" 2>/dev/null || true
    wait "$sockwire_pid" 2>/dev/null || true
    sockwire_pid=
fi
rm -f "$sockwire_log"

# --- the cases --------------------------------------------------------------------------
rate_of() { sed -n 's/.*deliveries_per_s=\([0-9.]*\).*/\1/p' <<<"$1"; }

run_case() { # label addr pid subs msgs size
    local line
    line=$(taskset -c "$client_core" "$fanout" --label "$1" --addr "$2" --pid "$3" \
        --subscribers "$4" --messages "$5" --size "$6" --timeout-secs "$timeout" 2>&1) || true
    grep -v '^broker=' <<<"$line" | sed 's/^/    /' >&2 || true
    grep '^broker=' <<<"$line" || true
}

failed=0
echo
for case in "${cases[@]}"; do
    read -r subs msgs size <<<"$case"
    if [ "$quick" = 1 ]; then msgs=$(( msgs / 10 )); fi
    echo "== $subs subscribers x $msgs messages x $size B"
    rabbit=$(run_case rabbitmq "127.0.0.1:$rabbit_port" "$rabbit_pid" "$subs" "$msgs" "$size")
    echo "${rabbit:-broker=rabbitmq FAILED}"
    sleep 2 # let RabbitMQ delete the previous run's queues
    if [ -n "$sockwire_pid" ]; then
        mine=$(run_case sockwire "$sockwire_stomp" "$sockwire_pid" "$subs" "$msgs" "$size")
        echo "${mine:-broker=sockwire FAILED}"
        r=$(rate_of "$rabbit"); s=$(rate_of "$mine")
        if [ -n "$r" ] && [ -n "$s" ]; then
            awk -v s="$s" -v r="$r" 'BEGIN { printf "ratio sockwire/rabbitmq deliveries_per_s=%.2f\n", (r > 0 ? s / r : 0) }'
        fi
        grep -q ' lost=0 dup=0 ' <<<"$mine" || failed=1
    fi
    grep -q ' lost=0 dup=0 ' <<<"$rabbit" || echo "(rabbitmq lost or duplicated messages)"
    echo
done

# --- durable queues: persistent messages with receipts, an acking consumer -------------
# RabbitMQ's /queue destinations are durable queues; `persistent:true` makes it write
# each message to disk before its receipt. sockwire does the same with --data-dir.
data_dir=$(mktemp -d)
taskset -c "$broker_core" "$sockwire" serve --stomp-tcp "$SOCKWIRE_DURABLE_STOMP" \
    --http "$SOCKWIRE_DURABLE_HTTP" --workers 1 --data-dir "$data_dir" >/dev/null 2>&1 &
durable_pid=$!
confirmed_of() { sed -n 's/.*confirmed_per_s=\([0-9.]*\).*/\1/p' <<<"$1"; }
if wait_port "${SOCKWIRE_DURABLE_STOMP%:*}" "${SOCKWIRE_DURABLE_STOMP##*:}" 10; then
    for case in "20000 256" "5000 4096"; do
        read -r msgs size <<<"$case"
        if [ "$quick" = 1 ]; then msgs=$(( msgs / 10 )); fi
        echo "== durable queue: $msgs persistent messages x $size B, receipts, acking consumer"
        rabbit=$(taskset -c "$client_core" "$durable" --label rabbitmq --addr "127.0.0.1:$rabbit_port" \
            --messages "$msgs" --size "$size" --timeout-secs "$timeout" 2>&1) || true
        echo "${rabbit:-broker=rabbitmq FAILED}"
        mine=$(taskset -c "$client_core" "$durable" --label sockwire --addr "$SOCKWIRE_DURABLE_STOMP" \
            --messages "$msgs" --size "$size" --timeout-secs "$timeout" 2>&1) || true
        echo "${mine:-broker=sockwire FAILED}"
        r=$(confirmed_of "$rabbit"); m=$(confirmed_of "$mine")
        if [ -n "$r" ] && [ -n "$m" ]; then
            awk -v s="$m" -v r="$r" 'BEGIN { printf "ratio sockwire/rabbitmq confirmed_per_s=%.2f\n", (r > 0 ? s / r : 0) }'
        fi
        grep -q ' lost=0 dup=0' <<<"$mine" || failed=1
        echo
    done
else
    echo "sockwire --data-dir did not open $SOCKWIRE_DURABLE_STOMP" >&2
    failed=1
fi
kill "$durable_pid" 2>/dev/null || true
wait "$durable_pid" 2>/dev/null || true
rm -rf "$data_dir"
exit $failed
