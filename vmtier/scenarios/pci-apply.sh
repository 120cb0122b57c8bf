#!/bin/bash
# Issue 24 on the lab's vendor-specific VFIO (nvlab on igb VFs; see pci-vendor-vfio): `vgpuctl apply` of a layout
# naming two PFs with no VFs enabled. --dry-run says which VFs it would enable and changes nothing; apply enables
# them (the config's sriov_numvfs for one PF, every VF for the other), waits for nvlab to bind them, types them and
# defines the vGPUs; a second apply is a no-op; with a domain running on one vGPU, a layout that would take it is
# refused (exit 5) naming both, and a changed one keeps it; vgpud brings the layout back after nvlab is reloaded;
# then apply killed with SIGKILL at every one of its OS calls in turn, each followed by `vgpuctl recover`: exactly
# the old layout or exactly the new one, never a mix.
. "$(dirname "$0")/lib.sh"
pci=/sys/bus/pci/devices
pf0=0000:45:00.0 pf1=0000:82:00.0   # igb PFs with 7 VFs each at most
nvlab_ko="$VMTIER_OUT/modules-$(uname -r)/nvlab/nvlab.ko"
definitions=/var/lib/vgpuctl/definitions
vfs_of() { for v in "$pci/$1"/virtfn*; do [ -e "$v" ] && basename "$(readlink "$v")"; done | sort; }
vf_count() { vfs_of "$1" | wc -l; }
cur() { cat "$pci/$1/nvidia/current_vgpu_type" 2>/dev/null || echo none; }
typed() { local c; c=$(cur "$1"); [ "$c" != 0 ] && [ "$c" != none ]; }
config() { mkdir -p /etc/vgpuctl && cat > /etc/vgpuctl/vgpuctl.conf; }
# "PF TYPE" of every typed VF, sorted, one line.
vf_layout() {
  local pf v
  for pf in $pf0 $pf1; do for v in $(vfs_of $pf); do typed "$v" && echo "$pf $(cur "$v")"; done; done | sort | paste -sd, -
}
typed_vfs() { local v; for v in $(vfs_of $pf0) $(vfs_of $pf1); do typed "$v" && echo "$v"; done | sort | xargs; }
defined_vfs() { find "$definitions" -mindepth 2 -maxdepth 2 -type f 2>/dev/null | awk -F/ '{ print $(NF - 1) }' | sort | xargs; }
exact_state() { local v; for v in $(vfs_of $pf0) $(vfs_of $pf1); do printf '%s=%s ' "$v" "$(cur "$v")"; done; echo; find "$definitions" -type f 2>/dev/null | sort | xargs -r md5sum; }
release_all() { local v; for v in $(vfs_of $pf0) $(vfs_of $pf1); do [ -e "$pci/$v/nvidia" ] && echo 0 > "$pci/$v/nvidia/current_vgpu_type"; done; true; }
layout() {  # layout PF0_ENTRY PF1_ENTRY [PF1_SRIOV_NUMVFS]: the config with layout "lab"
  config <<CONF
layout = "lab"
[gpus."$pf1"]
sriov_numvfs = ${3:-4}
[[layouts.lab.entries]]
gpus = ["$pf0"]
vgpus = { $1 }
[[layouts.lab.entries]]
gpus = ["$pf1"]
vgpus = { $2 }
CONF
}

setup() {
  remove_all_mdevs
  rm -rf /etc/vgpuctl /var/lib/vgpuctl /run/vgpuctl
  release_all
  echo 0 > "$pci/$pf0/sriov_numvfs" && echo 0 > "$pci/$pf1/sriov_numvfs" || return 1
  # The vendor driver binding VFs as they appear, as NVIDIA's does.
  if grep -q '^nvlab ' /proc/modules; then rmmod nvlab || return 1; fi
  insmod "$nvlab_ko" bind_vfs=1 || return 1
  expect_eq "0 0" "$(vf_count $pf0) $(vf_count $pf1)" "VFs before apply"
}
check "no VFs on either PF; nvlab loaded binding VFs as they appear" setup

layout '"nvidia-1428" = 2' '"nvidia-1426" = 3'
dry_run() {
  local out rc=0; out=$(vg apply --dry-run) || rc=$?
  expect_eq 2 "$rc" "dry run exit status" || return 1
  printf '%s\n' "$out" | grep -q "PF $pf0: would: enable 7 VFs" && printf '%s\n' "$out" | grep -q "PF $pf1: would: enable 4 VFs" \
    || { echo "$out"; return 1; }
  vg apply --dry-run --json | jq -e --arg a $pf0 --arg b $pf1 \
    '.changed == true and .vfs_enabled == [{"pf": $a, "count": 7}, {"pf": $b, "count": 4}]' >/dev/null || return 1
  expect_eq "0 0" "$(vf_count $pf0) $(vf_count $pf1)" "VFs after a dry run"
}
check "apply --dry-run: which VFs it would enable (all 7 on $pf0, the config's 4 on $pf1), exit 2, nothing enabled" dry_run

