#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS seconds (default 30) on nightly and fails on
# the first crash, leak or timeout. Installs cargo-fuzz when missing.
# Usage: fuzz/smoke.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
shift || true
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  # Committed seeds (seeds/TARGET, such as the HTTP smuggling corpus) are read as well.
  seeds=()
  if [ -d "seeds/$t" ]; then seeds=("seeds/$t"); fi
  if cargo +nightly fuzz run "$t" "corpus/$t" "${seeds[@]}" -- -max_total_time="$seconds" \
      -rss_limit_mb=2048 -timeout=10 \
      >"/tmp/fuzz-$t.log" 2>&1; then
    echo "fuzz $t: ok ($(grep -Eo '#[0-9]+' "/tmp/fuzz-$t.log" | tail -1 | tr -d '#') runs in ${seconds}s)"
  else
    echo "fuzz $t: FAILED"
    tail -40 "/tmp/fuzz-$t.log"
    failed=$((failed + 1))
  fi
done
echo "fuzz smoke: $(( ${#targets[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
