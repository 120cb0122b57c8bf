#!/bin/bash
# Issue 9 on the real kernel with libvirtd: the hook provides vGPUs at 'virsh start' and releases domain-lifetime
# ones at 'virsh destroy'; refusals reach 'virsh start'; reconcile repairs sabotage and then has nothing to do.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs
rm -rf /etc/mdevctl.d/mtty /var/lib/vgpuctl/journal/*
export LIBVIRT_DEFAULT_URI=qemu:///system
stop_libvirtd >/dev/null 2>&1
check "install-hook links vgpuctl into /etc/libvirt/hooks/qemu.d" sh -c "$VGPUCTL install-hook && test -L /etc/libvirt/hooks/qemu.d/vgpuctl-hook"
check "libvirtd starts (and reads the hook)" start_libvirtd

holds() {  # domain uuid: QEMU of the domain holds the vGPU's VFIO group
  local group pid
  group=$(basename "$(readlink "/sys/bus/mdev/devices/$2/iommu_group")") || return 1
  pid=$(cat "/run/libvirt/qemu/$1.pid") || return 1
  ls -l "/proc/$pid/fd" | grep -q "/dev/vfio/$group"
}

defined_only() {
  define_guest d1 || return 1
  local uuid; uuid=$(vg define --type mtty-2 --parent mtty --manual) || return 1
  echo "$uuid" > /tmp/d1-uuid
  vg stop "$uuid" >/dev/null 2>&1; [ ! -e "/sys/bus/mdev/devices/$uuid" ] || return 1
  vg xml "$uuid" >/dev/null 2>&1  # not running: no XML from sysfs; write the hostdev by hand
  printf "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/></source></hostdev>" "$uuid" > /tmp/d1-hostdev.xml
  virsh attach-device d1 /tmp/d1-hostdev.xml --config >/dev/null || return 1
  virsh start d1 >/dev/null || return 1
  [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "the hook did not start the definition"; return 1; }
  holds d1 "$uuid" || { echo "QEMU does not hold it"; return 1; }
}
check "virsh start of a domain whose mdev is only defined: the hook starts it, QEMU opens it" defined_only
check "virsh destroy d1: a persistent (defined) vGPU stays" sh -c "virsh destroy d1 >/dev/null && test -e /sys/bus/mdev/devices/$(cat /tmp/d1-uuid)"

lifetime_setup() {
  define_guest d2 || return 1
  vg create --type mtty-1 --vm d2 --lifetime domain > /tmp/d2-uuid || return 1
  local uuid; uuid=$(cat /tmp/d2-uuid)
  [ ! -e "/sys/bus/mdev/devices/$uuid" ] || { echo "created now"; return 1; }
  virsh dumpxml --inactive d2 | grep -q "vgpuctl.org/xmlns/domain/1" || { echo "no metadata"; virsh dumpxml --inactive d2; return 1; }
}
check "create --vm d2 --lifetime domain records the request and creates nothing" lifetime_setup
cycle() {
  local uuid; uuid=$(cat /tmp/d2-uuid)
  virsh start d2 >/dev/null || return 1
  [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "not created on start"; return 1; }
  holds d2 "$uuid" || { echo "QEMU does not hold it"; return 1; }
  virsh destroy d2 >/dev/null || return 1
  wait_mdev_gone "$uuid"
}
check "virsh start d2 creates its domain-lifetime vGPU, virsh destroy releases it" cycle
check "... and again" cycle

undefined_refused() {
  define_guest d3 || return 1
  printf "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/></source></hostdev>" 11111111-2222-4333-8444-555555555555 > /tmp/d3-hostdev.xml
  virsh attach-device d3 /tmp/d3-hostdev.xml --config >/dev/null || return 1
  local err; err=$(virsh start d3 2>&1) && { echo "started"; return 1; }
  echo "$err" | grep -q "11111111-2222-4333-8444-555555555555, which does not exist, is not defined" || { echo "virsh said: $err"; return 1; }
}
check "a domain referencing an undefined UUID is refused; virsh start shows vgpuctl's message" undefined_refused

clone_refused() {
  virsh start d1 >/dev/null || return 1
  define_guest d1clone && virsh attach-device d1clone /tmp/d1-hostdev.xml --config >/dev/null || return 1
  local err; err=$(virsh start d1clone 2>&1) && { echo "clone started"; return 1; }
  echo "$err" | grep -q "running domain d1 uses" || { echo "virsh said: $err"; return 1; }
  virsh destroy d1 >/dev/null
}
check "a clone sharing a running UUID is refused naming the other domain" clone_refused

sabotage() {
  # an auto definition whose mdev is removed by hand; an orphan created by hand; a create killed mid-way
  local auto orphan
  auto=$(vg create --type mtty-2 --persist) || return 1; echo "$auto" > /tmp/auto-uuid
  echo 1 > "/sys/bus/mdev/devices/$auto/remove"
  orphan=$(cat /proc/sys/kernel/random/uuid); echo "$orphan" > /tmp/orphan-uuid
  echo "$orphan" > /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/create
  VGPUCTL_KILL_AT=6 "$VGPUCTL" create --type mtty-1 --count 2 --persist >/dev/null 2>&1
  [ -n "$(ls /var/lib/vgpuctl/journal/)" ] || { echo "the killed create left no journal record"; return 1; }
  local rc=0; vg reconcile --dry-run > /tmp/dry 2>&1 || rc=$?
  [ "$rc" = 2 ] || { echo "dry run exit $rc"; cat /tmp/dry; return 1; }
  [ -e "/sys/bus/mdev/devices/$orphan" ] && [ ! -e "/sys/bus/mdev/devices/$auto" ] || { echo "dry run changed something"; return 1; }
  cat /tmp/dry
}
check "after sabotage, reconcile --dry-run reports work (exit 2) and changes nothing" sabotage
repair() {
  vg reconcile --prune > /tmp/repair 2>&1 || { cat /tmp/repair; return 1; }
  [ -e "/sys/bus/mdev/devices/$(cat /tmp/auto-uuid)" ] || { echo "auto vGPU not restarted"; cat /tmp/repair; return 1; }
  [ ! -e "/sys/bus/mdev/devices/$(cat /tmp/orphan-uuid)" ] || { echo "orphan kept"; cat /tmp/repair; return 1; }
  [ -z "$(ls /var/lib/vgpuctl/journal/)" ] || { echo "journal not empty"; return 1; }
  cat /tmp/repair
}
check "one reconcile --prune repairs it all" repair
check "a second reconcile --dry-run has nothing to do (exit 0)" sh -c "$VGPUCTL reconcile --dry-run --prune"

cleanup() {
  for d in d1 d2 d3 d1clone; do virsh undefine "$d" >/dev/null 2>&1; done
  "$VGPUCTL" uninstall-hook >/dev/null && stop_libvirtd
  remove_all_mdevs; rm -rf /etc/mdevctl.d/mtty
}
check "uninstall-hook and clean up" cleanup
finish
