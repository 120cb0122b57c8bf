#!/bin/bash
# Issue 21 on the real kernel with libvirtd: "in use" is what the kernel says. A domain-lifetime vGPU that another
# process holds (a stand-in for a QEMU started by hand: lib.sh's hold_group keeps /dev/vfio/GROUP open) is never
# reused or removed: 'virsh start' is refused promptly naming the holder, and every other removing path (remove,
# destroy --vm, detach, reconcile --prune) refuses or skips promptly with the vGPU and its holder untouched. Once
# the holder is gone, destroy --vm cleans up.
. "$(dirname "$0")/lib.sh"
remove_all_mdevs
rm -rf /var/lib/vgpuctl/journal/*
export LIBVIRT_DEFAULT_URI=qemu:///system
stop_libvirtd >/dev/null 2>&1
PROMPT=20   # seconds a refusal may take (TCG, two loaded cores)

# held_ok UUID: the vGPU still exists and the holder still holds its group.
held_ok() {
  [ -e "/sys/bus/mdev/devices/$1" ] || { echo "vGPU $1 is gone"; return 1; }
  holds_file "$holder_pid" "/dev/vfio/$group" || { echo "process $holder_pid no longer holds /dev/vfio/$group"; return 1; }
}
# prompt SECONDS COMMAND...: runs COMMAND under a hard limit and fails when it takes SECONDS or more (prints its
# output and "note: took N ms"); its exit status is in $prompt_rc, its output in $prompt_out.
prompt() {
  local limit=$1; shift
  local t0 t1; t0=$(date +%s%N); prompt_rc=0
  prompt_out=$(timeout 120 "$@" 2>&1) || prompt_rc=$?
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  echo "note: '$*' took $ms ms (exit $prompt_rc)"
  [ "$prompt_rc" != 124 ] || { echo "still running after 120 s: $prompt_out"; return 1; }
  [ "$ms" -lt $(( limit * 1000 )) ] || { echo "took $ms ms, more than $limit s: $prompt_out"; return 1; }
}
names_holder() { printf '%s\n' "$prompt_out" | grep -q "process $holder_pid " || { echo "no 'process $holder_pid' in: $prompt_out"; return 1; }; }

check "install-hook, then libvirtd starts (it reads its hooks at start)" sh -c "$VGPUCTL install-hook >/dev/null && test -L /etc/libvirt/hooks/qemu.d/vgpuctl-hook"
check "libvirtd answers" start_libvirtd

setup() {
  define_guest ghost || return 1
  vg create --type mtty-2 --vm ghost --lifetime domain > /tmp/ghost-uuid || return 1
  uuid=$(cat /tmp/ghost-uuid)
  [ ! -e "/sys/bus/mdev/devices/$uuid" ] || { echo "--lifetime domain created the vGPU now"; return 1; }
  virsh dumpxml --inactive ghost | grep -q "uuid='$uuid'" || { echo "ghost's definition does not name $uuid"; return 1; }
  # The hand-started QEMU's part, first: it creates the UUID (and holds its group, below).
  echo "$uuid" > /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create
}
check "ghost names a domain-lifetime mtty-2 vGPU (not created yet); another process creates that UUID first" setup
uuid=$(cat /tmp/ghost-uuid 2>/dev/null)
group=$(basename "$(readlink "/sys/bus/mdev/devices/$uuid/iommu_group" 2>/dev/null)" 2>/dev/null)
# The holder must outlive the checks: started here, in the scenario's own shell (a check runs its command in a
# command substitution, which would wait for the holder's end), with its output away from the log's pipe.
holder_pid=""
[ -n "$group" ] && hold_group "$group" 900 >/dev/null 2>&1 </dev/null
check "the other process (pid ${holder_pid:-none}) holds /dev/vfio/${group:-?}" held_ok "$uuid"

start_refused() {
  prompt 30 virsh start ghost || return 1
  [ "$prompt_rc" != 0 ] || { echo "ghost started: $prompt_out"; virsh destroy ghost >/dev/null 2>&1; return 1; }
  names_holder || return 1
  printf '%s\n' "$prompt_out" | grep -q "$uuid" || { echo "the message does not name $uuid: $prompt_out"; return 1; }
  [ "$(virsh domstate ghost 2>/dev/null)" = "shut off" ] || { echo "ghost is $(virsh domstate ghost)"; return 1; }
  virsh list >/dev/null || { echo "libvirtd no longer answers"; return 1; }
  held_ok "$uuid"
}
check "virsh start ghost is refused within 30 s naming the holder's pid; the vGPU and its holder are untouched" start_refused

remove_refused() {
  prompt $PROMPT "$VGPUCTL" remove "$uuid" || return 1
  [ "$prompt_rc" = 5 ] || { echo "exit $prompt_rc, wanted 5: $prompt_out"; return 1; }
  names_holder && held_ok "$uuid"
}
check "vgpuctl remove of the held vGPU: exit 5 naming the holder, promptly; nothing changed" remove_refused

destroy_refused() {
  prompt $PROMPT "$VGPUCTL" destroy --vm ghost || return 1
  [ "$prompt_rc" = 5 ] || { echo "exit $prompt_rc, wanted 5: $prompt_out"; return 1; }
  names_holder || return 1
  virsh dumpxml --inactive ghost | grep -q "uuid='$uuid'" || { echo "ghost no longer names $uuid (a step was not undone)"; return 1; }
  held_ok "$uuid"
}
check "vgpuctl destroy --vm ghost: exit 5 naming the holder, promptly; ghost still names the vGPU, which still exists" destroy_refused

prune_skips() {
  prompt $PROMPT "$VGPUCTL" reconcile --prune || return 1
  [ "$prompt_rc" != 0 ] || { echo "reconcile --prune said all was well: $prompt_out"; return 1; }
  names_holder && held_ok "$uuid"
}
check "vgpuctl reconcile --prune: the held vGPU's removal fails naming the holder, promptly; the vGPU stays" prune_skips

detach_keeps() {
  # detach changes only ghost's definition (it never writes the device): it may succeed, but must leave the vGPU
  # and its holder alone, and not hang.
  prompt $PROMPT "$VGPUCTL" detach "$uuid" --vm ghost || return 1
  held_ok "$uuid" || return 1
  if [ "$prompt_rc" = 0 ]; then
    # Give it back to ghost, so that destroy --vm cleans it up below.
    vg attach "$uuid" --vm ghost --config >/dev/null || { echo "could not attach it again"; return 1; }
  fi
}
check "vgpuctl detach UUID --vm ghost: returns promptly; the vGPU and its holder are untouched" detach_keeps

no_lock_left() {
  # Nothing above may leave a process behind holding the host lock: a read-only and a locking command both answer.
  prompt $PROMPT "$VGPUCTL" list >/dev/null || return 1
  prompt $PROMPT "$VGPUCTL" reconcile --dry-run || return 1
  [ "$prompt_rc" != 124 ] && held_ok "$uuid"
}
check "afterwards vgpuctl answers at once (no hung writer, no host lock left held)" no_lock_left

[ -n "$holder_pid" ] && { kill "$holder_pid"; wait "$holder_pid" 2>/dev/null; }
cleanup_after_holder() {
  ! holds_file "$holder_pid" "/dev/vfio/$group" || { echo "the holder still holds it"; return 1; }
  prompt $PROMPT "$VGPUCTL" destroy --vm ghost || return 1
  [ "$prompt_rc" = 0 ] || { echo "destroy --vm ghost: exit $prompt_rc: $prompt_out"; return 1; }
  wait_mdev_gone "$uuid"
}
check "the holder gone, vgpuctl destroy --vm ghost removes the vGPU" cleanup_after_holder

virsh undefine ghost >/dev/null 2>&1
"$VGPUCTL" uninstall-hook >/dev/null 2>&1
stop_libvirtd >/dev/null 2>&1
finish
