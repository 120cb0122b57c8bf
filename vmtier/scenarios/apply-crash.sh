#!/usr/bin/env bash
# vgpuctl apply killed with SIGKILL at every one of its OS calls in turn (VGPUCTL_KILL_AT=N), each followed by
# `vgpuctl recover`: afterwards the host is exactly the old layout (same UUIDs, byte-identical definitions) or
# exactly the new one (its types and counts, every vGPU defined, the kept vGPU kept), never a mix. The layout is
# small (a removal and two creates over two GPUs, in two lanes) to keep the sweep short under TCG.
set -u
. "$(dirname "$0")/lib.sh"

conf=/etc/vgpuctl/vgpuctl.conf
mkdir -p /etc/vgpuctl
saved_conf=$(mktemp); cp "$conf" "$saved_conf" 2>/dev/null || rm -f "$saved_conf"
remove_all_mdevs
find /etc/mdevctl.d -mindepth 2 -type f -not -path '*/scripts.d/*' -delete
rm -rf /var/lib/vgpuctl/journal

cat > "$conf" <<CONF
[[layouts.old.entries]]
gpus = ["mtty"]
vgpus = { "mtty-2" = 1 }

[[layouts.old.entries]]
gpus = ["mdpy"]
vgpus = { "mdpy-vga" = 1 }

[[layouts.new.entries]]
gpus = ["mtty"]
vgpus = { "mtty-1" = 1 }

[[layouts.new.entries]]
gpus = ["mdpy"]
vgpus = { "mdpy-vga" = 1, "mdpy-xga" = 1 }
CONF

mdevs() { ls /sys/bus/mdev/devices | sort | xargs; }
definitions() { find /etc/mdevctl.d -mindepth 2 -type f -not -path '*/scripts.d/*' -printf '%f\n' | sort | xargs; }
# "PARENT TYPE" of every vGPU, sorted.
layout_of() {
  for d in /sys/bus/mdev/devices/*; do
    [ -e "$d" ] && echo "$(basename "$(dirname "$(readlink -f "$d")")") $(basename "$(readlink -f "$d/mdev_type")")"
  done | sort | paste -sd, -
}
exact_state() { mdevs; find /etc/mdevctl.d -mindepth 2 -type f -not -path '*/scripts.d/*' | sort | xargs -r md5sum; }

check "the old layout applies" sh -c "$VGPUCTL apply old >/dev/null 2>&1"
new_layout="mdpy mdpy-vga,mdpy mdpy-xga,mtty mtty-1"

# Prints "old" or "new", or why the host is neither.
which_layout() {
  [ -z "$(ls -A /var/lib/vgpuctl/journal 2>/dev/null)" ] || { echo "journal not empty: $(ls -A /var/lib/vgpuctl/journal)"; return 1; }
  if [ "$(exact_state)" = "$old_state" ]; then echo old; return 0; fi
  local got; got=$(layout_of)
  [ "$got" = "$new_layout" ] || { echo "mixed: vGPUs [$got], definitions [$(definitions)]"; return 1; }
  [ "$(mdevs)" = "$(definitions)" ] || { echo "new layout but vGPUs [$(mdevs)] and definitions [$(definitions)] differ"; return 1; }
  [ -e "/sys/bus/mdev/devices/$kept" ] || { echo "new layout, but the kept mdpy-vga $kept was replaced"; return 1; }
  echo new
}

reset_old() { vg apply old; }
snapshot_old() {
  old_state=$(exact_state)
  kept=$(ls /sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/devices)
}
sweep() { apply_kill_sweep 120 reset_old snapshot_old "$VGPUCTL" apply new; }
check "apply killed at every OS call: after recover, exactly the old layout or exactly the new one" sweep

cleanup() {
  remove_all_mdevs
  find /etc/mdevctl.d -mindepth 2 -type f -not -path '*/scripts.d/*' -delete
  if [ -f "${saved_conf:-/nonexistent}" ]; then mv "$saved_conf" "$conf"; else rm -f "$conf"; fi
  expect_eq 0 "$(mdev_count)"
}
check "clean up: vGPUs, definitions, config" cleanup
finish
