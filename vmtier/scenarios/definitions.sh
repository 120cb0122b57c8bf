#!/bin/bash
# Issue 5 on the real kernel: definitions shared with mdevctl both ways, the host lock under 20 concurrent
# creates and 10 concurrent defines, and placement (pack, spread, groups) on a multi-parent mtty (vmtier/patches).
. "$(dirname "$0")/lib.sh"
# Definitions only: mdevctl's own scripts.d stays.
clear_definitions() { find /etc/mdevctl.d -mindepth 1 -maxdepth 1 ! -name scripts.d -exec rm -rf {} +; }
remove_all_mdevs
clear_definitions; rm -rf /etc/vgpuctl /var/lib/vgpuctl

defined_by_mdevctl() {  # uuid parent type start
  mdevctl list -d --dumpjson | jq -e --arg u "$1" --arg p "$2" --arg t "$3" --arg s "$4" \
    '.[] | to_entries[] | select(.key == $p) | .value[] | to_entries[] | select(.key == $u and .value.mdev_type == $t and .value.start == $s)' >/dev/null \
    || { echo "mdevctl list -d does not show $1 $2 $3 $4:"; mdevctl list -d; return 1; }
}
state_in_vgpuctl() {  # uuid running(true|false)
  expect_eq "$2" "$(vg list --defined --json | jq -r --arg u "$1" '.[] | select(.uuid == $u) | .running')" "vgpuctl list --defined"
}

ours_in_mdevctl() {
  local u; u=$(vg define --type mtty-2 --parent mtty --manual) || return 1
  echo "$u" > /tmp/ours
  defined_by_mdevctl "$u" mtty mtty-2 manual && state_in_vgpuctl "$u" false
}
check "vgpuctl define: mdevctl list -d shows it (manual, mtty-2 on mtty)" ours_in_mdevctl
mdevctl_starts_ours() {
  local u; u=$(cat /tmp/ours)
  mdevctl start -u "$u" || return 1
  [ -e "/sys/bus/mdev/devices/$u" ] && state_in_vgpuctl "$u" true
}
check "mdevctl start starts vgpuctl's definition; vgpuctl sees it running" mdevctl_starts_ours
check "vgpuctl stop: the vGPU goes, the definition stays (mdevctl still lists it)" \
  sh -c 'u=$(cat /tmp/ours); '"$VGPUCTL"' stop $u && [ ! -e /sys/bus/mdev/devices/$u ] && mdevctl list -d | grep -q $u'

theirs_in_vgpuctl() {
  local m; m=$(mdevctl define -p mdpy -t mdpy-vga) || return 1
  echo "$m" > /tmp/theirs
  state_in_vgpuctl "$m" false || return 1
  vg start "$m" && [ -e "/sys/bus/mdev/devices/$m" ] && state_in_vgpuctl "$m" true && mdevctl list | grep -q "$m"
}
check "mdevctl define: vgpuctl lists it and starts it; mdevctl sees it running" theirs_in_vgpuctl
check "vgpuctl undefine of mdevctl's definition: gone from mdevctl list -d, vGPU keeps running" \
  sh -c 'm=$(cat /tmp/theirs); '"$VGPUCTL"' undefine $m && ! mdevctl list -d | grep -q $m && [ -e /sys/bus/mdev/devices/$m ]'

persist_and_remove() {
  local p; p=$(vg create --type mtty-1 --persist) || return 1
  jq -e '.mdev_type == "mtty-1" and .start == "auto" and .attrs == []' "/etc/mdevctl.d/mtty/$p" >/dev/null || return 1
  defined_by_mdevctl "$p" mtty mtty-1 auto || return 1
  vg remove "$p" || return 1
  [ ! -e "/sys/bus/mdev/devices/$p" ] && [ ! -e "/etc/mdevctl.d/mtty/$p" ]
}
held_by_a_process() {
  local u g err; u=$(vg create --type mtty-1) || return 1
  g=$(basename "$(readlink "/sys/bus/mdev/devices/$u/iommu_group")")
  hold_group "$g" 60 || return 1
  local holder=$holder_pid
  err=$(expect_exit 5 vg remove "$u"); local rc=$?
  kill $holder; wait $holder 2>/dev/null
  [ $rc = 0 ] || { echo "$err"; return 1; }
  echo "$err" | grep -q "process $holder (sleep) holds /dev/vfio/$g" || { echo "does not name the holder: $err"; return 1; }
  vg remove "$u" && [ ! -e "/sys/bus/mdev/devices/$u" ]
}
check "remove of a vGPU a process holds open (/dev/vfio/N, no libvirt): exit 5 naming it; removed once released" held_by_a_process

