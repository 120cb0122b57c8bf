#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): `vgpuctl types --json` on a generated 8 GPU x 32 VF x 24 type host
# against (1) the floor, a serial C reader of the same files, and (2) `mdevctl types --dumpjson` on the same mdev
# tree, given to mdevctl (which only reads /sys) through a private mount namespace. The commands run in turn
# (paired); medians, CPU time and peak RSS are printed.
#   scripts/bench-types.sh [runs]      (default 20 runs each)
#   VGPUCTL_BASELINE=/path/to/old/vgpuctl scripts/bench-types.sh    adds an older build's rows (before/after)
# Goals: mdev tree at most 1.2x the floor and at least 2x faster than mdevctl; both-layouts tree at most 1.5x.
set -euo pipefail
runs=${1:-20}
. "$(dirname "$0")/bench/lib.sh"
gcc -O2 -o "$work/floor" scripts/bench/floor.c
"$bin/vgpu-fixture" "$work/mdev" --host large --gpus 8 --vfs 32 --types 24 --layout mdev
"$bin/vgpu-fixture" "$work/both" --host large --gpus 8 --vfs 32 --types 24 --layout both
export work bin baseline runs
export -f paired

for tree in mdev both; do
  commands=("serial C floor" "$work/floor" "$work/$tree" ::: "vgpuctl types --json" "$bin/vgpuctl" types --json --sysfs-root "$work/$tree")
  [ -z "$baseline" ] || commands+=(::: "baseline types --json" "$baseline" types --json --sysfs-root "$work/$tree")
  echo "== $tree tree, $runs paired runs each"
  paired "$runs" "${commands[@]}"
done
if command -v mdevctl >/dev/null && unshare -m true 2>/dev/null; then
  echo "== mdev tree over /sys (private mount namespace): mdevctl types --dumpjson and vgpuctl types --json read /sys"
  unshare -m bash -c '
    set -e
    mount --bind "$work/mdev" /sys
    commands=("mdevctl types --dumpjson" "$(command -v mdevctl)" types --dumpjson ::: "vgpuctl types --json" "$bin/vgpuctl" types --json
              ::: "serial C floor" "$work/floor" /sys)
    [ -z "$baseline" ] || commands+=(::: "baseline types --json" "$baseline" types --json)
    paired "$runs" "${commands[@]}"
    echo "parents: mdevctl $(mdevctl types --dumpjson | jq '"'"'.[0] | length'"'"'), vgpuctl $("$bin/vgpuctl" types --json | jq length)"'
else
  echo "mdevctl comparison skipped: needs mdevctl and unshare -m"
fi
