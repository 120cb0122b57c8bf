#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing) for issue 5:
#  1. `vgpuctl plan --count 256` on a generated 8 GPU x 32 VF host (vendor-specific VFIO, one vGPU per VF, 24 types),
#     pack and spread, against `vgpuctl types --json` on the same tree (the inventory read both pay).
#  2. the host lock's cost: 20 `vgpuctl create` started at once (queued on the lock) against the same 20 run one
#     after another, on a fixture tree (sysfs writes land in plain files, so every create succeeds).
#   scripts/bench-placement.sh [runs]      (default 10 runs each; the median is reported)
set -euo pipefail
runs=${1:-10}
. "$(dirname "$0")/bench/lib.sh"
"$bin/vgpu-fixture" "$work/vfio/sys" --host large --gpus 8 --vfs 32 --types 24 --layout vfio >/dev/null
export VGPUCTL_ROOT=$work/vfio

type=$("$bin/vgpuctl" types --json | jq -r '.[0].types[0].type')
inventory=$(median_ms "$bin/vgpuctl" types --json)
for policy in pack spread; do
  gpus=$("$bin/vgpuctl" plan --type "$type" --count 256 --policy $policy --json | jq '[.[].gpu] | unique | length')
  took=$(median_ms "$bin/vgpuctl" plan --type "$type" --count 256 --policy $policy --json)
  echo "plan --count 256 --policy $policy ($type, 8 GPUs x 32 VFs): ${took} ms, on $gpus GPUs; types --json on the same tree ${inventory} ms"
done

"$bin/vgpu-fixture" "$work/lock/sys" --host samples >/dev/null
export VGPUCTL_ROOT=$work/lock
sequential() { for _ in $(seq 20); do "$bin/vgpuctl" create --type mtty-1 --parent mtty >/dev/null; done; }
queued() {
  for _ in $(seq 20); do "$bin/vgpuctl" create --type mtty-1 --parent mtty >/dev/null & done
  wait
}
seq_ms=$(median_ms sequential)
queued_ms=$(median_ms queued)
echo "20 creates: sequential ${seq_ms} ms ($(awk "BEGIN{printf \"%.1f\", $seq_ms/20}") ms each), queued on the lock ${queued_ms} ms (queued/sequential $(awk "BEGIN{printf \"%.2f\", $queued_ms/$seq_ms}")) on $(nproc) cores"