first_apply() {
  local err; err=$(mktemp)
  vg apply --gpu-wait 60 2>"$err" >/dev/null || { cat "$err"; return 1; }
  grep -q "enabled 7 VFs on $pf0" "$err" && grep -q "enabled 4 VFs on $pf1" "$err" || { cat "$err"; return 1; }
  expect_eq "7 4" "$(vf_count $pf0) $(vf_count $pf1)" "VFs" || return 1
  expect_eq "$pf0 1428,$pf0 1428,$pf1 1426,$pf1 1426,$pf1 1426" "$(vf_layout)" "typed VFs" || return 1
  expect_eq "$(typed_vfs)" "$(defined_vfs)" "a definition for each typed VF" || return 1
  for f in $(find "$definitions" -type f); do jq -e '.start == "auto"' "$f" >/dev/null || { echo "$f is not start auto"; return 1; }; done
}
check "apply enables the VFs, waits for nvlab to bind them, types 2 + 3 VFs and defines each (start auto)" first_apply

second_apply() {
  local before out; before=$(exact_state)
  out=$(vg apply) || return 1
  printf '%s\n' "$out" | grep -q 'nothing to do' || { echo "$out"; return 1; }
  vg apply --dry-run >/dev/null || { echo "dry run on a matching host: exit $?"; return 1; }
  expect_eq "$before" "$(exact_state)" "nothing changed"
}
check "a second apply does nothing and exits 0 (and --dry-run exits 0)" second_apply

check "start libvirtd" start_libvirtd
named=$(vg list --json | jq -r '[.[] | select(.type == "nvidia-1426") | .uuid] | sort | .[0]')
named_vf=$(vg list --json | jq -r --arg u "$named" '.[] | select(.uuid == $u) | .pci_address')
running_domain() {
  define_guest apl01 && vg attach "$named" --vm apl01 --config >/dev/null || return 1
  virsh -c qemu:///system start apl01 >/dev/null || return 1
  guest_sees_vf apl01
}
check "domain apl01 runs with $pf1's vGPU $named (attach --config, virsh start; the nested guest sees the VF)" running_domain

refused_for_domain() {
  layout '"nvidia-1428" = 2' '"nvidia-1428" = 1'
  local before err; before=$(exact_state)
  err=$(expect_exit 5 "$VGPUCTL" apply) || { echo "$err"; return 1; }
  printf '%s\n' "$err" | grep -q 'domain apl01 uses it' && printf '%s\n' "$err" | grep -q "$named" || { echo "$err"; return 1; }
  expect_eq "$before" "$(exact_state)" "a refused layout changes nothing"
}
check "a layout retyping $pf1 would take apl01's vGPU: refused (exit 5) naming the domain and the vGPU; nothing changed" refused_for_domain

kept_for_domain() {
  layout '"nvidia-1428" = 2' '"nvidia-1426" = 1'
  local out; out=$(vg apply --json) || { echo "$out"; return 1; }
  expect_eq "$pf0 1428,$pf0 1428,$pf1 1426" "$(vf_layout)" "typed VFs" || return 1
  expect_eq 1426 "$(cur "$named_vf")" "apl01's VF $named_vf" || return 1
  printf '%s\n' "$out" | jq -e --arg u "$named" --arg pf $pf1 '.changed == true and .vfs_enabled == []
    and ([.gpus[] | select(.gpu == $pf) | .kept] == [[$u]]) and ([.gpus[] | select(.gpu == $pf) | .removed | length] == [2])' >/dev/null \
    || { echo "$out"; return 1; }
  expect_eq "$(typed_vfs)" "$(defined_vfs)" "a definition for each typed VF" || return 1
  expect_eq running "$(virsh -c qemu:///system domstate apl01)" "apl01"
}
check "3 → 1 of nvidia-1426 on $pf1 keeps running apl01's vGPU (same UUID) and removes the other two with their definitions" kept_for_domain
virsh -c qemu:///system destroy apl01 >/dev/null; virsh -c qemu:///system undefine apl01 >/dev/null
stop_libvirtd >/dev/null

