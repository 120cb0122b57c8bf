#!/bin/bash
# Issue 23's whole-GPU passthrough on the lab machine (vmtier/run.sh boots it for pci-* scenarios): libvirtd runs
# in the lab, `vgpuctl passthrough` binds a bochs-display to vfio-pci and attaches it, and the nested guest
# (vmtier/guest/pciscan) prints its PCI IDs; the refusals change nothing; the multi-function slot goes together;
# `detach` and `destroy --vm` give the functions back to their drivers; after a simulated reboot the hook binds a
# persistent passthrough again when its domain starts; and passthrough killed with SIGKILL at
# every one of its OS calls, then `recover`, leaves each function on its original driver (or, killed after the
# journal was cleared, passed through whole).
set -u
. "$(dirname "$0")/lib.sh"
pci=/sys/bus/pci/devices
boot_vga=0000:00:01.0 alone=0000:41:00.0 card=0000:42:00.0 card_audio=0000:42:00.1 pcibridge=0000:43:00.0
shared_a=0000:44:01.0 shared_b=0000:44:02.0
driver() { if [ -e "$pci/$1/driver" ]; then basename "$(readlink "$pci/$1/driver")"; else echo none; fi; }
drivers() { local d; for d in "$@"; do printf '%s=%s ' "$d" "$(driver "$d")"; done; }
all_drivers() { drivers $boot_vga $alone $card $card_audio $pcibridge $shared_a $shared_b; }
# A persistent passthrough's records are in /var/lib (they outlive a reboot), a --live one's in /run.
records() { ls /var/lib/vgpuctl/passthrough /run/vgpuctl/passthrough 2>/dev/null | grep -v -e '^/' -e '^$' | sort | tr '\n' ' '; }
# The guest's last PCI line has vendor 0x1234 (bochs-display) N times, and with AUDIO=1 the hda's 0x293e.
guest_line() { grep -a 'nested-guest: pci-devices' "/tmp/$1-console.log" 2>/dev/null | tail -1; }
bochs_count_is() { local l; l=$(guest_line "$1"); [ "$(grep -o 0x1234 <<<"$l" | wc -l)" = "$2" ] && { [ "$2" = 0 ] || grep -q 0x1111 <<<"$l"; }; }
audio_is() { local l; l=$(guest_line "$1"); if [ "$2" = 1 ]; then grep -q 0x293e <<<"$l"; else ! grep -q 0x293e <<<"$l"; fi; }
guest_sees_bochs() {  # guest_sees_bochs NAME N [SECONDS]
  wait_until "${3:-120}" "guest $1 to report $2 bochs-display(s) (1234:1111) on its PCI bus" "/tmp/$1-console.log" bochs_count_is "$1" "$2"
}
original=$(all_drivers)
echo "vmtier: drivers before: $original"

# The hook gives back a --live-only passthrough when the domain's run ends: libvirtd reads its hooks at start.
hook_and_libvirtd() { vg install-hook >/dev/null && test -L /etc/libvirt/hooks/qemu.d/vgpuctl-hook && start_libvirtd; }
check "install-hook, then libvirtd starts in the lab (and reads the hook)" hook_and_libvirtd
export LIBVIRT_DEFAULT_URI=qemu:///system
define_pt() { rm -f "/tmp/$1-console.log"; define_guest "$1"; }
check "define pt01 and pt02 (shut off)" eval 'define_pt pt01 && define_pt pt02'

# refused_unchanged STATUS TEXT ARGS...: exit STATUS, TEXT in the message, and nothing changed: every lab
# display function's driver, pt01's definition, vgpuctl's records.
refused_unchanged() {
  local want=$1 text=$2; shift 2
  local before xml err; before=$(all_drivers); xml=$(virsh dumpxml --inactive pt01)
  err=$(expect_exit "$want" vg passthrough "$@") || { echo "$err"; return 1; }
  grep -q -- "$text" <<<"$err" || { echo "the message does not say '$text': $err"; return 1; }
  expect_eq "$before" "$(all_drivers)" "drivers" || return 1
  expect_eq "$xml" "$(virsh dumpxml --inactive pt01)" "pt01's definition" || return 1
  expect_eq "" "$(records)" "passthrough records"
}
check "the shared group is refused (exit 5) naming the other endpoint; nothing changed" \
  refused_unchanged 5 "$shared_b, which the host driver bochs-drm holds" $shared_a --vm pt01
check "the boot VGA device is refused (exit 2) without --allow-boot-vga; nothing changed" \
  refused_unchanged 2 "boot VGA" $boot_vga --vm pt01
check "a bridge is not a GPU (exit 2); an unknown domain exits 3; nothing changed" \
  eval "refused_unchanged 2 'is not a GPU' $pcibridge --vm pt01 && refused_unchanged 3 'nosuch' $alone --vm nosuch"

