#!/bin/bash
# Issue 5's crash safety on the real kernel with libvirtd: `create --vm --persist` and `destroy --vm` are
# SIGKILLed at every one of their OS calls in turn (VGPUCTL_KILL_AT=N: a real kill -9, at a known moment) and at
# timed moments from outside, each followed by `vgpuctl recover`. Afterwards every vGPU is all-or-nothing (mdev,
# definition and web01's hostdev together) and an unrelated definition is byte-identical.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs
find /etc/mdevctl.d -mindepth 1 -maxdepth 1 ! -name scripts.d -exec rm -rf {} +
rm -rf /var/lib/vgpuctl

check "libvirtd starts" start_libvirtd
export LIBVIRT_DEFAULT_URI=qemu:///system
check "define web01 (shut off)" define_guest web01
unrelated=$(mdevctl define -p mdpy -t mdpy-vga)
unrelated_sum=$(sha256sum "/etc/mdevctl.d/mdpy/$unrelated")

# Every mtty vGPU is whole (mdev + definition + hostdev in web01) or absent; prints how many are whole.
whole_or_nothing() {
  local mdevs defs hostdevs
  mdevs=$(for d in /sys/bus/mdev/devices/*; do [ -e "$d" ] && [ "$(basename "$(dirname "$(readlink -f "$d")")")" = mtty ] && basename "$d"; done | sort | xargs)
  defs=$(ls /etc/mdevctl.d/mtty 2>/dev/null | sort | xargs)
  hostdevs=$(virsh dumpxml --inactive web01 | grep -o "uuid='[0-9a-f-]*'" | cut -d"'" -f2 | sort | xargs)
  [ "$mdevs" = "$defs" ] && [ "$defs" = "$hostdevs" ] || { echo "torn: mdevs [$mdevs] definitions [$defs] hostdevs [$hostdevs]"; return 1; }
  [ "$(sha256sum "/etc/mdevctl.d/mdpy/$unrelated")" = "$unrelated_sum" ] || { echo "unrelated definition changed"; return 1; }
  [ -z "$(ls -A /var/lib/vgpuctl/journal 2>/dev/null)" ] || { echo "journal not empty"; ls -A /var/lib/vgpuctl/journal; return 1; }
  echo "$mdevs" | wc -w
}

# Kill at call N until a run completes; recover after each; count outcomes.
sweep() {  # label expected-whole-if-killed expected-whole-if-completed setup command...
  local label=$1 killed_whole=$2 done_whole=$3 setup=$4; shift 4
  local n rc whole undone=0 finished=0
  for n in $(seq 1 60); do
    $setup >/dev/null || { echo "setup failed before kill point $n"; return 1; }
    rc=0; VGPUCTL_KILL_AT=$n "$VGPUCTL" "$@" >/dev/null 2>&1 || rc=$?
    vg recover >/dev/null || { echo "recover failed after kill point $n"; return 1; }
    whole=$(whole_or_nothing) || { echo "after kill point $n (exit $rc): $whole"; return 1; }
    if [ "$rc" = 0 ]; then
      expect_eq "$done_whole" "$whole" "$label completed at $n" || return 1
      echo "note: $label: killed at each of its $((n - 1)) OS calls; after recover, $undone times as before the command, $finished times as after it; then ran to the end"
      return 0
    fi
    [ "$rc" = 137 ] || { echo "$label at $n: exit $rc, wanted 137 (SIGKILL)"; return 1; }
    if [ "$whole" = "$killed_whole" ]; then undone=$((undone + 1)); else finished=$((finished + 1)); fi
  done
  echo "$label never completed"; return 1
}

reset_empty() { vg destroy --vm web01 >/dev/null 2>&1; remove_all_mdevs; find /etc/mdevctl.d/mtty -type f -delete 2>/dev/null; true; }
reset_two() { reset_empty; vg create --type mtty-2 --count 2 --vm web01 --persist; }
check "create --vm --persist killed at every call: recover leaves 0 or 1 whole vGPU" \
  sweep "create --vm --persist" 0 1 reset_empty create --type mtty-2 --vm web01 --persist
check "destroy --vm killed at every call: recover leaves both vGPUs whole or none" \
  sweep "destroy --vm" 2 0 reset_two destroy --vm web01

timed_kills() {
  local delay whole
  for delay in 0.8 1.1 1.4 1.7 2.0 2.3 2.6; do
    reset_empty >/dev/null
    "$VGPUCTL" create --type mtty-2 --count 3 --vm web01 --persist >/dev/null 2>&1 &
    sleep "$delay"; kill -9 $! 2>/dev/null; wait $! 2>/dev/null
    vg recover >/dev/null || return 1
    whole=$(whole_or_nothing) || { echo "kill after $delay s: $whole"; return 1; }
    [ "$whole" = 0 ] || [ "$whole" = 3 ] || { echo "kill after $delay s: $whole of 3 whole"; return 1; }
    echo "note: kill -9 after $delay s: $whole of 3 vGPUs whole after recover"
  done
}
check "kill -9 from outside at timed moments during a 3-vGPU create --vm --persist" timed_kills
reset_empty
check "the unrelated definition is untouched at the end" sh -c "[ \"\$(sha256sum /etc/mdevctl.d/mdpy/$unrelated)\" = \"$unrelated_sum\" ]"
virsh undefine web01 >/dev/null; mdevctl undefine -u "$unrelated"; stop_libvirtd
finish
