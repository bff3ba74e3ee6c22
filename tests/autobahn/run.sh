#!/usr/bin/env bash
# Runs the Autobahn TestSuite against sockwire in both directions:
#   fuzzingclient: wstest drives `sockwire serve`'s echo endpoint (sockwire as server);
#   fuzzingserver: the sockwire client testee drives wstest (sockwire as client).
# All cases but 12.* and 13.* (permessage-deflate). Installs wstest (Python 2.7) when
# missing, prints the counts per behaviour and fails when any case is FAILED.
# Reports are written under reports/ at the project root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

py2() { PYENV_VERSION=2.7.18 pyenv exec "$@"; }
if ! py2 wstest --help >/dev/null 2>&1; then
  py2 python -m pip install --quiet autobahntestsuite
fi

cargo build --release --quiet -p sockwire-std --bin sockwire -p sockwire-tests --bin autobahn_testee

rm -rf reports tests/autobahn/reports
mkdir -p reports
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

source tests/wait_port.sh

status=0

# sockwire as server.
target/release/sockwire serve --http 127.0.0.1:9001 --no-stomp-tcp --max-frame 67108864 --max-message 67108864 >reports/server.log 2>&1 &
pids+=($!)
wait_port 9001
(cd tests/autobahn && timeout 1200 bash -c 'PYENV_VERSION=2.7.18 pyenv exec wstest -m fuzzingclient -s fuzzingclient.json' \
  >"$root/reports/fuzzingclient.log" 2>&1) || { echo "wstest fuzzingclient exited with $?"; tail -20 reports/fuzzingclient.log; status=1; }
python3 tests/autobahn/summarize.py tests/autobahn/reports/servers sockwire || status=1

# sockwire as client.
(cd tests/autobahn && exec env PYENV_VERSION=2.7.18 pyenv exec wstest -m fuzzingserver -s fuzzingserver.json \
  >"$root/reports/fuzzingserver.log" 2>&1) &
pids+=($!)
wait_port 9002
timeout 1200 target/release/autobahn_testee ws://127.0.0.1:9002 sockwire || { echo "client testee exited with $?"; status=1; }
python3 tests/autobahn/summarize.py tests/autobahn/reports/clients sockwire || status=1

exit $status