dry_run() {
  local out before; before=$(all_drivers)
  out=$(vg passthrough $alone --vm pt01 --dry-run --json) || return 1
  jq -e --arg a $alone '.dry_run and .scope == "config" and .functions == [{"address": $a, "driver": "bochs-drm"}]' <<<"$out" >/dev/null \
    || { echo "$out"; return 1; }
  expect_eq "$before" "$(all_drivers)" "drivers after --dry-run"
}
check "--dry-run --json: the plan (bind from bochs-drm, attach to the definition); nothing changed" dry_run

pass_alone() {
  local t0 t1; t0=$(date +%s.%N)
  vg passthrough $alone --vm pt01 || return 1
  t1=$(date +%s.%N)
  expect_eq vfio-pci "$(driver $alone)" "$alone's driver" || return 1
  expect_eq vfio-pci "$(cat $pci/$alone/driver_override)" "driver_override" || return 1
  virsh dumpxml --inactive pt01 | grep -q "bus='0x41'" || { echo "no hostdev in pt01's definition"; virsh dumpxml --inactive pt01; return 1; }
  grep -q '^driver bochs-drm$' /var/lib/vgpuctl/passthrough/$alone || { echo "record: $(cat /var/lib/vgpuctl/passthrough/$alone)"; return 1; }
  echo "note: passthrough to the shut-off pt01 took $(echo "$t1 - $t0" | bc) s"
}
check "passthrough $alone --vm pt01 (shut off): vfio-pci, the hostdev in the definition, the driver recorded" pass_alone
check "another domain may not have it (exit 5)" eval "expect_exit 5 vg passthrough $alone --vm pt02 >/dev/null"

# What a reboot does to it: the kernel binds $alone to bochs-drm again (no driver_override) and /run is empty.
# The record in /var/lib survives, and the hook binds $alone to vfio-pci again at pt01's prepare begin.
reboot_then_start() {
  echo > $pci/$alone/driver_override && echo $alone > /sys/bus/pci/drivers/vfio-pci/unbind && echo $alone > /sys/bus/pci/drivers_probe || return 1
  rm -rf /run/vgpuctl/passthrough
  expect_eq bochs-drm "$(driver $alone)" "$alone's driver after the 'reboot'" || return 1
  local out; out=$(vg reconcile --dry-run 2>&1); grep -q "$alone" <<<"$out" && { echo "reconcile reports it: $out"; return 1; }
  virsh start pt01 >/dev/null || return 1
  expect_eq vfio-pci "$(driver $alone)" "$alone's driver once pt01 started" || return 1
  expect_eq "$alone " "$(records)" "records: the one in /var/lib, as the passthrough wrote it" || return 1
  guest_sees_bochs pt01 1 || return 1
  echo "note: $(guest_line pt01)"
}
check "after a 'reboot' ($alone on bochs-drm, /run empty) virsh start pt01: the hook binds it again; the guest sees 1234:1111" reboot_then_start

multifunction_live() {
  vg passthrough $card_audio --vm pt01 --live || return 1
  expect_eq "$card=vfio-pci $card_audio=vfio-pci " "$(drivers $card $card_audio)" "both functions of the card" || return 1
  grep -q '^lifetime domain$' /run/vgpuctl/passthrough/$card || { echo "a --live passthrough must be domain-lifetime"; return 1; }
  wait_until 120 "guest pt01 to see the card's audio function (8086:293e) and 2 bochs-displays" /tmp/pt01-console.log \
    eval 'audio_is pt01 1 && bochs_count_is pt01 2' || return 1
  virsh dumpxml --inactive pt01 | grep -q "bus='0x42'" && { echo "--live must leave the definition alone"; return 1; }
  return 0
}
check "passthrough of the card's audio function (--live, running pt01) takes the whole slot; the guest sees both" multifunction_live

detach_card() {
  vg detach $card --detach-timeout 120 || return 1
  expect_eq "$card=bochs-drm $card_audio=none " "$(drivers $card $card_audio)" "the card's functions back on their drivers" || return 1
  wait_until 60 "guest pt01 to lose the audio function" /tmp/pt01-console.log eval 'audio_is pt01 0 && bochs_count_is pt01 1'
}
check "detach $card: the guest releases both functions; bochs-drm and no driver again, as before" detach_card

hook_gives_back() {
  vg passthrough $card --vm pt01 --live >/dev/null || return 1
  expect_eq "$card=vfio-pci $card_audio=vfio-pci " "$(drivers $card $card_audio)" "passed through" || return 1
  virsh destroy pt01 >/dev/null || return 1
  wait_until 30 "the hook to give $card and $card_audio back at release end" - \
    test "$(drivers $card $card_audio)" = "$card=bochs-drm $card_audio=none " || return 1
  expect_eq "$alone " "$(records)" "records: the persistent passthrough stays" || return 1
  expect_eq vfio-pci "$(driver $alone)" "$alone stays on vfio-pci (persistent)" || return 1
  virsh start pt01 >/dev/null && guest_sees_bochs pt01 1
}
check "a --live passthrough ends with the run: virsh destroy, the hook gives the card back; the persistent one stays" hook_gives_back

