#!/bin/bash
# vmtier-machine: lab
# Benchmark on the lab machine (not run by default; prints numbers): whole-GPU passthrough of the bochs-display
# 41:00.0 to a shut-off domain and back, paired, medians of 5 rounds with the sides' order alternating:
#   vgpuctl:  'vgpuctl passthrough ADDRESS --vm bench' (bind to vfio-pci + attach to the definition), then
#             'vgpuctl detach ADDRESS' (detach + back to bochs-drm)
#   libvirt:  'virsh nodedev-detach' (libvirt binds vfio-pci) + 'virsh attach-device --config', then
#             'virsh detach-device --config' + 'virsh nodedev-reattach'
# Every command must succeed and leave the device where it should be (a failing one would look fast).
. "$(dirname "$0")/lib.sh"
pci=/sys/bus/pci/devices
gpu=0000:41:00.0 nodedev=pci_0000_41_00_0
driver() { if [ -e "$pci/$1/driver" ]; then basename "$(readlink "$pci/$1/driver")"; else echo none; fi; }
# libvirt's nodedev-detach asks kmod about vfio-pci, and kmod needs the module indexes, which the tier hides
# (stage2.sh mounts an empty /lib/modules): empty ones for the running kernel (vfio-pci is loaded already).
kdir=/lib/modules/$(uname -r)
mkdir -p "$kdir" && touch "$kdir/modules.builtin" "$kdir/modules.order" && depmod -a 2>/dev/null
start_libvirtd
define_bench_domain
printf "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source></hostdev>" > /tmp/h.xml
bench_failures_reset
on() { [ "$(driver $gpu)" = "$1" ] || failed "$2 (driver $(driver $gpu), wanted $1)"; }
run() { local out; out=$("$@" 2>&1 >/dev/null) || failed "$*: $out"; }
ours_to() { run vg passthrough $gpu --vm bench; }
ours_back() { run vg detach $gpu; }
theirs_to() { run virsh nodedev-detach $nodedev; run virsh attach-device bench /tmp/h.xml --config; }
theirs_back() { run virsh detach-device bench /tmp/h.xml --config; run virsh nodedev-reattach $nodedev; }
# Warm both sides' files (binaries and libraries come over 9p) so the first round is not the cold read.
vg --version --verbose >/dev/null; virsh nodedev-dumpxml $nodedev >/dev/null
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
side() {  # side ours|theirs: appends to NAME_to and NAME_back
  local t
  t=$(date +%s%N); "$1_to"; eval "$1_to_ms+=($(ms "$t"))"; on vfio-pci "$1 to"
  virsh dumpxml --inactive bench | grep -q "bus='0x41'" || failed "$1: no hostdev in the definition"
  t=$(date +%s%N); "$1_back"; eval "$1_back_ms+=($(ms "$t"))"; on bochs-drm "$1 back"
  virsh dumpxml --inactive bench | grep -q "<hostdev" && failed "$1: hostdev left in the definition"
  return 0
}
ours_to_ms=() ours_back_ms=() theirs_to_ms=() theirs_back_ms=()
rounds=5
for r in $(seq $rounds); do
  if [ $((r % 2)) = 1 ]; then side ours; side theirs; else side theirs; side ours; fi
done
ot=$(median "${ours_to_ms[@]}") ob=$(median "${ours_back_ms[@]}") tt=$(median "${theirs_to_ms[@]}") tb=$(median "${theirs_back_ms[@]}")
echo "bench| passthrough of $gpu to a shut-off domain, median of $rounds: vgpuctl passthrough $ot ms (${ours_to_ms[*]}), vgpuctl detach $ob ms (${ours_back_ms[*]}); virsh nodedev-detach + attach-device $tt ms (${theirs_to_ms[*]}), virsh detach-device + nodedev-reattach $tb ms (${theirs_back_ms[*]}); round trip vgpuctl/virsh $(awk "BEGIN { printf \"%.2f\", ($ot + $ob) / ($tt + $tb) }")"
check "benchmark ran, every command of both sides succeeded and left the device where it should be" bench_succeeded
virsh undefine bench >/dev/null
finish
