#!/bin/bash
# Issue 21, "Faults".
# (a) libvirtd is killed with SIGKILL while M domains with domain-lifetime vGPUs start at once, together with the
#     hooks it runs (as 'systemctl kill -s KILL libvirtd' kills every process of the unit; QEMU would survive it,
#     none is running yet), once a first vGPU exists; then it is restarted. Seen so far: libvirtd, restarted,
#     finds the status files of the starts it never finished and runs their release hook, which removes the
#     domain-lifetime vGPUs of those domains itself. What it cannot know about is the drift: a vGPU of a shut-off
#     domain (a hook that created it after that release, or one libvirt had no status file for), a vGPU no domain
#     names, and the journal record of a hook killed in the middle of its plan. That set is computed from the
#     host after the restart; 'reconcile --dry-run' must name each (exit 2), one 'reconcile --prune' repairs it
#     without touching running domains, and the next dry run is clean (exit 0). Where the set is empty the dry run
#     must be clean at once (and the notes say so).
# (b) vgpud through 50 rmmod/insmod cycles of the sample drivers (mtty, mdpy, mbochs) with auto definitions on each:
#     every definition is back after each cycle, each started exactly once per cycle (vgpud's log), never more vGPUs
#     than definitions, no auto-start failure, and vgpud's resident memory flat (first and last reported).
. "$(dirname "$0")/lib.sh"
export LIBVIRT_DEFAULT_URI=qemu:///system
W=/tmp/faults
M=8
CYCLES=${FAULTS_CYCLES:-50}
SAMPLES=$(dirname "$(ls "$VMTIER_OUT"/samples-*/mtty.ko 2>/dev/null | head -1)")
names() { local i; for i in $(seq -w 1 "$2"); do echo "$1$i"; done; }
clear_definitions() { find /etc/mdevctl.d -mindepth 1 -maxdepth 1 ! -name scripts.d -exec rm -rf {} +; }

