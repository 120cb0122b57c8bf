#!/bin/bash
# vgpud keeps the config's selected layout (layout = "NAME"): it applies it at start, and again when a GPU
# appears (rmmod + insmod mtty: the parent registers again), after starting that parent's auto vGPUs, so the
# defined ones come back with their UUIDs and only what the layout adds is created. A layout the host cannot take
# is refused in the log with its message and counted (vgpud_layout_apply_failures_total), never silently.
# mdevctl's udev rule is masked as in vgpud.sh, so what comes back is vgpud's work.
. "$(dirname "$0")/lib.sh"
VGPUD="$(dirname "$VGPUCTL")/vgpud"; [ -x "$VGPUD" ] || VGPUD=/usr/sbin/vgpud   # a build, or the package
PORT=9479
LOG=/tmp/vgpud-layout.log
conf=/etc/vgpuctl/vgpuctl.conf
mtty_ko="$VMTIER_OUT/samples-$(uname -r)/mtty.ko"
clear_definitions() { find /etc/mdevctl.d -mindepth 1 -maxdepth 1 ! -name scripts.d -exec rm -rf {} +; }
metric() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk -v k="$1" '$1 == k { print $2 + 0 }'; }
count_of() { ls "/sys/class/mdev_bus/$1/mdev_supported_types/$2/devices" 2>/dev/null | wc -l; }
mtty_uuids() { ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/devices 2>/dev/null | sort | xargs; }
wait_for() {  # wait_for SECONDS command...
  local limit=$1; shift
  local out; out=$(wait_until "$limit" "$*" "$LOG" "$@") || { printf '%s\n' "$out"; return 1; }
}
write_layout() {  # write_layout MTTY2_COUNT
  cat > "$conf" <<CONF
layout = "lab"

[[layouts.lab.entries]]
gpus = ["mtty"]
vgpus = { "mtty-2" = $1 }

[[layouts.lab.entries]]
gpus = ["mdpy"]
vgpus = { "mdpy-vga" = 1 }
CONF
}
reload_mtty() {
  for d in /sys/class/mdev_bus/mtty/mdev_supported_types/*/devices/*; do [ -e "$d" ] && echo 1 > "$d/remove"; done
  rmmod mtty && insmod "$mtty_ko"
}

remove_all_mdevs
clear_definitions; rm -rf /var/lib/vgpuctl
saved_conf=$(mktemp); cp "$conf" "$saved_conf" 2>/dev/null || rm -f "$saved_conf"
mkdir -p /etc/vgpuctl
ip link set lo up 2>/dev/null || busybox ip link set lo up
mkdir -p /etc/udev/rules.d
ln -sfn /dev/null /etc/udev/rules.d/60-mdevctl.rules
udevadm control --reload
write_layout 2

rm -f /tmp/vgpud-layout.pid /tmp/vgpud-layout.rc
( "$VGPUD" --listen "127.0.0.1:$PORT" --reconcile-interval 3600 --metrics-interval 2 2>"$LOG" &
  echo $! > /tmp/vgpud-layout.pid; rc=0; wait $! || rc=$?; echo $rc > /tmp/vgpud-layout.rc ) &
wait_until 10 "vgpud's wrapper to record its pid" - test -s /tmp/vgpud-layout.pid
PID=$(cat /tmp/vgpud-layout.pid)

at_start() {
  wait_for 90 sh -c "[ \$(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/devices | wc -l) = 2 ] && [ -n \"\$(ls /sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/devices)\" ]" || return 1
  grep -q "layout lab: GPU mtty: 2 created, 0 removed, 0 kept; trigger: vgpud started" "$LOG" || { cat "$LOG"; return 1; }
  wait_for 30 sh -c "curl -sf --max-time 5 http://127.0.0.1:$PORT/metrics | grep -q '^vgpud_layout_changes_total 1'" || return 1
}
check "vgpud applies layout lab at start (2 mtty-2 on mtty, 1 mdpy-vga), logs it, counts it" at_start

before=$(mtty_uuids)
reapplied() {
  write_layout 3
  local t0; t0=$(date +%s.%N)
  reload_mtty || { echo "reload of mtty failed"; return 1; }
  wait_for 60 sh -c "[ \$(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/devices | wc -l) = 3 ]" || return 1
  echo "note: insmod -> layout re-applied (3 mtty-2) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
  for u in $before; do [ -e "/sys/bus/mdev/devices/$u" ] || { echo "auto vGPU $u did not come back (same UUID)"; return 1; }; done
  grep -q "layout lab: GPU mtty: 1 created, 0 removed, 2 kept; trigger: mtty appeared" "$LOG" || { tail -20 "$LOG"; return 1; }
  expect_eq 1 "$(count_of mdpy mdpy-vga)" "mdpy untouched"
}
check "rmmod/insmod mtty with the layout now asking 3: the 2 defined come back (same UUIDs), vgpud creates the third" reapplied

refusal_logged() {
  write_layout 13
  local failures; failures=$(metric vgpud_layout_apply_failures_total)
  reload_mtty || { echo "reload of mtty failed"; return 1; }
  wait_for 60 grep -q "layout not applied (trigger: mtty appeared" "$LOG" || return 1
  grep "layout not applied" "$LOG" | grep -q "mtty" || { grep "layout not applied" "$LOG"; return 1; }
  wait_for 20 sh -c "[ \"\$(curl -sf --max-time 5 http://127.0.0.1:$PORT/metrics | awk '\$1 == \"vgpud_layout_apply_failures_total\" { print \$2 + 0 }')\" -gt ${failures:-0} ]" || return 1
  expect_eq 3 "$(count_of mtty mtty-2)" "the 3 auto vGPUs came back; nothing else changed"
}
check "a layout the GPU cannot hold (13 mtty-2): refused in vgpud's log naming mtty, counted in vgpud_layout_apply_failures_total" refusal_logged

stop() {
  kill -TERM "$PID"
  wait_for 60 test -s /tmp/vgpud-layout.rc || return 1
  expect_eq 0 "$(cat /tmp/vgpud-layout.rc)" "vgpud's exit status after SIGTERM"
}
check "SIGTERM stops vgpud (exit 0)" stop

kill "$PID" 2>/dev/null; wait
remove_all_mdevs; clear_definitions; rm -rf /var/lib/vgpuctl
if [ -f "${saved_conf:-/nonexistent}" ]; then mv "$saved_conf" "$conf"; else rm -f "$conf"; fi
rm -f /etc/udev/rules.d/60-mdevctl.rules; udevadm control --reload
finish
