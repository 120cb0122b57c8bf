#!/bin/bash
# Issue 9, vgpud on the real kernel: it starts auto vGPUs at start, serves metrics, and when the mtty driver is
# reloaded (rmmod + insmod: the parent unregisters, then registers again with a MDEV_STATE=registered uevent) it
# re-creates the parent's auto vGPUs by itself; a second vgpud is refused (exit 5); SIGTERM stops it (exit 0).
# mdevctl's own udev rule (60-mdevctl.rules) would also start auto mdev definitions when the parent appears, so
# this scenario masks it in the VM's overlay (/etc/udev/rules.d/60-mdevctl.rules -> /dev/null): what comes back
# is vgpud's work, and its log names each vGPU it started.
. "$(dirname "$0")/lib.sh"
VGPUD="$(dirname "$VGPUCTL")/vgpud"; [ -x "$VGPUD" ] || VGPUD=/usr/sbin/vgpud   # a build, or the package
PORT=9477
LOG=/tmp/vgpud.log
clear_definitions() { find /etc/mdevctl.d -mindepth 1 -maxdepth 1 ! -name scripts.d -exec rm -rf {} +; }
metrics() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics"; }
# The value of one sample line, e.g. metric 'vgpu_free_instances{gpu="mtty",parent="mtty",type="mtty-2"}'.
metric() { metrics | awk -v k="$1" '$1 == k { print $2 + 0 }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
wait_for() {  # wait_for SECONDS command...
  local limit=$1; shift
  local out; out=$(wait_until "$limit" "$*" "$LOG" "$@") || { printf '%s\n' "$out"; return 1; }
}
both_exist() { [ -e "/sys/bus/mdev/devices/$A" ] && [ -e "/sys/bus/mdev/devices/$B" ]; }

remove_all_mdevs
clear_definitions; rm -rf /etc/vgpuctl /var/lib/vgpuctl
# The VM has no network but loopback, which nothing has brought up: the metrics endpoint needs it.
ip link set lo up 2>/dev/null || busybox ip link set lo up
mkdir -p /etc/udev/rules.d
ln -sfn /dev/null /etc/udev/rules.d/60-mdevctl.rules
udevadm control --reload

A=$(vg define --type mtty-2 --parent mtty) && B=$(vg define --type mtty-2 --parent mtty) || echo "define failed"
# Checks run in subshells, which cannot wait for the parent's children: a wrapper records vgpud's exit status.
rm -f /tmp/vgpud.pid /tmp/vgpud.rc
( "$VGPUD" --listen "127.0.0.1:$PORT" --reconcile-interval 3600 --metrics-interval 2 2>"$LOG" &
  echo $! > /tmp/vgpud.pid; rc=0; wait $! || rc=$?; echo $rc > /tmp/vgpud.rc ) &
wait_until 10 "vgpud's wrapper to record its pid" - test -s /tmp/vgpud.pid
PID=$(cat /tmp/vgpud.pid)

started_at_start() {
  wait_for 90 both_exist || { echo "not both running: $(ls /sys/bus/mdev/devices)"; cat "$LOG"; return 1; }
  wait_for 30 metrics || { echo "no metrics endpoint"; cat "$LOG"; return 1; }
}
check "vgpud starts both auto mtty-2 vGPUs at start and serves http://127.0.0.1:$PORT/metrics" started_at_start

metrics_match() {  # free instances and vGPU counts for mtty as sysfs says
  local free; free=$(avail mtty mtty-2)
  expect_eq "$free" "$(metric 'vgpu_free_instances{gpu="mtty",parent="mtty",type="mtty-2"}')" "free mtty-2 instances" &&
    expect_eq 2 "$(metric 'vgpu_vgpus{gpu="mtty",parent="mtty",type="mtty-2"}')" "mtty-2 vGPUs"
}
first_metrics() {
  wait_for 20 metrics_match || { metrics_match; metrics | grep -E 'mtty|vgpud_'; return 1; }
  echo "note: $(metrics | grep -F 'vgpu_free_instances{gpu="mtty",parent="mtty",type="mtty-2"}')"
}
check "metrics: free mtty-2 instances on mtty equal available_instances (10), 2 mtty-2 vGPUs" first_metrics

mtty_ko="$VMTIER_OUT/samples-$(uname -r)/mtty.ko"
reload() {
  [ -f "$mtty_ko" ] || { echo "no $mtty_ko"; return 1; }
  remove_all_mdevs
  rmmod mtty || { echo "rmmod mtty failed"; return 1; }
  wait_for 20 sh -c "! curl -sf --max-time 5 http://127.0.0.1:$PORT/metrics | grep -q 'parent=\"mtty\"'" \
    || { echo "metrics still show mtty after rmmod"; metrics | grep mtty; return 1; }
  local t0 t1; t0=$(now)
  insmod "$mtty_ko" || { echo "insmod failed"; return 1; }
  wait_for 60 both_exist || { echo "vgpud did not re-create both within 60 s"; tail -20 "$LOG"; return 1; }
  t1=$(now)
  echo "note: insmod -> both auto vGPUs back in $(elapsed "$t0" "$t1") s"
  grep -q "started $A" "$LOG" && grep -q "started $B" "$LOG" || { echo "vgpud's log does not name both:"; cat "$LOG"; return 1; }
  grep -q "parent mtty appeared" "$LOG" || { echo "no udev trigger in the log"; cat "$LOG"; return 1; }
}
check "rmmod mtty (after removing its mdevs), insmod mtty.ko: vgpud re-creates both auto vGPUs (mdevctl's rule masked)" reload

after_reload() {
  wait_for 20 metrics_match || { metrics_match; metrics | grep -E 'mtty|vgpud_'; return 1; }
  local events attempts; events=$(metric vgpud_udev_events_total) attempts=$(metric vgpud_autostart_attempts_total)
  [ "${events:-0}" -ge 2 ] && [ "${attempts:-0}" -ge 1 ] || { echo "udev events $events, autostart attempts $attempts"; return 1; }
  echo "note: udev events handled $events, autostart attempts $attempts, failures $(metric vgpud_autostart_failures_total)"
}
check "metrics after the reload: the mtty parent is back with its new counts; udev events and auto-start attempts counted" after_reload

# The same reload with mdevctl's rule back in place, to show the two do not fight: mdevctl's rule
# (start-parent-mdevs on MDEV_STATE=registered) and vgpud may both try to start the definitions in /etc/mdevctl.d;
# whoever comes second finds them running. Both come back exactly once and vgpud records no failure; the note
# says how many vgpud started. (In this VM the rule fires on MDEV_STATE=registered but its RUN starts nothing,
# while `mdevctl start-parent-mdevs mtty` by hand does, so vgpud starts both here too.) Definitions only vgpuctl
# knows (vendor-specific VFIO, /var/lib/vgpuctl) are vgpud's alone.
with_mdevctl_rule() {
  rm -f /etc/udev/rules.d/60-mdevctl.rules; udevadm control --reload
  local before after t0 t1
  before=$(grep -c "\] started " "$LOG")
  remove_all_mdevs
  rmmod mtty || { echo "rmmod mtty failed"; return 1; }
  t0=$(now)
  insmod "$mtty_ko" || { echo "insmod failed"; return 1; }
  wait_for 60 both_exist || { echo "not back within 60 s"; tail -20 "$LOG"; return 1; }
  t1=$(now)
  wait_for 20 metrics_match || { metrics_match; return 1; }
  expect_eq 2 "$(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/devices | wc -l)" "mtty-2 vGPUs (no duplicate)" || return 1
  expect_eq 0 "$(metric vgpud_autostart_failures_total)" "vgpud's auto-start failures" || { tail -20 "$LOG"; return 1; }
  after=$(grep -c "\] started " "$LOG")
  echo "note: with mdevctl's rule active both were back in $(elapsed "$t0" "$t1") s; vgpud started $((after - before)) of them"
}
check "with mdevctl's udev rule active, the same reload brings both back once, without an auto-start failure" with_mdevctl_rule

second_refused() {
  local err; err=$(expect_exit 5 "$VGPUD" --listen 127.0.0.1:9478) || return 1
  echo "$err" | grep -q "another vgpud is running on this host (pid $PID)" || { echo "$err"; return 1; }
}
check "a second vgpud is refused with exit 5 naming the first one's pid" second_refused

sigterm() {
  kill -TERM "$PID"
  wait_for 60 test -s /tmp/vgpud.rc || { echo "still running 60 s after SIGTERM"; tail -5 "$LOG"; return 1; }
  expect_eq 0 "$(cat /tmp/vgpud.rc)" "vgpud's exit status after SIGTERM" || { tail -5 "$LOG"; return 1; }
  tail -1 "$LOG" | grep -q "stopped" || { echo "last log line: $(tail -1 "$LOG")"; return 1; }
  ! curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics" >/dev/null || { echo "still serving"; return 1; }
  both_exist || { echo "stopping vgpud must not touch the vGPUs"; return 1; }
}
check "SIGTERM: exit 0, 'stopped' logged, endpoint closed, vGPUs left running" sigterm

kill "$PID" 2>/dev/null; wait
remove_all_mdevs; clear_definitions
rm -f /etc/udev/rules.d/60-mdevctl.rules; udevadm control --reload
finish
