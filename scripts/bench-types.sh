#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): `vgpuctl types --json` on a generated 8 GPU x 32 VF x 24 type host
# against (1) the floor, a serial C reader of the same files, and (2) `mdevctl types --dumpjson` on the same mdev
# tree, given to mdevctl (which only reads /sys) through a private mount namespace.
#   scripts/bench-types.sh [runs]      (default 20 runs each; the median is reported)
set -euo pipefail
runs=${1:-20}
. "$(dirname "$0")/bench/lib.sh"
gcc -O2 -o "$work/floor" scripts/bench/floor.c
"$bin/vgpu-fixture" "$work/mdev" --host large --gpus 8 --vfs 32 --types 24 --layout mdev
"$bin/vgpu-fixture" "$work/both" --host large --gpus 8 --vfs 32 --types 24 --layout both

export -f median_ms; export runs

for tree in mdev both; do
  floor=$(median_ms "$work/floor" "$work/$tree")
  ours=$(median_ms "$bin/vgpuctl" types --json --sysfs-root "$work/$tree")
  echo "$tree tree: vgpuctl types --json ${ours} ms, serial C floor ${floor} ms, ratio $(awk "BEGIN{printf \"%.2f\", $ours/$floor}")"
done
if command -v mdevctl >/dev/null && unshare -m true 2>/dev/null; then
  theirs=$(unshare -m bash -c "mount --bind '$work/mdev' /sys && median_ms mdevctl types --dumpjson")
  ours=$(unshare -m bash -c "mount --bind '$work/mdev' /sys && median_ms '$bin/vgpuctl' types --json")
  parents=$(unshare -m bash -c "mount --bind '$work/mdev' /sys && mdevctl types --dumpjson" | jq 'length')
  echo "mdev tree via /sys (private mount namespace): mdevctl types --dumpjson ${theirs} ms ($parents parents), vgpuctl types --json ${ours} ms, mdevctl/vgpuctl $(awk "BEGIN{printf \"%.2f\", $theirs/$ours}")"
else
  echo "mdevctl comparison skipped: needs mdevctl and unshare -m"
fi