check "create --persist writes mdevctl's JSON (auto); remove takes device and definition" persist_and_remove
auto_start() {
  local a b out
  a=$(vg define --type mtty-1 --parent mtty) && b=$(vg define --type mdpy-vga --parent mdpy --manual) || return 1
  out=$(vg start --auto) || return 1
  echo "$out" | grep -q "started $a" || { echo "start --auto said: $out"; return 1; }
  [ -e "/sys/bus/mdev/devices/$a" ] && [ ! -e "/sys/bus/mdev/devices/$b" ] || { echo "auto started, manual not: wrong"; return 1; }
  [ -z "$(vg start --auto)" ] || { echo "a second run must have nothing to do"; return 1; }
  vg remove "$a" && vg undefine "$b"
}
check "start --auto (the boot unit) starts auto definitions only, once" auto_start
check "no stray temporaries, no warnings about mdevctl's scripts.d" sh -c '! find /etc/mdevctl.d -name ".*" | grep . && [ -z "$('"$VGPUCTL"' list --defined 2>&1 >/dev/null)" ]'
remove_all_mdevs; clear_definitions

twenty_creates() {
  local i ok=0 refused=0
  rm -rf /tmp/c && mkdir /tmp/c
  for i in $(seq 20); do
    ( rc=0; vg create --type mdpy-vga --parent mdpy >"/tmp/c/$i.out" 2>"/tmp/c/$i.err" || rc=$?; echo "$rc" > "/tmp/c/$i.rc" ) &
  done
  wait
  for i in $(seq 20); do
    case $(cat "/tmp/c/$i.rc") in
      0) ok=$((ok + 1)) ;;
      4) grep -q "no room\|no free" "/tmp/c/$i.err" && refused=$((refused + 1)) || cat "/tmp/c/$i.err" ;;
      *) echo "create $i: exit $(cat "/tmp/c/$i.rc"): $(cat "/tmp/c/$i.err")" ;;
    esac
  done
  expect_eq "4 16" "$ok $refused" "successes and clean refusals (exit 4 with a message)" || return 1
  expect_eq 4 "$(ls /sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/devices | wc -l)" "mdpy vGPUs"
  expect_eq 0 "$(avail mdpy mdpy-vga)" "available_instances"
}
check "20 concurrent 'create --type mdpy-vga --parent mdpy': exactly 4 vGPUs and 16 clean refusals" twenty_creates
remove_all_mdevs

