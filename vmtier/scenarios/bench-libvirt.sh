#!/bin/bash
# Benchmark (not run by default; prints numbers): create --vm + destroy --vm for 1, 4 and 16 vGPUs on a shut-off
# domain (one command per vGPU, and one 'create --count N'), against the same work done with mdevctl start + virsh
# attach-device / detach-device + mdevctl stop; medians of 5 rounds.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs
start_libvirtd
define_bench_domain
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# A failing command would make its side look fast: each failure is reported and fails the scenario.
bench_failures_reset
# Warm both sides' files (binaries, libvirt and its libraries come over 9p) so the first row is not the cold read.
vg --version --verbose >/dev/null; virsh version >/dev/null; mdevctl list >/dev/null
ours() {  # one vgpuctl create --vm per vGPU, then destroy --vm
  for _ in $(seq "$1"); do vg create --type mtty-1 --vm bench >/dev/null || failed "create"; done
  vg destroy --vm bench >/dev/null || failed "destroy"
}
counted() {  # one create --count N --vm, then destroy --vm
  vg create --type mtty-1 --count "$1" --vm bench >/dev/null || failed "create --count"
  vg destroy --vm bench >/dev/null || failed "destroy"
}
theirs() {  # mdevctl start + virsh attach-device per vGPU, then virsh detach-device + mdevctl stop per vGPU
  for _ in $(seq "$1"); do
    u=$(cat /proc/sys/kernel/random/uuid)   # the kernel's: uuidgen (uuid-runtime) is not installed everywhere
    mdevctl start -u "$u" -p mtty -t mtty-1 || failed "mdevctl start"
    printf "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/></source></hostdev>" "$u" > /tmp/h.xml
    virsh attach-device bench /tmp/h.xml --config >/dev/null || failed "virsh attach-device"
    echo "$u" >> /tmp/bench-uuids
  done
  for u in $(cat /tmp/bench-uuids); do
    printf "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/></source></hostdev>" "$u" > /tmp/h.xml
    virsh detach-device bench /tmp/h.xml --config >/dev/null || failed "virsh detach-device"
    mdevctl stop -u "$u" || failed "mdevctl stop"
  done
  rm -f /tmp/bench-uuids
}
timed() { local t; t=$(date +%s%N); "$@" >/dev/null; ms "$t"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# Rounds, the sides' order alternating, medians: the host is shared, and its load drifts within one run.
rounds=5
for n in 1 4 16; do
  o=() c=() th=()
  for r in $(seq $rounds); do
    if [ $((r % 2)) = 1 ]; then o+=("$(timed ours $n)"); c+=("$(timed counted $n)"); th+=("$(timed theirs $n)")
    else th+=("$(timed theirs $n)"); c+=("$(timed counted $n)"); o+=("$(timed ours $n)"); fi
  done
  ours=$(median "${o[@]}") counted=$(median "${c[@]}") theirs=$(median "${th[@]}")
  echo "bench| $n vGPU(s), median of $rounds: vgpuctl create --vm x$n + destroy --vm: $ours ms (${o[*]}); create --count $n --vm + destroy --vm: $counted ms; mdevctl start + virsh attach-device x$n, then detach + stop: $theirs ms (${th[*]}) (vgpuctl/theirs $(awk "BEGIN { printf \"%.2f\", $ours / $theirs }"))"
done
# Every command of both halves must have succeeded, or the numbers compare failures.
check "benchmark ran, every command of both sides succeeded" bench_succeeded
remove_all_mdevs
finish
