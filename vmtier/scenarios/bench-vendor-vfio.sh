#!/bin/bash
# vmtier-machine: lab
# Benchmark (on demand, not in CI; prints numbers): giving N = 1, 4 and 16 of the lab's igb VFs (7 per PF on
# three PFs, bound to the nvlab vendor driver) a vGPU type and attaching each to a shut-off domain, vgpuctl against a shell
# loop doing the same by hand. Per side and N, the "up" half is timed (type + attach) and the "down" half too
# (detach + release): vgpuctl create --vm per vGPU / destroy --vm, create --count N --vm, and the loop writing
# nvidia/current_vgpu_type then virsh attach-device --config (detach-device, then 0). Medians of 3 rounds, the sides'
# order alternating; every command of both sides must succeed.
. "$(dirname "$0")/lib.sh"
pci=/sys/bus/pci/devices
pf0=0000:45:00.0 pf1=0000:82:00.0 pf2=0000:46:00.0
pfs="$pf0 $pf1 $pf2"
type=1420   # NVIDIA H200X-4C: up to 7 per GPU here (its VFs), so 16 fit on three
all_vfs() { local pf; for pf in $pfs; do vfs_of $pf; done; }
vfs_of() { for v in "$pci/$1"/virtfn*; do [ -e "$v" ] && basename "$(readlink "$v")"; done | sort; }
setup() {
  local pf v
  for pf in $pfs; do
    echo 0 > "$pci/$pf/sriov_numvfs" && echo 7 > "$pci/$pf/sriov_numvfs" || return 1
    wait_until 60 "7 VFs of $pf" - test "$(vfs_of $pf | wc -l)" = 7 || return 1
  done
  for v in $(all_vfs); do
    echo nvlab > "$pci/$v/driver_override" && echo "$v" > /sys/bus/pci/drivers_probe
    wait_until 30 "$v's nvidia/" - test -e "$pci/$v/nvidia/current_vgpu_type" || return 1
  done
}
check "21 VFs (7 per PF) bound to nvlab" setup
check "libvirtd starts" start_libvirtd
define_bench_domain
bench_failures_reset
vg --version --verbose > /dev/null; virsh version > /dev/null   # warm both sides' files (9p)
hostdev() {  # hostdev VF: the <hostdev> vgpuctl attaches, written by hand
  printf "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/></source></hostdev>" \
    "${1:0:4}" "${1:5:2}" "${1:8:2}" "${1:11:1}"
}
ours_up() { for _ in $(seq "$1"); do vg create --type nvidia-$type --vm bench > /dev/null || failed "vgpuctl create --vm"; done; }
ours_down() { vg destroy --vm bench > /dev/null || failed "vgpuctl destroy --vm"; }
counted_up() { vg create --type nvidia-$type --count "$1" --vm bench > /dev/null || failed "vgpuctl create --count --vm"; }
theirs_up() {  # the first N VFs in order (pf0's, then pf1's, then pf2's), as a hand-written loop would take them
  local v
  for v in $(all_vfs | head -n "$1"); do
    echo $type > "$pci/$v/nvidia/current_vgpu_type" || failed "echo > current_vgpu_type"
    hostdev "$v" > /tmp/h.xml && virsh attach-device bench /tmp/h.xml --config > /dev/null || failed "virsh attach-device"
    echo "$v" >> /tmp/bench-vfs
  done
}
theirs_down() {
  local v
  for v in $(cat /tmp/bench-vfs); do
    hostdev "$v" > /tmp/h.xml && virsh detach-device bench /tmp/h.xml --config > /dev/null || failed "virsh detach-device"
    echo 0 > "$pci/$v/nvidia/current_vgpu_type" || failed "echo 0 > current_vgpu_type"
  done
  rm -f /tmp/bench-vfs
}
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
timed() { local t; t=$(date +%s%N); "$@" > /dev/null; ms "$t"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
untyped() { for v in $(all_vfs); do [ "$(cat "$pci/$v/nvidia/current_vgpu_type")" = 0 ] || return 1; done; }
rounds=3
for n in 1 4 16; do
  ou=() od=() cu=() cd=() tu=() td=()
  for r in $(seq $rounds); do
    ours() { ou+=("$(timed ours_up $n)"); od+=("$(timed ours_down)"); }
    counted() { cu+=("$(timed counted_up $n)"); cd+=("$(timed ours_down)"); }
    theirs() { tu+=("$(timed theirs_up $n)"); td+=("$(timed theirs_down)"); }
    if [ $((r % 2)) = 1 ]; then ours; counted; theirs; else theirs; counted; ours; fi
    untyped || failed "a VF left typed after round $r"
  done
  o=$(median "${ou[@]}") c=$(median "${cu[@]}") t=$(median "${tu[@]}")
  echo "bench| $n VF(s), median of $rounds: type + attach: vgpuctl create --vm x$n $o ms (${ou[*]}), create --count $n --vm $c ms, shell loop (current_vgpu_type + virsh attach-device) $t ms (${tu[*]}) (vgpuctl/loop $(awk "BEGIN { printf \"%.2f\", $o / $t }"), counted/loop $(awk "BEGIN { printf \"%.2f\", $c / $t }")); detach + release: vgpuctl destroy --vm $(median "${od[@]}") ms, loop $(median "${td[@]}") ms"
done
check "benchmark ran, every command of both sides succeeded" bench_succeeded
virsh undefine bench > /dev/null 2>&1
stop_libvirtd > /dev/null 2>&1
for v in $(all_vfs); do echo > "$pci/$v/driver_override"; done
for pf in $pfs; do echo 0 > "$pci/$pf/sriov_numvfs"; done
finish
