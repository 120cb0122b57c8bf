#!/usr/bin/env bash
# What libvirtd pays per domain operation for vgpuctl's hook (process start included), next to an empty hook
# (/bin/true): a domain without vGPUs, and 'prepare begin' of a domain with 8 defined vGPUs on a fixture host
# (fixture sysfs: the kernel's own create time is not in it). Median and p99 of 100 runs; numbers printed only.
set -euo pipefail
runs=${RUNS:-100}
. "$(dirname "$0")/bench/lib.sh"
ln -sf "$bin/vgpuctl" "$work/vgpuctl-hook"

# every run's wall time in µs, sorted
times_us() {  # stdin-file command...
  local input=$1; shift
  for _ in $(seq "$runs"); do
    local start end; start=$(date +%s%N); "$@" < "$input" >/dev/null 2>&1 || true; end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
  done | sort -n
}
stats() { awk '{a[NR]=$1} END {printf "median %.2f ms  p99 %.2f ms", a[int((NR+1)/2)]/1000, a[int(NR*0.99+0.5)]/1000}'; }

cat > "$work/plain.xml" <<XML
<domain type='kvm'><name>plain</name><memory unit='MiB'>1024</memory><devices><disk type='file' device='disk'>
<source file='/var/lib/libvirt/images/plain.qcow2'/><target dev='vda' bus='virtio'/></disk>
<interface type='network'><source network='default'/></interface></devices></domain>
XML
"$bin/vgpu-fixture" "$work/sys" --host large --gpus 1 --vfs 8 --types 4 --layout mdev >/dev/null
mkdir -p "$work/root"
devices=""
parents=$(ls "$work/sys/class/mdev_bus" | head -8)
for parent in $parents; do
  type=$(ls "$work/sys/class/mdev_bus/$parent/mdev_supported_types" | head -1)
  uuid=$(VGPUCTL_ROOT="$work/root" VGPUCTL_SYSFS_ROOT="$work/sys" "$bin/vgpuctl" define --type "$type" --parent "$parent" --manual)
  devices+="<hostdev mode='subsystem' type='mdev'><source><address uuid='$uuid'/></source></hostdev>"
done
echo "<domain><name>eight</name><devices>$devices</devices></domain>" > "$work/eight.xml"

echo "hook cost per domain operation ($runs runs each, release build)"
printf '  %-44s %s\n' "empty hook (/bin/true)" "$(times_us "$work/plain.xml" /bin/true plain prepare begin - | stats)"
printf '  %-44s %s\n' "vgpuctl-hook, domain without vGPUs" "$(times_us "$work/plain.xml" "$work/vgpuctl-hook" plain prepare begin - | stats)"
printf '  %-44s %s\n' "vgpuctl-hook, release end without vGPUs" "$(times_us "$work/plain.xml" "$work/vgpuctl-hook" plain release end - | stats)"
# prepare begin with 8 defined vGPUs: on a fixture the 'create' write is a plain file, so every run finds them
# not running again (the fixture has no kernel to make the device appear): each run does the whole work.
export VGPUCTL_ROOT="$work/root" VGPUCTL_SYSFS_ROOT="$work/sys"
printf '  %-44s %s\n' "vgpuctl-hook, prepare begin, 8 defined vGPUs" "$(times_us "$work/eight.xml" "$work/vgpuctl-hook" eight prepare begin - | stats)"

echo "reconcile planning (release build; target: at most 100 ms)"
"$bin/vgpu-fixture" plan-reconcile --runs 20 | sed 's/^/  /'
