#!/bin/bash
# Issue 10 on the real kernel: the mtty sample of the 6.12 kernel implements VFIO migration v2 with PRE_COPY.
# 'vgpuctl migration probe' opens a real mtty vGPU's VFIO device (container, group, device fd) and reads its
# flags and PRECOPY_INFO; the 'selftest' diagnostic moves one vGPU's real migration stream into another
# (RUNNING -> PRE_COPY -> STOP_COPY on the source, RESUMING -> STOP -> RUNNING on the destination), and the
# destination's driver checks it when it loads it (RESUMING -> STOP).
. "$(dirname "$0")/lib.sh"
remove_all_mdevs
# mtty's stream: its magic (0x7e9d09898c3e2c4e, little-endian) first.
mtty_magic=4e2c3e8c89099d7e

src=$(vg create --type mtty-2 --parent mtty) && dst=$(vg create --type mtty-2 --parent mtty) || { echo "not ok 1 - create two mtty-2 vGPUs"; finish; exit 1; }
group_of() { vg list --json | jq -r --arg u "$1" '.[] | select(.uuid == $u) | .iommu_group'; }

probe_flags() {
  local json; json=$(vg migration probe "$src" --json) || return 1
  expect_eq "STOP_COPY|P2P|PRE_COPY" "$(jq -r '.flags | join("|")' <<<"$json")" "flags" || return 1
  expect_eq 7 "$(jq -r .flags_value <<<"$json")" || return 1
  expect_eq RUNNING "$(jq -r .state <<<"$json")"
}
check "probe on a real mtty vGPU reports STOP_COPY|P2P|PRE_COPY" probe_flags

probe_precopy() {
  local json initial; json=$(vg migration probe "$src" --json) || return 1
  initial=$(jq -r .precopy.initial_bytes <<<"$json")
  [ "$initial" -gt 0 ] || { echo "initial_bytes $initial"; echo "$json"; return 1; }
  expect_eq PRE_COPY "$(jq -r '.precopy.path | join(" ")' <<<"$json")" || return 1
  echo "note: PRE_COPY initial_bytes=$initial dirty_bytes=$(jq -r .precopy.dirty_bytes <<<"$json") stop_copy_length=$(jq -r .stop_copy_length <<<"$json")"
}
check "probe enters PRE_COPY and reads PRECOPY_INFO's initial_bytes (> 0)" probe_precopy

probe_leaves_running() {
  local text; text=$(vg migration probe "$src") || return 1
  grep -q "migration flags: STOP_COPY|P2P|PRE_COPY" <<<"$text" || { echo "$text"; return 1; }
  grep -q "state: RUNNING" <<<"$text" || { echo "$text"; return 1; }
  # Nothing keeps the group open afterwards: a remove would not block.
  ! ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q "/dev/vfio/$(group_of "$src")\$" || { echo "group still held"; return 1; }
}
check "probe leaves the device RUNNING and its group closed (text output)" probe_leaves_running

held_refused() {
  local g pid out; g=$(group_of "$src")
  hold_group "$g" || return 1
  pid=$holder_pid
  out=$(expect_exit 5 vg migration probe "$src"); local rc=$?
  kill "$pid"; wait "$pid" 2>/dev/null
  [ $rc = 0 ] || { echo "$out"; return 1; }
  grep -q "process $pid (sleep) holds /dev/vfio/$g" <<<"$out" || { echo "$out"; return 1; }
}
check "probe of a vGPU a process holds open: exit 5 naming the process" held_refused
check "probe of an unknown vGPU: exit 3" expect_exit 3 vg migration probe 00000000-0000-4000-8000-000000000000
check "probe of a malformed UUID: exit 2" expect_exit 2 vg migration probe not-a-uuid