remove_all_mdevs
clear_definitions
rm -rf /var/lib/vgpuctl/journal/* "$W"; mkdir -p "$W"
stop_libvirtd >/dev/null 2>&1
# As in load.sh: hooks queued on the host lock may wait longer than their default 10 s under TCG.
mkdir -p /etc/vgpuctl && printf '[hook]\nlock_wait = 300\n' > /etc/vgpuctl/vgpuctl.conf

# ---------------------------------------------------------------------------------------------------------------- (a)
check "install-hook, then libvirtd starts (it reads its hooks at start)" sh -c "$VGPUCTL install-hook >/dev/null && test -L /etc/libvirt/hooks/qemu.d/vgpuctl-hook"
check "libvirtd answers" start_libvirtd
DOMAINS=$(names fault $M)

setup() {
  local d
  for d in $DOMAINS; do
    define_guest "$d" || return 1
    vg create --type mtty-1 --vm "$d" --lifetime domain > "$W/$d.uuid" || return 1
  done
  [ "$(mdev_count)" = 0 ] || { echo "vGPUs created before any start"; return 1; }
}
check "$M shut-off domains, each with a domain-lifetime mtty-1 vGPU" setup

rc_all() { local d; for d in $DOMAINS; do [ -s "$W/$d.rc" ] || return 1; done; }
libvirtd_pid() { cat /run/libvirtd.pid 2>/dev/null; }
no_hook_runs() { ! pgrep -x vgpuctl-hook >/dev/null; }
kill_during_starts() {
  local d pid; pid=$(libvirtd_pid)
  [ -n "$pid" ] && kill -0 "$pid" || { echo "no libvirtd pid"; return 1; }
  for d in $DOMAINS; do
    ( rc=0; timeout 300 virsh start "$d" > "$W/$d.out" 2>&1 </dev/null || rc=$?; echo "$rc" > "$W/$d.rc" ) &
  done
  # Killed once the first vGPU exists: hooks have run and others wait for the host lock; no domain runs yet.
  wait_until 180 "the first vGPU of a starting domain" - eval '[ "$(mdev_count)" -ge 1 ]' || return 1
  local running_before hooks; running_before=$(virsh list --state-running --name 2>/dev/null | grep -c '^fault')
  hooks=$(pgrep -x vgpuctl-hook | tr '\n' ' ')
  # shellcheck disable=SC2086
  kill -9 "$pid" $hooks
  echo "note: libvirtd (pid $pid) and $(echo $hooks | wc -w) running hook(s) killed with $(mdev_count) vGPU(s) created and $running_before domain(s) running"
  wait_until 310 "every 'virsh start' to return" - rc_all || return 1
  wait
  wait_until 300 "the hooks libvirtd had started to finish" - no_hook_runs || return 1
  local failed=0; for d in $DOMAINS; do [ "$(cat "$W/$d.rc")" = 0 ] || failed=$((failed + 1)); done
  echo "note: $failed of $M 'virsh start' failed (connection lost); $(mdev_count) vGPU(s), $(ls /var/lib/vgpuctl/journal | wc -l) journal record(s) left"
}
check "kill -9 libvirtd during $M parallel 'virsh start'" kill_during_starts

settled() {  # every domain running or shut off, and libvirtd answers
  local d state
  for d in $DOMAINS; do
    state=$(virsh domstate "$d" 2>/dev/null) || return 1
    case "$state" in running|"shut off") ;; *) echo "$d: $state"; return 1 ;; esac
  done
}
restart() {
  start_libvirtd || return 1
  wait_until 60 "every domain to settle (running or shut off)" - settled || return 1
  local d; for d in $DOMAINS; do echo "$d $(virsh domstate "$d" | tr ' ' _) $(cat "$W/$d.uuid")"; done > "$W/states"
  echo "note: after the restart: $(grep -c ' running ' "$W/states") running, $(grep -c ' shut_off ' "$W/states") shut off; $(mdev_count) vGPU(s), $(ls /var/lib/vgpuctl/journal | wc -l) journal record(s)"
}
check "libvirtd restarted (start_libvirtd); every domain settles running or shut off" restart

# The expected drift: vGPUs of shut-off domains (their release never ran) and vGPUs no fault domain names.
expected_drift() {
  local d state uuid dev
  while read -r d state uuid; do
    [ "$state" = shut_off ] && [ -e "/sys/bus/mdev/devices/$uuid" ] && echo "$uuid"
  done < "$W/states"
  for dev in /sys/bus/mdev/devices/*; do
    [ -e "$dev" ] || continue
    grep -q " $(basename "$dev")\$" "$W/states" || basename "$dev"
  done
  ls /var/lib/vgpuctl/journal 2>/dev/null | sed 's/^/journal:/'
}
running_ok() {  # every running domain's vGPU exists and its QEMU holds it
  local d state uuid pid group
  while read -r d state uuid; do
    [ "$state" = running ] || continue
    [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "$d runs but $uuid is gone"; return 1; }
    pid=$(cat "/run/libvirt/qemu/$d.pid") group=$(basename "$(readlink "/sys/bus/mdev/devices/$uuid/iommu_group")")
    holds_file "$pid" "/dev/vfio/$group" || { echo "$d's QEMU ($pid) does not hold /dev/vfio/$group"; return 1; }
  done < "$W/states"
}
dry_names_drift() {
  expected_drift | sort -u > "$W/drift"
  local rc=0; vg reconcile --dry-run > "$W/dry" 2>&1 || rc=$?
  if [ ! -s "$W/drift" ]; then
    [ "$rc" = 0 ] || { echo "no drift expected, but reconcile --dry-run exit $rc"; cat "$W/dry"; return 1; }
    echo "note: no drift: libvirtd's restart released every vGPU of the interrupted starts itself (release hook); dry run: $(cat "$W/dry")"
    return 0
  fi
  [ "$rc" = 2 ] || { echo "reconcile --dry-run exit $rc, wanted 2"; cat "$W/dry"; return 1; }
  local uuid bad=0
  # A journal record is named by what it did, not its file name: the dry run must say it would recover.
  while read -r uuid; do
    case "$uuid" in journal:*) grep -q "would recover" "$W/dry" || { echo "the dry run does not recover $uuid"; bad=1; } ;;
      *) grep -q "$uuid" "$W/dry" || { echo "the dry run does not name $uuid"; bad=1; } ;; esac
  done < "$W/drift"
  # ... and nothing a running domain uses.
  while read -r d state uuid; do [ "$state" = running ] && grep -q "$uuid" "$W/dry" && { echo "names running $d's $uuid"; bad=1; }; done < "$W/states"
  [ $bad = 0 ] || { cat "$W/dry"; return 1; }
  echo "note: expected drift: $(wc -l < "$W/drift") vGPU(s) ($(tr '\n' ' ' < "$W/drift"))"
  sed 's/^/note: dry run: /' "$W/dry"
}
check "reconcile --dry-run names the drift (exit 2): each vGPU of a shut-off domain and each unnamed one" dry_names_drift

prune() {
  vg reconcile --prune > "$W/prune" 2>&1 || { echo "reconcile --prune failed:"; cat "$W/prune"; return 1; }
  local uuid; while read -r uuid; do
    case "$uuid" in journal:*) continue ;; esac
    [ ! -e "/sys/bus/mdev/devices/$uuid" ] || { echo "$uuid still exists"; cat "$W/prune"; return 1; }
  done < "$W/drift"
  [ -z "$(ls /var/lib/vgpuctl/journal 2>/dev/null)" ] || { echo "journal records left: $(ls /var/lib/vgpuctl/journal)"; return 1; }
  running_ok || return 1
  [ "$(mdev_count)" = "$(grep -c ' running ' "$W/states")" ] || { echo "$(mdev_count) vGPUs for $(grep -c ' running ' "$W/states") running domains"; return 1; }
  sed 's/^/note: prune: /' "$W/prune"
}
check "one reconcile --prune repairs it; running domains keep their vGPUs" prune
clean() {
  local out rc=0; out=$(vg reconcile --dry-run 2>&1) || rc=$?
  [ "$rc" = 0 ] || { echo "exit $rc: $out"; return 1; }
  rc=0; out=$(vg reconcile --dry-run --prune 2>&1) || rc=$?
  [ "$rc" = 0 ] || { echo "--prune: exit $rc: $out"; return 1; }
  echo "note: next dry run: $out"
}
check "the next reconcile --dry-run (and --dry-run --prune) is clean: exit 0" clean

a_cleanup() {
  local d
  for d in $(virsh list --state-running --name | grep '^fault'); do virsh destroy "$d" >/dev/null || return 1; done
  wait_until 60 "the running domains' vGPUs to be released" - eval '[ "$(mdev_count)" = 0 ]' || { ls /sys/bus/mdev/devices; return 1; }
  for d in $DOMAINS; do virsh undefine "$d" >/dev/null || return 1; rm -f "/tmp/$d.xml" "/tmp/$d-console.log"; done
  rm -f /etc/vgpuctl/vgpuctl.conf
  "$VGPUCTL" uninstall-hook >/dev/null && stop_libvirtd
}
check "clean up (a): domains destroyed and undefined, vGPUs released, hook uninstalled, libvirtd stopped" a_cleanup

# ---------------------------------------------------------------------------------------------------------------- (b)
VGPUD="$(dirname "$VGPUCTL")/vgpud"; [ -x "$VGPUD" ] || VGPUD=/usr/sbin/vgpud
PORT=9477
LOG=/tmp/faults-vgpud.log
MODULES="mtty mdpy mbochs"
metric() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk -v k="$1" '$1 == k { print $2 + 0 }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
started_lines() { grep -c "\] started " "$LOG"; }
rm -rf /etc/vgpuctl /var/lib/vgpuctl
ip link set lo up 2>/dev/null || busybox ip link set lo up
# mdevctl's own udev rule would also start the definitions when a parent appears: masked, so what comes back is
# vgpud's work (vgpud.sh shows the two do not fight).
mkdir -p /etc/udev/rules.d
ln -sfn /dev/null /etc/udev/rules.d/60-mdevctl.rules
udevadm control --reload

defs() {
  vg define --type mtty-2 --parent mtty > "$W/defs" && vg define --type mtty-2 --parent mtty >> "$W/defs" &&
    vg define --type mdpy-vga --parent mdpy >> "$W/defs" && vg define --type mbochs-small --parent mbochs >> "$W/defs" || return 1
  [ "$(grep -c . "$W/defs")" = 4 ]
}
check "four auto definitions: two mtty-2 on mtty, mdpy-vga on mdpy, mbochs-small on mbochs" defs
NDEFS=$(grep -c . "$W/defs" 2>/dev/null || echo 4)
all_back() { local u; for u in $(cat "$W/defs"); do [ -e "/sys/bus/mdev/devices/$u" ] || return 1; done; }

rm -f /tmp/vgpud.pid /tmp/vgpud.rc
( "$VGPUD" --listen "127.0.0.1:$PORT" --reconcile-interval 3600 --metrics-interval 2 2>"$LOG" &
  echo $! > /tmp/vgpud.pid; rc=0; wait $! || rc=$?; echo $rc > /tmp/vgpud.rc ) >/dev/null 2>&1 </dev/null &
wait_until 10 "vgpud's wrapper to record its pid" - test -s /tmp/vgpud.pid
PID=$(cat /tmp/vgpud.pid 2>/dev/null)
check "vgpud starts all $NDEFS auto definitions" wait_until 90 "all auto vGPUs" "$LOG" all_back
sleep 1
BASE=$(started_lines) BASE_LINES=$(wc -l < "$LOG")   # what vgpud logged for its start; the cycles count from here

# One cycle: remove the vGPUs (rmmod needs that), unload and load the three drivers, wait (deadline) for every
# definition to be back. Checked at the start of the next cycle too, so a late duplicate start would be seen.
cycle() {  # cycle N
  local n=$1 m
  local want=$(( BASE + NDEFS * (n - 1) ))   # "started" lines so far: the start's, plus one per definition per cycle
  [ "$(started_lines)" = "$want" ] || { echo "cycle $n: vgpud logged $(started_lines) starts, wanted $want"; return 1; }
  remove_all_mdevs
  wait_until 20 "the vGPUs to be removed" - eval '[ "$(mdev_count)" = 0 ]' || return 1
  for m in $MODULES; do rmmod "$m" || { echo "cycle $n: rmmod $m failed"; return 1; }; done
  for m in $MODULES; do insmod "$SAMPLES/$m.ko" || { echo "cycle $n: insmod $m failed"; return 1; }; done
  wait_until 60 "cycle $n: every auto definition back" "$LOG" all_back || return 1
  [ "$(mdev_count)" = "$NDEFS" ] || { echo "cycle $n: $(mdev_count) vGPUs for $NDEFS definitions"; return 1; }
}
cycles() {
  local n t0; t0=$(date +%s)
  for n in $(seq "$CYCLES"); do
    cycle "$n" || return 1
    [ "$n" = 1 ] && rss_kib "$PID" > "$W/rss-first"
    [ $((n % 10)) = 0 ] && echo "$(rss_kib "$PID")" >> "$W/rss-trend"
  done
  wait_until 20 "vgpud's last starts to be logged" - eval '[ "$(started_lines)" -ge '"$((BASE + NDEFS * CYCLES))"' ]'
  sleep 2   # a late duplicate would show up here
  rss_kib "$PID" > "$W/rss-last"
  echo "note: $CYCLES cycles of rmmod/insmod $MODULES in $(( $(date +%s) - t0 )) s"
}
check "vgpud through $CYCLES rmmod/insmod cycles of $MODULES: every auto definition back after each (deadline 60 s)" cycles

no_duplicates() {
  local u n bad=0
  expect_eq "$((BASE + NDEFS * CYCLES))" "$(started_lines)" "vgpud's 'started' lines: $BASE at its start + $NDEFS definitions x $CYCLES cycles" || bad=1
  for u in $(cat "$W/defs"); do
    n=$(tail -n +$((BASE_LINES + 1)) "$LOG" | grep -c "\] started $u")
    [ "$n" = "$CYCLES" ] || { echo "$u started $n times in $CYCLES cycles"; bad=1; }
  done
  expect_eq "$NDEFS" "$(mdev_count)" "vGPUs now" || bad=1
  expect_eq 0 "$(metric vgpud_autostart_failures_total)" "vgpud_autostart_failures_total" || { grep -i "fail\|warn" "$LOG" | tail -5; bad=1; }
  [ $bad = 0 ] || return 1
  echo "note: $(( $(started_lines) - BASE )) starts logged in $CYCLES cycles = $NDEFS per cycle; udev events $(metric vgpud_udev_events_total), auto-start attempts $(metric vgpud_autostart_attempts_total), failures 0"
}
check "no duplicate creates: each definition started exactly once per cycle, vGPUs == definitions, no failure" no_duplicates

# Flat: the last within 2 MiB of the first. A leak of what one cycle handles (four uevent records, an inventory of
# a few parents, a log line: each well under 10 KiB) would add 49 x that at least; 2 MiB leaves room for the
# allocator's arenas and NIO's buffers settling, which cost tens to hundreds of KiB once, not per cycle.
rss_flat() {
  local first last; first=$(cat "$W/rss-first") last=$(cat "$W/rss-last")
  echo "note: vgpud VmRSS after cycle 1: $first KiB, after cycle $CYCLES: $last KiB (every 10 cycles: $(tr '\n' ' ' < "$W/rss-trend")KiB)"
  [ "$last" -le $(( first + 2048 )) ] || { echo "grew by $(( last - first )) KiB"; return 1; }
}
check "vgpud's resident memory is flat over the cycles (last <= first + 2 MiB)" rss_flat

b_cleanup() {
  kill -TERM "$PID"
  wait_until 60 "vgpud to exit after SIGTERM" "$LOG" test -s /tmp/vgpud.rc || return 1
  remove_all_mdevs; clear_definitions
  rm -f /etc/udev/rules.d/60-mdevctl.rules; udevadm control --reload
  [ "$(mdev_count)" = 0 ] && [ -z "$(ls /etc/mdevctl.d | grep -v '^scripts.d$')" ]
}
check "clean up (b): vgpud stopped, vGPUs removed, definitions cleared, mdevctl's rule back" b_cleanup
rm -rf "$W"
finish
