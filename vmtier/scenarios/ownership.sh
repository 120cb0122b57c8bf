#!/bin/bash
# Issue 14 on the real kernel with libvirtd: which domain owns a vGPU is read from libvirt's XML structurally.
# A look-alike <hostdev> in another domain's <metadata> (any namespace, with or without a prefix) never makes
# that domain an owner; two shut-off domains naming one vGPU are both shown, and destroying one keeps the vGPU
# for the other.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs
rm -rf /etc/mdevctl.d/mtty
check "libvirtd starts" start_libvirtd
export LIBVIRT_DEFAULT_URI=qemu:///system

domains_of() { vg list --json | jq -c --arg u "$1" '[.[] | select(.uuid == $u) | .domains][0]'; }

setup_victim() {
  define_guest victim || return 1
  vg create --type mtty-1 --vm victim --persist > /tmp/victim-uuid || return 1
  local uuid; uuid=$(cat /tmp/victim-uuid)
  local lookalike="<hostdev xmlns='urn:other' mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='$uuid'/></source></hostdev>"
  define_guest zzattacker "<metadata>$lookalike</metadata>" || return 1
  define_guest attacker "<metadata><o:hostdev xmlns:o='urn:other' mode='subsystem' type='mdev'><o:source><o:address uuid='$uuid'/></o:source></o:hostdev></metadata>" || return 1
  virsh dumpxml --inactive zzattacker | grep -Eq "uuid=.$uuid." || { echo "libvirt did not keep the metadata"; return 1; }
}
check "victim gets a persistent mtty-1 vGPU; zzattacker and attacker carry look-alikes in <metadata>" setup_victim
uuid=$(cat /tmp/victim-uuid)

check "list names victim only (zzattacker is read after victim)" expect_eq '["victim"]' "$(domains_of "$uuid")"
list_table() { vg list | grep "$uuid" | awk '{print $5}'; }
check "the table's DOMAIN column says victim" expect_eq victim "$(list_table)"

untouched() {
  [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "the vGPU is gone"; return 1; }
  [ -f "/etc/mdevctl.d/mtty/$uuid" ] || { echo "its definition is gone"; return 1; }
  virsh dumpxml --inactive victim | grep -q "uuid='$uuid'" || { echo "victim lost its hostdev"; return 1; }
}
destroy_attacker() {
  local out; out=$(vg destroy --vm zzattacker) || { echo "exit $?"; return 1; }
  echo "$out" | grep -q "nothing to destroy" || { echo "said: $out"; return 1; }
  untouched
}
check "destroy --vm zzattacker touches nothing and says there is nothing to destroy" destroy_attacker
destroy_attacker_prefixed() {
  vg destroy --vm attacker | grep -q "nothing to destroy" && untouched
}
check "destroy --vm attacker (prefixed look-alike) touches nothing either" destroy_attacker_prefixed

shared_setup() {
  define_guest a1 && define_guest b1 || return 1
  vg create --type mtty-1 --vm a1 --persist > /tmp/shared-uuid || return 1
  vg xml "$(cat /tmp/shared-uuid)" > /tmp/shared-hostdev.xml && virsh attach-device b1 /tmp/shared-hostdev.xml --config >/dev/null
}
check "a1 gets a vGPU from vgpuctl, b1 the same one by virsh attach-device --config" shared_setup
shared=$(cat /tmp/shared-uuid)
check "list names both a1 and b1" expect_eq '["a1","b1"]' "$(domains_of "$shared")"
check "remove of the shared vGPU is refused naming both (exit 5)" sh -c "$VGPUCTL remove $shared 2>&1 >/dev/null; test \$? = 5" 
check "the refusal names a1 and b1" sh -c "$VGPUCTL remove $shared 2>&1 | grep -q 'a1, b1'"
destroy_b1() {
  local out; out=$(vg destroy --vm b1) || { echo "exit $?"; return 1; }
  echo "$out" | grep -q "detached $shared, kept: domain a1 also names it" || { echo "said: $out"; return 1; }
  [ -e "/sys/bus/mdev/devices/$shared" ] && [ -f "/etc/mdevctl.d/mtty/$shared" ] || { echo "the vGPU or its definition is gone"; return 1; }
  virsh dumpxml --inactive a1 | grep -q "uuid='$shared'" || { echo "a1 lost it"; return 1; }
  ! virsh dumpxml --inactive b1 | grep -q "uuid='$shared'" || { echo "b1 still names it"; return 1; }
  expect_eq '["a1"]' "$(domains_of "$shared")"
}
check "destroy --vm b1 detaches it from b1 and keeps it (and its definition) for a1" destroy_b1

cleanup() {
  vg destroy --vm a1 >/dev/null && vg destroy --vm victim >/dev/null || return 1
  for d in victim zzattacker attacker a1 b1; do virsh undefine "$d" >/dev/null || return 1; done
  expect_eq 0 "$(mdev_count)" "mdevs left"
}
check "destroy a1 and victim: no vGPU left" cleanup
finish