destroy_running() {
  vg destroy --vm pt01 --detach-timeout 120 || return 1
  expect_eq "$original" "$(all_drivers)" "every driver as before" || return 1
  expect_eq "" "$(records)" "passthrough records" || return 1
  virsh dumpxml --inactive pt01 | grep -q "<hostdev" && { echo "hostdev left in the definition"; return 1; }
  guest_sees_bochs pt01 0 60
}
check "destroy --vm pt01 (running): detached, $alone back on bochs-drm, no record left" destroy_running
virsh destroy pt01 >/dev/null 2>&1

undefined_domain() {
  vg passthrough $alone --vm pt02 >/dev/null || return 1
  virsh undefine pt02 >/dev/null || return 1
  vg detach $alone || return 1
  expect_eq bochs-drm "$(driver $alone)" "$alone given back" || return 1
  expect_eq "" "$(records)" "passthrough records" || return 1
  define_pt pt02
}
check "detach $alone after its domain was undefined: given back to bochs-drm, no record left" undefined_domain

# A process that holds the device's group keeps it: give-back is refused (exit 5) and the device stays on vfio-pci.
held_refused() {
  vg passthrough $alone --vm pt02 >/dev/null || return 1
  hold_group "$(basename "$(readlink $pci/$alone/iommu_group)")" 60 || return 1
  local err; err=$(expect_exit 5 vg destroy --vm pt02) || { kill $holder_pid; echo "$err"; return 1; }
  kill $holder_pid; wait $holder_pid 2>/dev/null
  grep -q "process $holder_pid (sleep)" <<<"$err" || { echo "does not name the holder: $err"; return 1; }
  expect_eq vfio-pci "$(driver $alone)" "still on vfio-pci while held" || return 1
  vg destroy --vm pt02 >/dev/null && expect_eq bochs-drm "$(driver $alone)" "given back once released"
}
check "give-back is refused (exit 5) naming a process that holds the group; given back once it lets go" held_refused

# kill -9 at every OS call of a passthrough, then recover: $alone is on bochs-drm with pt02 naming nothing, or
# (the last point: killed after the journal was cleared) passed through whole; never between.
sweep() {
  local n rc state start whole=0; start=$(date +%s)
  for n in $(seq 1 60); do
    rc=0; VGPUCTL_KILL_AT=$n "$VGPUCTL" passthrough $alone --vm pt02 >/dev/null 2>&1 || rc=$?
    vg recover >/dev/null || { echo "recover failed after kill point $n"; return 1; }
    state="$(driver $alone) $(virsh dumpxml --inactive pt02 | grep -c "bus='0x41'") $(records)"
    if [ "$rc" = 0 ]; then
      expect_eq "vfio-pci 1 $alone " "$state" "passthrough completed at $n" || return 1
      vg destroy --vm pt02 >/dev/null && expect_eq bochs-drm "$(driver $alone)" "given back after the sweep" || return 1
      echo "note: passthrough killed at each of its $((n - 1)) OS calls: after recover $((n - 1 - whole)) times back on bochs-drm, $whole time(s) passed through whole (killed after its journal record was deleted); then ran to the end ($(( $(date +%s) - start )) s)"
      return 0
    fi
    [ "$rc" = 137 ] || { echo "kill point $n: exit $rc, wanted 137 (SIGKILL)"; return 1; }
    if [ "$state" = "vfio-pci 1 $alone " ]; then  # complete: only the journal's last call can be left
      whole=$((whole + 1)); [ "$whole" = 1 ] || { echo "passed through whole after kill point $n, more than once"; return 1; }
      vg destroy --vm pt02 >/dev/null || return 1
      state="$(driver $alone) $(virsh dumpxml --inactive pt02 | grep -c "bus='0x41'") $(records)"
    fi
    expect_eq "bochs-drm 0 " "$state" "after kill point $n and recover: driver, hostdevs in pt02, records" || return 1
    expect_eq "" "$(cat $pci/$alone/driver_override | sed 's/(null)//')" "driver_override after kill point $n" || return 1
  done
  echo "passthrough never completed in 60 kill points"; return 1
}
check "passthrough killed at every OS call: after recover, the original driver (never a half-bound device)" sweep

cleanup() {
  for d in pt01 pt02; do vg destroy --vm $d >/dev/null 2>&1; virsh destroy $d >/dev/null 2>&1; virsh undefine $d >/dev/null 2>&1; done
  expect_eq "$original" "$(all_drivers)" "every driver as at the start" || return 1
  "$VGPUCTL" uninstall-hook >/dev/null && stop_libvirtd
}
check "clean up: domains gone, every driver as at the start, hook uninstalled" cleanup
finish
