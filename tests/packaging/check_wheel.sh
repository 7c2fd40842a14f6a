#!/usr/bin/env bash
# Builds the platform wheel (pip wheel bindings/python), installs it into a fresh venv and
# runs a 3-node cluster from it with the toolchain out of sight (env -i: no swift on PATH,
# no LD_LIBRARY_PATH, no RAFTENGINE_LIBRARY).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/.build/wheel-check
rm -rf "$work" && mkdir -p "$work"
python3 -m pip wheel -q "$root/bindings/python" -w "$work/dist"
wheel=$(ls "$work"/dist/raftengine-*.whl)
case "$wheel" in
  *-py3-none-linux_x86_64.whl) ;;
  *) echo "check_wheel: unexpected wheel tag: $wheel" >&2; exit 1 ;;
esac
# grep reads the whole listing (-q would stop early and break the pipe under pipefail).
python3 -m zipfile -l "$wheel" | grep 'raftengine/libraftengine.so' >/dev/null || { echo "check_wheel: no library in $wheel" >&2; exit 1; }
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-index "$wheel"
env -i PATH="$work/venv/bin:/usr/bin:/bin" HOME=/tmp "$work/venv/bin/python" "$root/tests/packaging/wheel_cluster.py"
echo "wheel: $(basename "$wheel") $(stat -c %s "$wheel") bytes"
