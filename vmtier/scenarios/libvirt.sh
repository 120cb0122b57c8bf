#!/bin/bash
# Issue 3 on the real kernel with libvirtd 9 and QEMU 7.2 inside the VM: create --vm on a shut-off domain, start
# it (QEMU opens the vGPU's VFIO device, the nested guest sees it), live attach and detach answered by the guest,
# a prompt refusal to remove a held vGPU, destroy --vm, and rollback of a create whose attach fails.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs

check "libvirtd starts" start_libvirtd
export LIBVIRT_DEFAULT_URI=qemu:///system

check "define web01 (shut off)" define_guest web01

inactive_has() { virsh dumpxml --inactive web01 | grep -q "uuid='$1'"; }
create_on_shutoff() {
  local uuid
  uuid=$(vg create --type mtty-2 --vm web01) || return 1
  echo "$uuid" > /tmp/first
  [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "no mdev"; return 1; }
  inactive_has "$uuid" || { echo "no hostdev in web01's definition"; virsh dumpxml --inactive web01; return 1; }
  vg list | grep "$uuid" | grep -q web01 || { echo "list does not name web01"; vg list; return 1; }
}
check "create --type mtty-2 --vm web01 on a shut-off domain adds the hostdev" create_on_shutoff

# A successful create --vm through the fast path (Sources/vgpuctl/FastPath) and through ArgumentParser
# (VGPUCTL_NO_FAST_PATH=1) must agree: one UUID line each, exit 0, and the same hostdev in the definition (UUIDs
# and libvirt's PCI addresses aside). Both are detached and removed again.
hostdev_of() {  # uuid: web01's inactive hostdev naming it, the UUID and addresses masked
  virsh dumpxml --inactive web01 | awk -v u="$1" '/<hostdev/ {b = ""; on = 1} on {b = b $0 "\n"} /<\/hostdev>/ {on = 0; if (index(b, u)) printf "%s", b}' \
    | grep -v "<address" | sed "s/$1/UUID/g"
}
fast_and_parsed_create_agree() {
  local n fast parsed; n=$(mdev_count)
  fast=$(vg create --type mtty-1 --vm web01) || return 1
  parsed=$(VGPUCTL_NO_FAST_PATH=1 vg create --type mtty-1 --vm web01) || return 1
  [[ $fast =~ ^[0-9a-f-]{36}$ && $parsed =~ ^[0-9a-f-]{36}$ ]] || { echo "not one UUID each: '$fast' / '$parsed'"; return 1; }
  [ -n "$(hostdev_of "$fast")" ] || { echo "no hostdev for $fast"; virsh dumpxml --inactive web01; return 1; }
  expect_eq "$(hostdev_of "$fast")" "$(hostdev_of "$parsed")" "web01's hostdev, fast path vs ArgumentParser" || return 1
  for u in "$fast" "$parsed"; do vg detach "$u" && vg remove "$u" || return 1; done
  expect_eq "$n" "$(mdev_count)" "mdev count after removing both"
}
check "create --vm: the fast path and ArgumentParser print and attach the same" fast_and_parsed_create_agree

refused_no_change() {  # expected-exit command...: nothing may change
  local n before; n=$(mdev_count); before=$(virsh dumpxml --inactive web01)
  expect_exit "$@" || return 1
  expect_eq "$n" "$(mdev_count)" "mdev count" && expect_eq "$before" "$(virsh dumpxml --inactive web01)" "web01's definition"
}
check "create --vm for a missing domain: exit 3, no mdev left" refused_no_change 3 vg create --type mtty-1 --vm nosuch
check "create --vm with a quote and '<' in the name: exit 3, nothing changed" refused_no_change 3 vg create --type mtty-1 --vm "web'01<x>"
check "attach failing in libvirt (display=on without graphics) rolls back: exit 6, no mdev left" \
  refused_no_change 6 vg create --type mtty-1 --vm web01 --display on
check "attach of a vGPU already attached to web01 is refused" refused_no_change 2 vg attach "$(cat /tmp/first)" --vm web01