no_migration_driver() {
  local a b json out rc=0
  a=$(vg create --type mdpy-vga --parent mdpy) && b=$(vg create --type mdpy-vga --parent mdpy) || return 1
  json=$(vg migration probe "$a" --json) || rc=1
  [ $rc = 0 ] && { expect_eq "[] 0 null" "$(jq -c -r '"\(.flags) \(.flags_value) \(.precopy)"' <<<"$json")" "mdpy probe" || rc=1; }
  if [ $rc = 0 ]; then
    out=$(expect_exit 2 vg migration selftest "$a" "$b") && grep -q "no VFIO migration support" <<<"$out" || { echo "$out"; rc=1; }
  fi
  vg remove "$a"; vg remove "$b"; return $rc
}
check "a driver without VFIO migration (mdpy): probe reports no flags (exit 0), selftest refuses (exit 2)" no_migration_driver

selftest_moves_stream() {
  local json length; json=$(vg migration selftest "$src" "$dst" --json) || return 1
  length=$(vg migration probe "$src" --json | jq -r .stop_copy_length)
  expect_eq "PRE_COPY PRE_COPY_P2P STOP_COPY STOP RUNNING_P2P RUNNING" "$(jq -r '.source_states | join(" ")' <<<"$json")" "source path" || return 1
  expect_eq "RUNNING_P2P STOP RESUMING STOP RUNNING_P2P RUNNING" "$(jq -r '.destination_states | join(" ")' <<<"$json")" "destination path" || return 1
  expect_eq "$mtty_magic" "$(jq -r .stream_head <<<"$json")" "stream head (mtty's magic)" || return 1
  expect_eq "$(jq -r .precopy_initial_bytes <<<"$json")" "$(jq -r .precopy_bytes <<<"$json")" "pre-copy bytes read = initial_bytes" || return 1
  expect_eq "$length" "$(( $(jq -r .precopy_bytes <<<"$json") + $(jq -r .stop_copy_bytes <<<"$json") ))" "whole stream = MIG_DATA_SIZE" || return 1
  echo "note: stream $(jq -r .precopy_bytes <<<"$json") bytes in PRE_COPY + $(jq -r .stop_copy_bytes <<<"$json") in STOP_COPY, head $(jq -r .stream_head <<<"$json")"
}
check "selftest moves the real stream: source RUNNING->PRE_COPY->STOP_COPY, destination RESUMING->STOP->RUNNING accepts it" selftest_moves_stream

state_moved() {
  local json; json=$(vg migration selftest "$src" "$dst" --mtty-marker 165 --json) || return 1
  expect_eq "90 165" "$(jq -r '"\(.marker.destination_before) \(.marker.destination_after)"' <<<"$json")" "destination scratch before/after" || return 1
  echo "note: source scratch 165; destination read $(jq -r .marker.destination_before <<<"$json") before, $(jq -r .marker.destination_after <<<"$json") after"
}
check "the device state itself moved: a byte written into the source's UART scratch register reads back on the destination" state_moved

both_running() {
  expect_eq RUNNING "$(vg migration probe "$src" --json | jq -r .state)" "source" || return 1
  expect_eq RUNNING "$(vg migration probe "$dst" --json | jq -r .state)" "destination"
}
check "after the selftest both vGPUs are RUNNING again" both_running

truncated_refused() {
  local out; out=$(expect_exit 8 vg migration selftest "$src" "$dst" --truncate 8) || { echo "$out"; return 1; }
  grep -q "refused the migration stream" <<<"$out" || { echo "$out"; return 1; }
  both_running
}
check "a stream cut short is refused by the destination's driver (exit 8); both vGPUs RUNNING after" truncated_refused

other_type_refused() {
  local one; one=$(vg create --type mtty-1 --parent mtty) || return 1
  expect_exit 2 vg migration selftest "$src" "$one"; local rc=$?
  vg remove "$one"; return $rc
}
check "selftest between different types: exit 2" other_type_refused

check "both vGPUs remove cleanly afterwards (nothing holds them)" bash -c "'$VGPUCTL' remove $src && '$VGPUCTL' remove $dst"
finish
