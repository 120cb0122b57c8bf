#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): `vgpuctl types --json` on a generated 8 GPU x 32 VF x 24 type host
# against (1) the floor, a serial C reader of the same files, and (2) `mdevctl types --dumpjson` on the same mdev
# tree, given to mdevctl (which only reads /sys) through a private mount namespace.
#   scripts/bench-types.sh [runs]      (default 20 runs each; the median is reported)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
cd "$repo"
swift build -c release -q --product vgpuctl && swift build -c release -q --product vgpu-fixture
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/vgpuctl-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/floor" scripts/bench/floor.c
"$bin/vgpu-fixture" "$work/mdev" --host large --gpus 8 --vfs 32 --types 24 --layout mdev
"$bin/vgpu-fixture" "$work/both" --host large --gpus 8 --vfs 32 --types 24 --layout both

# median wall time in ms of a command over $runs runs (after one warm-up run)
median_ms() {
  "$@" >/dev/null
  for _ in $(seq "$runs"); do
    local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
  done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
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
