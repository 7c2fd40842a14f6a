#!/usr/bin/env bash
# make demo: a 3-node raftengine-node cluster on loopback, driven with redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/raftengine-node}
DEMO=./.demo
RAFT_BASE=${RAFT_BASE:-17401}
CLIENT_BASE=${CLIENT_BASE:-16401}
declare -A PIDS

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# The last line of a name wins: INFO has Redis's replication `role` (master/slave) first and
# the Raft `role` (leader/follower/candidate) after it.
field() { redis-cli -p "$1" INFO 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p" | tail -n 1; }

start_node() {
  local i=$1 peers=() j
  for j in 1 2 3; do
    [ "$j" = "$i" ] && continue
    peers+=(--peer "n$j=127.0.0.1:$((RAFT_BASE + j - 1)),127.0.0.1:$((CLIENT_BASE + j - 1))")
  done
  if [ -f "$DEMO/n$i/node.conf" ]; then
    "$BIN" --data-dir "$DEMO/n$i" --heartbeat-ms 50 --election-timeout-ms 300-600 >>"$DEMO/n$i.log" 2>&1 &
  else
    "$BIN" --id "n$i" --data-dir "$DEMO/n$i" --raft-addr "127.0.0.1:$((RAFT_BASE + i - 1))" \
      --client-addr "127.0.0.1:$((CLIENT_BASE + i - 1))" "${peers[@]}" \
      --heartbeat-ms 50 --election-timeout-ms 300-600 >>"$DEMO/n$i.log" 2>&1 &
  fi
  PIDS[$i]=$!
}

cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

leader_port() {
  local i
  for _ in $(seq 1 100); do
    for i in 1 2 3; do
      [ -n "${PIDS[$i]:-}" ] || continue
      if [ "$(field $((CLIENT_BASE + i - 1)) role)" = "leader" ]; then echo $((CLIENT_BASE + i - 1)); return; fi
    done
    sleep 0.1
  done
  echo "no leader" >&2
  return 1
}

rm -rf "$DEMO"
mkdir -p "$DEMO"
say "Starting three nodes (data under $DEMO, logs in $DEMO/n*.log)"
for i in 1 2 3; do
  start_node "$i"
  echo "n$i: raft 127.0.0.1:$((RAFT_BASE + i - 1)), clients 127.0.0.1:$((CLIENT_BASE + i - 1)), pid ${PIDS[$i]}"
done
LEADER=$(leader_port)
echo "leader elected: $(field "$LEADER" id) (clients on port $LEADER)"

say "Writes and reads through the leader"
run redis-cli -p "$LEADER" SET greeting "hello raft"
run redis-cli -p "$LEADER" INCR visits
run redis-cli -p "$LEADER" INCRBY visits 41
run redis-cli -p "$LEADER" MGET greeting visits

FOLLOWER=$CLIENT_BASE
[ "$FOLLOWER" = "$LEADER" ] && FOLLOWER=$((CLIENT_BASE + 1))
say "A write sent to a follower is redirected (MOVED), and redis-cli -c follows it"
run redis-cli -p "$FOLLOWER" SET color blue || true
run redis-cli -c -p "$FOLLOWER" SET color blue

say "Killing the leader ($(field "$LEADER" id)) with SIGKILL"
for i in 1 2 3; do
  if [ $((CLIENT_BASE + i - 1)) = "$LEADER" ]; then KILLED=$i; fi
done
kill -9 "${PIDS[$KILLED]}"
wait "${PIDS[$KILLED]}" 2>/dev/null || true
PIDS[$KILLED]=""
NEW=$(leader_port)
echo "new leader: $(field "$NEW" id) (term $(field "$NEW" term))"
say "Every acknowledged write is still there"
run redis-cli -p "$NEW" MGET greeting visits color
run redis-cli -p "$NEW" SET after-failover yes

say "Restarting n$KILLED from its data dir; it catches up"
start_node "$KILLED"
PORT=$((CLIENT_BASE + KILLED - 1))
for _ in $(seq 1 100); do
  [ "$(field "$PORT" applied_index)" = "$(field "$NEW" commit_index)" ] && break
  sleep 0.1
done
echo "n$KILLED: role $(field "$PORT" role), applied $(field "$PORT" applied_index), leader commit $(field "$NEW" commit_index)"
run redis-cli -c -p "$PORT" GET after-failover
run redis-cli -p "$NEW" RAFT.STATUS

say "Stopping every node"
cleanup
trap - EXIT
echo "done"
