#!/usr/bin/env bash
# Proves an installed RaftEngine (a `make install` PREFIX) needs no Swift toolchain: the
# library and raftengine-node name no Swift or Foundation library and no path into the
# toolchain, the library is small and exports only the header's functions, and both run with
# an environment that cannot see the toolchain (env -i, PATH=/usr/bin:/bin, no LD_LIBRARY_PATH).
set -euo pipefail
prefix=$1
here=$(cd "$(dirname "$0")" && pwd)
lib=$prefix/lib/libraftengine.so.0
node=$prefix/bin/raftengine-node
fail() { echo "check_install: $*" >&2; exit 1; }

for f in "$lib" "$node"; do
  [ -e "$f" ] || fail "$f is missing"
  deps=$(readelf -d "$f")
  if echo "$deps" | grep -E 'NEEDED.*(libswift|libFoundation|libicu|libdispatch|libBlocksRuntime)'; then
    fail "$f needs a Swift runtime library"
  fi
  if echo "$deps" | grep -E '(RUNPATH|RPATH).*(swift|/opt/)'; then fail "$f looks for libraries in the toolchain"; fi
  if nm -D "$f" 2>/dev/null | grep -E ' U .*\$s10Foundation' >/dev/null; then fail "$f refers to Foundation"; fi
done
[ "$(readlink "$prefix/lib/libraftengine.so")" = libraftengine.so.0 ] || fail "libraftengine.so does not point at the SONAME"
size=$(stat -c %s "$(readlink -f "$lib")")
[ "$size" -le $((10 * 1024 * 1024)) ] || fail "the stripped library is $size bytes, above 10 MiB"
if nm "$(readlink -f "$lib")" 2>/dev/null | grep -E 'icudt|s10Foundation|FoundationEssentials' >/dev/null; then fail "Foundation or ICU inside the library"; fi
python3 "$here/check_exports.py" "$(readlink -f "$lib")"
echo "library: $(readlink -f "$lib") $size bytes; raftengine-node: $(stat -c %s "$node") bytes"

# Runs with the toolchain out of sight.
clean_env=(env -i PATH=/usr/bin:/bin HOME=/tmp)
ports=$(python3 "$here/free_port_base.py" 3)
"${clean_env[@]}" "$prefix/example" "$prefix/data" "$ports"
"${clean_env[@]}" "$node" --version | grep '^raftengine-node ' >/dev/null || fail "raftengine-node --version"
# A one-node cluster answers a write and a read.
raft=$(python3 "$here/free_port_base.py" 2); client=$((raft + 1))
"${clean_env[@]}" "$node" --id solo --data-dir "$prefix/node-data" --raft-addr "127.0.0.1:$raft" \
  --client-addr "127.0.0.1:$client" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
ok=""
for _ in $(seq 1 100); do
  if [ "$(redis-cli -p "$client" SET k v 2>/dev/null)" = OK ]; then ok=1; break; fi
  sleep 0.1
done
[ -n "$ok" ] || fail "the installed raftengine-node did not take a write"
[ "$(redis-cli -p "$client" GET k)" = v ] || fail "the installed raftengine-node did not read its write"
kill -TERM $pid
wait $pid || fail "raftengine-node did not stop cleanly on SIGTERM"
trap - EXIT
echo "installed library and raftengine-node run without the toolchain"