# Issue 23 on a host without an IOMMU (this machine has none): whole-GPU passthrough of its display device is
# refused before anything changes, naming the kernel parameter (the lab machine proves the rest).
iommu_off_refused() {
  local vga err before
  vga=$(for d in /sys/bus/pci/devices/*; do case $(cat "$d/class") in 0x03*) basename "$d"; break;; esac; done)
  [ -n "$vga" ] || { echo "no display device on this machine"; return 1; }
  # No PCI function has a group (/sys/kernel/iommu_groups is not empty: the mdev created above has its own).
  ! ls /sys/bus/pci/devices/*/iommu_group >/dev/null 2>&1 || { echo "this machine's PCI devices have IOMMU groups"; return 1; }
  before=$(ls -l "/sys/bus/pci/devices/$vga/" | grep -E ' driver( |$)'; cat "/sys/bus/pci/devices/$vga/driver_override")
  err=$(refused_no_change 8 vg passthrough "$vga" --vm web01) || { echo "$err"; return 1; }
  grep -q "the IOMMU is off" <<<"$err" && grep -Eq "intel_iommu=on|amd_iommu" <<<"$err" || { echo "$err"; return 1; }
  expect_eq "$before" "$(ls -l "/sys/bus/pci/devices/$vga/" | grep -E ' driver( |$)'; cat "/sys/bus/pci/devices/$vga/driver_override")" "$vga's driver and override" || return 1
  [ -z "$(ls /run/vgpuctl/passthrough 2>/dev/null)" ] || { echo "a passthrough record was written"; return 1; }
}
check "passthrough with the IOMMU off: exit 8 naming the kernel parameter; nothing changed" iommu_off_refused

start_and_hold() {
  virsh start web01 || return 1
  local uuid group pid
  uuid=$(cat /tmp/first)
  group=$(basename "$(readlink "/sys/bus/mdev/devices/$uuid/iommu_group")")
  pid=$(cat /run/libvirt/qemu/web01.pid)
  ls -l "/proc/$pid/fd" | grep -q "/dev/vfio/$group" || { echo "QEMU $pid does not hold /dev/vfio/$group"; ls -l /proc/$pid/fd; return 1; }
}
check "virsh start web01: QEMU holds the vGPU's VFIO group" start_and_hold

check "the nested guest sees the vGPU (PCI vendor 0x4348)" guest_sees web01 1

held_remove_refused() {
  local start; start=$(date +%s)
  expect_exit 5 vg remove "$(cat /tmp/first)" || return 1
  [ $(( $(date +%s) - start )) -lt 20 ] || { echo "refusal was not prompt"; return 1; }
  [ -e "/sys/bus/mdev/devices/$(cat /tmp/first)" ]
}
check "remove of a vGPU the running domain holds is refused promptly (exit 5), naming web01" held_remove_refused

nodedevs_match() {
  local ours theirs
  ours=$(vg nodedevs --json | jq -r '.[] | select(.uuid != null) | .name' | sort | xargs)
  theirs=$(virsh nodedev-list --cap mdev | sed '/^$/d' | sort | xargs)
  expect_eq "$theirs" "$ours" "mdev node devices (virsh nodedev-list --cap mdev)" || return 1
  vg nodedevs --json | jq -e --arg u "$(cat /tmp/first)" '.[] | select(.uuid == $u and .type == "mtty-2" and .active)' >/dev/null \
    || { echo "the vGPU is not an active mtty-2 node device"; vg nodedevs; return 1; }
}
check "nodedevs (libvirt's node device API) lists the vGPU as virsh does" nodedevs_match

held_without_libvirtd() {
  # libvirtd down: the /proc check still names QEMU, and nothing blocks.
  stop_libvirtd || { echo "libvirtd did not stop"; return 1; }
  local err; err=$(LIBVIRT_DEFAULT_URI=qemu:///system expect_exit 5 vg remove "$(cat /tmp/first)")
  local rc=$?
  start_libvirtd || { echo "libvirtd did not start again"; return 1; }
  [ $rc = 0 ] || { echo "$err"; return 1; }
  echo "$err" | grep -q "qemu-system-x86" || { echo "does not name QEMU: $err"; return 1; }
  [ -e "/sys/bus/mdev/devices/$(cat /tmp/first)" ]
}
check "with libvirtd stopped, remove of the held vGPU is refused naming the QEMU process" held_without_libvirtd

live_attach() {
  local uuid; uuid=$(vg create --type mtty-1 --vm web01) || return 1
  echo "$uuid" > /tmp/second
  virsh dumpxml web01 | grep -q "uuid='$uuid'" || { echo "not in live XML"; return 1; }
  inactive_has "$uuid" || { echo "not in definition"; return 1; }
  guest_sees web01 2 180
}
check "live attach of a second vGPU: the guest sees it" live_attach

live_detach() {
  local start how; start=$(date +%s.%N)
  how=$(VGPUCTL_DEBUG=1 vg detach "$(cat /tmp/second)" --detach-timeout 180 2>&1) || { echo "$how"; return 1; }
  echo "note: live detach answered by the guest in $(echo "$(date +%s.%N) - $start" | bc) s: $how"
  echo "$how" | grep -q "device-removed event for hostdev" || { echo "the wait did not end on libvirt's event"; return 1; }
  ! virsh dumpxml web01 | grep -q "uuid='$(cat /tmp/second)'" || { echo "still in live XML"; return 1; }
  ! inactive_has "$(cat /tmp/second)" || { echo "still in definition"; return 1; }
  [ -e "/sys/bus/mdev/devices/$(cat /tmp/second)" ] || { echo "detach must keep the vGPU"; return 1; }
  guest_sees web01 1 60
}
check "live detach: the guest releases it, the vGPU is kept" live_detach
check "remove of the detached vGPU" vg remove "$(cat /tmp/second)"

destroy_all() {
  vg destroy --vm web01 --detach-timeout 180 || return 1
  expect_eq 0 "$(mdev_count)" "mdevs left" || return 1
  ! virsh dumpxml --inactive web01 | grep -q "<hostdev" || { echo "hostdev left in definition"; return 1; }
  ! virsh dumpxml web01 | grep -q "type='mdev'" || { echo "hostdev left in live XML"; return 1; }
}
check "destroy --vm web01 (running) leaves no mdev and no hostdev" destroy_all
virsh destroy web01 >/dev/null 2>&1
# Leave no domain behind: a later scenario in the same VM (crash) defines its own web01.
virsh undefine web01 >/dev/null 2>&1
remove_all_mdevs
finish
