#!/usr/bin/env bash
# vgpuctl apply on the real kernel: a declared layout over mtty (patched for extra parents: mtty, mtty1, mtty2),
# mdpy and mbochs; created and defined (/etc/mdevctl.d), a second apply is a no-op, --dry-run exits 2 on a changed
# layout, the change is applied minimally (kept vGPUs keep their UUIDs); with a domain running on one vGPU, a
# changed layout keeps that vGPU and changes the others, and a layout that would take it is refused (exit 5)
# naming the domain and the vGPU, with nothing changed.
set -u
. "$(dirname "$0")/lib.sh"

conf=/etc/vgpuctl/vgpuctl.conf
mkdir -p /etc/vgpuctl
saved_conf=$(mktemp); cp "$conf" "$saved_conf" 2>/dev/null || rm -f "$saved_conf"
mtty_ko=$(ls "$VMTIER_OUT"/samples-*/mtty.ko)

check "mtty with two extra parents" sh -c "rmmod mtty && insmod '$mtty_ko' extra_parents=2 && [ -e /sys/class/mdev_bus/mtty2 ]"
remove_all_mdevs

write_layout() {  # write_layout MTTY2_TYPE MTTY2_COUNT [MBOCHS_COUNT]
  cat > "$conf" <<CONF
layout = "lab"

[[layouts.lab.entries]]
gpus = ["mtty", "mtty1"]
vgpus = { "mtty-2" = 2 }

[[layouts.lab.entries]]
gpus = ["mtty2"]
vgpus = { "$1" = $2 }

[[layouts.lab.entries]]
gpus = ["mdpy"]
vgpus = { "mdpy-vga" = 1, "mdpy-xga" = 1 }

[[layouts.lab.entries]]
gpus = ["mbochs"]
vgpus = { "mbochs-small" = ${3:-2} }
CONF
}
count_of() {  # count_of PARENT TYPE: vGPUs of TYPE on PARENT in sysfs
  ls "/sys/class/mdev_bus/$1/mdev_supported_types/$2/devices" 2>/dev/null | wc -l
}
defined_count() { find /etc/mdevctl.d -mindepth 2 -maxdepth 2 -type f -not -path '*/scripts.d/*' | wc -l; }
state() { ls /sys/bus/mdev/devices | sort; find /etc/mdevctl.d -type f | sort | xargs -r md5sum; }

write_layout mtty-1 3
first_apply() {
  local err; err=$(mktemp)
  vg apply 2>"$err" >/dev/null || { cat "$err"; return 1; }
  expect_eq 5 "$(grep -c '^vgpuctl: apply: GPU ' "$err")" "one progress line per GPU" || return 1
  expect_eq 2 "$(count_of mtty mtty-2)" && expect_eq 2 "$(count_of mtty1 mtty-2)" && expect_eq 3 "$(count_of mtty2 mtty-1)" \
    && expect_eq 1 "$(count_of mdpy mdpy-vga)" && expect_eq 1 "$(count_of mdpy mdpy-xga)" && expect_eq 2 "$(count_of mbochs mbochs-small)" \
    && expect_eq 11 "$(mdev_count)" && expect_eq 11 "$(defined_count)" || return 1
  for f in $(find /etc/mdevctl.d -mindepth 2 -type f -not -path '*/scripts.d/*'); do
    jq -e '.start == "auto"' "$f" >/dev/null || { echo "$f is not start auto"; return 1; }
  done
  mdevctl list -d | grep -c auto | grep -qx 11 || { echo "mdevctl does not list 11 auto definitions"; mdevctl list -d; return 1; }
}
check "apply creates the layout: counts in sysfs, 11 auto definitions mdevctl lists, a progress line per GPU" first_apply

second_apply() {
  local before out; before=$(state)
  out=$(vg apply) || return 1
  printf '%s\n' "$out" | grep -q 'nothing to do' || { echo "$out"; return 1; }
  expect_eq "$before" "$(state)" "nothing changed"
}
check "a second apply does nothing and exits 0" second_apply
check "apply --dry-run on a matching host exits 0" sh -c "$VGPUCTL apply --dry-run >/dev/null"
check "apply --json on a matching host says \"changed\": false" sh -c "$VGPUCTL apply --json | jq -e '.changed == false' >/dev/null"

kept_before=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/devices | sort)
write_layout mtty-2 1
dry_run_changed() {
  local before rc=0; before=$(state)
  vg apply --dry-run >/tmp/apply-dry.txt || rc=$?
  expect_eq 2 "$rc" "dry run exit status" || return 1
  grep -q 'would: remove vGPU' /tmp/apply-dry.txt && grep -q 'would: create mtty-2' /tmp/apply-dry.txt || { cat /tmp/apply-dry.txt; return 1; }
  expect_eq "$before" "$(state)" "a dry run changes nothing"
}
check "changed layout: apply --dry-run prints the plan, exits 2, changes nothing" dry_run_changed

