#!/bin/bash
# Benchmark (not run by default; prints numbers): create --vm + destroy --vm for 1, 4 and 16 vGPUs on a shut-off
# domain (one command per vGPU, and one 'create --count N'), against the same work done with mdevctl start + virsh attach-device / detach-device + mdevctl stop.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs
start_libvirtd
export LIBVIRT_DEFAULT_URI=qemu:///system
cat > /tmp/bench.xml <<XML
<domain type='qemu'><name>bench</name><memory unit='MiB'>128</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features><devices/></domain>
XML
virsh define /tmp/bench.xml >/dev/null
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
for n in 1 4 16; do
  t=$(date +%s%N)
  for _ in $(seq $n); do vg create --type mtty-1 --vm bench >/dev/null || echo "create failed"; done
  vg destroy --vm bench || echo "destroy failed"
  ours=$(ms "$t")
  t=$(date +%s%N)
  vg create --type mtty-1 --count $n --vm bench >/dev/null || echo "create --count failed"
  vg destroy --vm bench || echo "destroy failed"
  counted=$(ms "$t")
  t=$(date +%s%N)
  for _ in $(seq $n); do
    u=$(uuidgen)
    mdevctl start -u "$u" -p mtty -t mtty-1
    printf "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/></source></hostdev>" "$u" > /tmp/h.xml
    virsh attach-device bench /tmp/h.xml --config >/dev/null
    echo "$u" >> /tmp/bench-uuids
  done
  for u in $(cat /tmp/bench-uuids); do
    printf "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/></source></hostdev>" "$u" > /tmp/h.xml
    virsh detach-device bench /tmp/h.xml --config >/dev/null
    mdevctl stop -u "$u"
  done
  rm -f /tmp/bench-uuids
  theirs=$(ms "$t")
  echo "bench| $n vGPU(s): vgpuctl create --vm x$n + destroy --vm: $ours ms; create --count $n --vm + destroy --vm: $counted ms; mdevctl start + virsh attach-device x$n, then detach + stop: $theirs ms"
done
check "benchmark ran" true
remove_all_mdevs
finish