ten_defines() {
  local i f
  for i in $(seq 10); do vg define --type mtty-1 --parent mtty --manual >/dev/null & done
  wait
  expect_eq 10 "$(ls /etc/mdevctl.d/mtty | wc -l)" "definition files" || return 1
  for f in /etc/mdevctl.d/mtty/*; do jq -e '.mdev_type == "mtty-1"' "$f" >/dev/null || { echo "torn: $f"; cat "$f"; return 1; }; done
  expect_eq 10 "$(mdevctl list -d | grep -c mtty-1)" "mdevctl's count"
  expect_eq 0 "$(ls -A /etc/mdevctl.d/mtty | grep -c '^\.')" "temporaries"
}
check "10 concurrent 'define': 10 whole files, mdevctl lists all 10" ten_defines
clear_definitions

# The holder keeps the lock far longer than a loaded TCG guest needs to start vgpuctl (seconds), then is ended.
hold_lock() { flock /run/vgpuctl/lock sleep 60 & holder=$!; sleep 0.5; }
release_lock() { pkill -P "$holder" sleep; wait "$holder" 2>/dev/null; true; }
lock_held() {
  mkdir -p /run/vgpuctl
  hold_lock
  local err rc=0; err=$(expect_exit 5 vg create --type mtty-1 --wait 0) || rc=1
  release_lock
  [ $rc = 0 ] || { echo "$err"; return 1; }
  echo "$err" | grep -q "holds the host lock" || { echo "$err"; return 1; }
  expect_eq 0 "$(mdev_count)" "nothing created"
}
check "--wait 0 while the lock is held: exit 5, says so, nothing created" lock_held
read_only_never_waits() {
  hold_lock
  timeout 30 "$VGPUCTL" list >/dev/null && timeout 30 "$VGPUCTL" plan --type mtty-1 >/dev/null; local rc=$?
  release_lock
  return $rc
}
check "read-only commands never wait for the lock" read_only_never_waits

# A multi-GPU host: mtty with three extra parents (mtty1..mtty3), each with its own 24 ports.
multi_parent() {
  rmmod mtty && insmod "$(ls "$VMTIER_OUT"/samples-*/mtty.ko)" extra_parents=3 || return 1
  expect_eq "mtty mtty1 mtty2 mtty3" "$(vg types --json | jq -r '[.[] | select(any(.types[]; .type == "mtty-2")) | .parent] | join(" ")')" "parents offering mtty-2"
}
check "patched mtty registers 4 parents with the same types" multi_parent
parents_of() { for u in "$@"; do basename "$(dirname "$(readlink -f "/sys/bus/mdev/devices/$u")")"; done | sort | uniq -c | awk '{print $1}' | tr '\n' ' '; }
spread_real() {
  local plan uuids
  plan=$(vg plan --type mtty-2 --count 4 --policy spread --json | jq -r '[.[].parent] | sort | join(" ")')
  expect_eq "mtty mtty1 mtty2 mtty3" "$plan" "plan spread" || return 1
  uuids=$(vg create --type mtty-2 --count 4 --policy spread) || return 1
  expect_eq "1 1 1 1 " "$(parents_of $uuids)" "vGPUs per parent after spread"
}
check "spread: 4 vGPUs land on 4 different parents (plan and real)" spread_real
remove_all_mdevs
pack_real() {
  local uuids
  expect_eq 1 "$(vg plan --type mtty-2 --count 4 --policy pack --json | jq '[.[].parent] | unique | length')" "plan pack" || return 1
  uuids=$(vg create --type mtty-2 --count 4) || return 1
  expect_eq "4 " "$(parents_of $uuids)" "vGPUs per parent after pack (the default)"
}
check "pack (default): 4 vGPUs on one parent (plan and real)" pack_real
remove_all_mdevs
group_real() {
  mkdir -p /etc/vgpuctl
  printf '[groups.lab]\npolicy = "spread"\ngpus = ["mtty2", "mtty3"]\n\n[gpus."mtty1"]\ntypes = ["mtty-1"]\n' > /etc/vgpuctl/vgpuctl.conf
  local uuids; uuids=$(vg create --type mtty-2 --count 2 --group lab) || return 1
  expect_eq "mtty2 mtty3" "$(for u in $uuids; do basename "$(dirname "$(readlink -f /sys/bus/mdev/devices/$u)")"; done | sort | tr '\n' ' ' | sed 's/ $//')" "lab's GPUs" || return 1
  vg plan --type mtty-2 --count 24 --group default --json | jq -e 'all(.[]; .parent == "mtty")' >/dev/null \
    || { echo "mtty1 is reserved for mtty-1: default group's mtty-2 must all go to mtty"; return 1; }
  expect_exit 4 vg plan --type mtty-2 --count 25 --group default
}
check "config file: group lab spreads over mtty2+mtty3; reserved mtty1 refuses mtty-2" group_real
check "config mistake: exit 2 naming file and line" sh -c "echo 'polcy = 1' > /etc/vgpuctl/vgpuctl.conf; $VGPUCTL plan --type mtty-1 2>&1 >/dev/null | grep -q 'vgpuctl.conf:1:'; rc=\$?; $VGPUCTL plan --type mtty-1 >/dev/null 2>&1; [ \$? = 2 ] && [ \$rc = 0 ]"
rm -rf /etc/vgpuctl
remove_all_mdevs
check "mtty back to one parent" sh -c 'rmmod mtty && insmod "$(ls "$VMTIER_OUT"/samples-*/mtty.ko)" && [ ! -e /sys/class/mdev_bus/mtty1 ]'
finish