# vgpud keeps layout "lab" (the config selects it): after the vendor driver is reloaded, it starts the defined
# vGPUs again (same UUIDs) and creates what the layout, grown meanwhile, adds.
VGPUD="$(dirname "$VGPUCTL")/vgpud"; [ -x "$VGPUD" ] || VGPUD=/usr/sbin/vgpud
uuids() { vg list --json 2>/dev/null | jq -r '[.[].uuid] | sort | join(" ")'; }
vgpud_reapplies() {
  local before t0; before=$(uuids)
  ip link set lo up 2>/dev/null
  "$VGPUD" --listen 127.0.0.1:9480 --reconcile-interval 3600 > /dev/null 2> /tmp/vgpud-apply.log & echo $! > /tmp/vgpud-apply.pid
  wait_until 60 "vgpud to find layout lab matching at start" /tmp/vgpud-apply.log grep -q "layout lab: the host matches" /tmp/vgpud-apply.log || return 1
  layout '"nvidia-1428" = 2' '"nvidia-1426" = 2'
  t0=$(date +%s.%N)
  timeout 30 rmmod nvlab || { echo "rmmod nvlab failed"; return 1; }
  expect_eq "" "$(typed_vfs)" "typed VFs once nvlab is gone" || return 1
  timeout 30 insmod "$nvlab_ko" bind_vfs=1 || { echo "could not load $nvlab_ko bind_vfs=1"; return 1; }
  wait_until 90 "vgpud to bring layout lab back, grown" /tmp/vgpud-apply.log \
    eval "[ \"\$(vf_layout)\" = \"$pf0 1428,$pf0 1428,$pf1 1426,$pf1 1426\" ]" || return 1
  echo "note: insmod nvlab -> layout lab back and grown in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  local u; for u in $before; do uuids | grep -qw "$u" || { echo "defined vGPU $u did not come back with its UUID"; return 1; }; done
  wait_until 30 "vgpud to log the created vGPU" /tmp/vgpud-apply.log grep -q "layout lab: GPU $pf1: 1 created, 0 removed, 1 kept" /tmp/vgpud-apply.log || return 1
  expect_eq "$(typed_vfs)" "$(defined_vfs)" "a definition for each typed VF"
}
check "vgpud: after rmmod/insmod nvlab the 3 defined vGPUs come back (same UUIDs) and the grown layout's fourth is created" vgpud_reapplies
[ -s /tmp/vgpud-apply.pid ] && kill "$(cat /tmp/vgpud-apply.pid)" 2>/dev/null && rm -f /tmp/vgpud-apply.pid

# The sweep: old = 2 × H200X-70C on pf0 and 1 × 35C on pf1; new = 2 × 35C on pf0 (a retype: both 70C go first)
# and 2 × 35C on pf1 (the one kept).
which_layout() {
  [ -z "$(ls -A /var/lib/vgpuctl/journal 2>/dev/null)" ] || { echo "journal not empty: $(ls -A /var/lib/vgpuctl/journal)"; return 1; }
  if [ "$(exact_state)" = "$old_state" ]; then echo old; return 0; fi
  local got; got=$(vf_layout)
  [ "$got" = "$pf0 1426,$pf0 1426,$pf1 1426,$pf1 1426" ] || { echo "mixed: [$got], definitions on [$(defined_vfs)]"; return 1; }
  [ "$(typed_vfs)" = "$(defined_vfs)" ] || { echo "new layout, but typed [$(typed_vfs)] and defined [$(defined_vfs)] differ"; return 1; }
  [ "$(cur "$kept_vf")" = 1426 ] || { echo "new layout, but the kept VF $kept_vf was released"; return 1; }
  echo new
}
reset_old() {
  layout '"nvidia-1428" = 2' '"nvidia-1426" = 1'
  vg apply || return 1
  layout '"nvidia-1426" = 2' '"nvidia-1426" = 2'
}
snapshot_old() {
  old_state=$(exact_state)
  kept_vf=$(typed_vfs | tr ' ' '\n' | grep -Fx -f <(vfs_of $pf1))
}
sweep() { apply_kill_sweep 150 reset_old snapshot_old "$VGPUCTL" apply; }
check "apply on VFs killed at every OS call: after recover, exactly the old layout or exactly the new one" sweep

finish_scenario() {
  [ -s /tmp/vgpud-apply.pid ] && kill "$(cat /tmp/vgpud-apply.pid)" 2>/dev/null
  virsh -c qemu:///system destroy apl01 >/dev/null 2>&1; virsh -c qemu:///system undefine apl01 >/dev/null 2>&1
  stop_libvirtd >/dev/null 2>&1
  release_all
  rm -rf /etc/vgpuctl /var/lib/vgpuctl /run/vgpuctl
  echo 0 > "$pci/$pf0/sriov_numvfs"; echo 0 > "$pci/$pf1/sriov_numvfs"
  # Back to the boot's nvlab (binding nothing by itself) for any later scenario.
  grep -q '^nvlab ' /proc/modules && rmmod nvlab; insmod "$nvlab_ko"
  finish
}
finish_scenario
