#!/bin/bash
# Issue 2 on the real kernel: discovery equals sysfs, create/remove move available_instances, mdevctl (an
# independent oracle) agrees, and refusals (capacity, duplicate UUID, bad names) leave nothing behind.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs

types_match_sysfs() {
  local from_sysfs from_vgpuctl
  from_sysfs=$(for t in /sys/class/mdev_bus/*/mdev_supported_types/*; do
    p=$(basename "$(dirname "$(dirname "$t")")")
    printf '%s %s %s %s %s\n' "$p" "$(basename "$t")" "$(cat "$t/available_instances")" "$(cat "$t/device_api")" "$(cat "$t/name" 2>/dev/null || echo -)"
  done | sort)
  from_vgpuctl=$(vg types --json | jq -r '.[] | .parent as $p | .types[] | "\($p) \(.type) \(.available_instances) \(.device_api) \(.name // "-")"' | sort)
  expect_eq "$from_sysfs" "$from_vgpuctl"
  for p in mtty mdpy mbochs; do grep -q "^$p " <<<"$from_vgpuctl" || { echo "parent $p missing"; return 1; }; done
}
check "types --json equals sysfs for mtty, mdpy and mbochs" types_match_sysfs

create_decrements() {  # parent type
  local before after uuid
  before=$(avail "$1" "$2")
  uuid=$(vg create --type "$2" --parent "$1") || return 1
  after=$(avail "$1" "$2")
  expect_eq "$((before - 1))" "$after" "available_instances of $1/$2"
  [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "no /sys/bus/mdev/devices/$uuid"; return 1; }
  echo "$uuid" >> /tmp/created
}
: > /tmp/created
check "create mtty-1 on mtty decrements available_instances" create_decrements mtty mtty-1
check "create mdpy-vga on mdpy decrements available_instances" create_decrements mdpy mdpy-vga
check "create mbochs-small on mbochs decrements available_instances" create_decrements mbochs mbochs-small
check "create without --parent finds the parent offering the type" create_decrements mtty mtty-2

lists_agree() {
  local ours theirs
  ours=$(vg list --json | jq -r '.[] | "\(.uuid) \(.parent) \(.type)"' | sort)
  theirs=$(mdevctl list | awk '{print $1, $2, $3}' | sort)
  expect_eq "$theirs" "$ours" "vgpuctl list vs mdevctl list"
  expect_eq 4 "$(wc -l <<<"$ours")"
}
check "vgpuctl list and mdevctl list agree" lists_agree

remove_restores() {
  local uuid parent type before
  uuid=$(head -1 /tmp/created); parent=mtty; type=mtty-1
  before=$(avail $parent $type)
  vg remove "$uuid" || return 1
  [ ! -e "/sys/bus/mdev/devices/$uuid" ] || { echo "device still present"; return 1; }
  expect_eq "$((before + 1))" "$(avail $parent $type)"
}
check "remove restores available_instances" remove_restores
check "remove of an unknown UUID: exit 3" expect_exit 3 vg remove 00000000-0000-4000-8000-000000000000

past_capacity() {
  local n
  while [ "$(avail mdpy mdpy-vga)" -gt 0 ]; do vg create --type mdpy-vga >/dev/null || return 1; done
  n=$(mdev_count)
  expect_exit 4 vg create --type mdpy-vga || return 1
  expect_eq "$n" "$(mdev_count)" "mdev count after the refused create"
  expect_eq 0 "$(avail mdpy mdpy-vga)"
}
check "create past available_instances (mdpy: 4) fails cleanly, nothing left" past_capacity

duplicate_uuid() {
  local u=6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab n
  vg create --type mtty-1 --uuid $u >/dev/null || return 1
  n=$(mdev_count)
  expect_exit 2 vg create --type mtty-1 --uuid $u || return 1
  expect_exit 2 vg create --type mbochs-small --uuid ${u^^} || return 1
  expect_eq "$n" "$(mdev_count)"
}
check "a duplicate UUID is refused (exit 2), in any case" duplicate_uuid

bad_input() {
  local n; n=$(mdev_count)
  expect_exit 2 vg create --type ../../x || return 1
  expect_exit 2 vg create --type mtty-1 --parent ../mtty || return 1
  expect_exit 2 vg create --type $'mtty-1\x07' || return 1
  expect_exit 2 vg create --type mtty-1 --uuid not-a-uuid || return 1
  expect_exit 3 vg create --type nvidia-222 || return 1
  expect_exit 3 vg create --type mtty-1 --parent nosuch || return 1
  expect_exit 2 vg create --type mtty-1 --parent mdpy || return 1
  expect_eq "$n" "$(mdev_count)"
}
check "bad input (traversal, control chars, unknown type/parent) is refused before anything changes" bad_input

unwritable_sysfs() {
  local n rc=0; n=$(mdev_count)
  mkdir -p /tmp/ro-sys && mount -t sysfs -o ro sysfs /tmp/ro-sys || return 1
  expect_exit 8 vg create --type mtty-1 --sysfs-root /tmp/ro-sys || rc=1
  umount /tmp/ro-sys
  [ $rc = 0 ] && expect_eq "$n" "$(mdev_count)"
}
check "a read-only sysfs gives a host error (exit 8) and changes nothing" unwritable_sysfs
check "a missing sysfs root gives a host error (exit 8)" expect_exit 8 vg types --sysfs-root /nonexistent

remove_all_mdevs
finish
