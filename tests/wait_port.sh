# Sourced (from the project root) by the run.sh scripts under tests/.
#
# wait_port PORT [SECONDS]: waits until something listens on 127.0.0.1:PORT, trying
# every 0.1 s for up to SECONDS (default 10); fails, saying so, when nothing does.
wait_port() {
  local tries=$(( ${2:-10} * 10 ))
  for _ in $(seq 1 "$tries"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}