changed_apply() {
  local out; out=$(vg apply --json) || return 1
  expect_eq 1 "$(count_of mtty2 mtty-2)" && expect_eq 0 "$(count_of mtty2 mtty-1)" && expect_eq 9 "$(mdev_count)" \
    && expect_eq 9 "$(defined_count)" || return 1
  expect_eq "$kept_before" "$(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/devices | sort)" "mtty's vGPUs keep their UUIDs" || return 1
  printf '%s\n' "$out" | jq -e '.changed == true and ([.gpus[] | select(.gpu == "mtty2") | .removed | length] == [3])
    and ([.gpus[] | select(.gpu == "mtty") | .steps | length] == [0])' >/dev/null || { echo "$out"; return 1; }
}
check "changed layout applied minimally: 3 removed and 1 created on mtty2, the others untouched (same UUIDs), JSON says so" changed_apply

check "start libvirtd" start_libvirtd
named=$(ls /sys/class/mdev_bus/mtty2/mdev_supported_types/mtty-2/devices)
running_domain() {
  define_guest apply01 || return 1
  vg attach "$named" --vm apply01 --config >/dev/null || { echo "attach --config failed"; return 1; }
  virsh -c qemu:///system start apply01 >/dev/null || return 1
  guest_sees apply01 1
}
check "domain apply01 runs with mtty2's vGPU (virsh start; the guest sees it)" running_domain

refused_for_domain() {
  write_layout mtty-1 2
  local before err; before=$(state)
  err=$(expect_exit 5 "$VGPUCTL" apply) || { echo "$err"; return 1; }
  printf '%s\n' "$err" | grep -q 'domain apply01' && printf '%s\n' "$err" | grep -q "$named" || { echo "$err"; return 1; }
  expect_eq "$before" "$(state)" "a refused layout changes nothing"
}
check "a layout that would take the running domain's vGPU is refused (exit 5) naming the domain and the vGPU; nothing changed" refused_for_domain

kept_while_running() {
  write_layout mtty-2 1 1
  local out; out=$(vg apply --json) || { echo "$out"; return 1; }
  expect_eq 1 "$(count_of mbochs mbochs-small)" && expect_eq "$named" "$(ls /sys/class/mdev_bus/mtty2/mdev_supported_types/mtty-2/devices)" \
    && expect_eq running "$(virsh -c qemu:///system domstate apply01)" && expect_eq 8 "$(mdev_count)" || return 1
  printf '%s\n' "$out" | jq -e --arg u "$named" '.changed == true and ([.gpus[] | select(.gpu == "mtty2") | .kept] == [[$u]])
    and ([.gpus[] | select(.gpu == "mbochs") | .removed | length] == [1])' >/dev/null || { echo "$out"; return 1; }
}
check "a changed layout with apply01 running keeps its vGPU (same UUID, still running) and changes the others" kept_while_running

dm_file=/tmp/vgpu-device-manager.yaml
cat > "$dm_file" <<'YAML'
version: v1
vgpu-configs:
  clear:
    - devices: all
      vgpu-devices: {}
  other:
    - devices: [0]
      vgpu-devices: {}
YAML
from_vgpu_device_manager() {
  local before err; before=$(state)
  err=$(expect_exit 5 "$VGPUCTL" apply --from-vgpu-device-manager "$dm_file" clear) || { echo "$err"; return 1; }
  printf '%s\n' "$err" | grep -q 'domain apply01' && printf '%s\n' "$err" | grep -q "$named" || { echo "$err"; return 1; }
  err=$(expect_exit 2 "$VGPUCTL" apply --from-vgpu-device-manager "$dm_file") || { echo "$err"; return 1; }
  printf '%s\n' "$err" | grep -q 'clear, other' || { echo "no label: $err"; return 1; }
  printf 'version: v2\nvgpu-configs: {}\n' > /tmp/vgpu-device-manager-v2.yaml
  err=$(expect_exit 2 "$VGPUCTL" apply --from-vgpu-device-manager /tmp/vgpu-device-manager-v2.yaml clear) || { echo "$err"; return 1; }
  printf '%s\n' "$err" | grep -q 'vgpu-device-manager-v2.yaml:1' || { echo "bad version: $err"; return 1; }
  expect_eq "$before" "$(state)" "refusals change nothing" || return 1
  virsh -c qemu:///system destroy apply01 >/dev/null && virsh -c qemu:///system undefine apply01 >/dev/null || return 1
  vg apply --from-vgpu-device-manager "$dm_file" clear >/dev/null 2>&1 || { echo "apply of label clear failed"; return 1; }
  expect_eq 0 "$(mdev_count)" "label clear removed every vGPU" && expect_eq 0 "$(defined_count)" "and their definitions"
}
check "apply --from-vgpu-device-manager FILE LABEL (vgpu-layout-import): the running domain's vGPU refused (5), file mistakes named (2), then label 'clear' applied" from_vgpu_device_manager

cleanup() {
  virsh -c qemu:///system destroy apply01 >/dev/null 2>&1
  virsh -c qemu:///system undefine apply01 >/dev/null 2>&1
  stop_libvirtd
  remove_all_mdevs
  find /etc/mdevctl.d -mindepth 2 -type f -not -path '*/scripts.d/*' -delete
  if [ -f "${saved_conf:-/nonexistent}" ]; then mv "$saved_conf" "$conf"; else rm -f "$conf"; fi
  rmmod mtty && insmod "$mtty_ko" && [ ! -e /sys/class/mdev_bus/mtty1 ] && expect_eq 0 "$(mdev_count)"
}
check "clean up: domain, vGPUs, definitions, config, mtty back to one parent" cleanup
finish
