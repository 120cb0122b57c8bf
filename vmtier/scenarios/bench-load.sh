#!/bin/bash
# Issue 21, "Load": 32 domains with domain-lifetime vGPUs started at once ('virsh start' in parallel) on parents that
# hold them all: every domain gets its own vGPU (32 distinct UUIDs, each existing and held by that domain's QEMU
# alone), and none is left behind once all are destroyed in parallel. Then a type limited to K instances: of N > K
# domains started at once exactly K run and the others fail with vgpuctl's no-room message in virsh's error.
# Figures (note lines): the hook's wait for the host lock, p50 and p99, over the concurrent prepares and releases;
# the hook logs "host lock waited N ms" to syslog, which a busybox syslogd collects here (the VM has none).
. "$(dirname "$0")/lib.sh"
export LIBVIRT_DEFAULT_URI=qemu:///system
W=/tmp/load          # per-domain files: NAME.uuid, NAME.out / NAME.rc of the parallel virsh runs
SYSLOG=/tmp/load-syslog
MTTY_KO=$(ls "$VMTIER_OUT"/samples-*/mtty.ko 2>/dev/null | head -1)
COUNT=32
names() { local i; for i in $(seq -w 1 "$2"); do echo "$1$i"; done; }

remove_all_mdevs
rm -rf /var/lib/vgpuctl/journal/* /etc/mdevctl.d/mtty* "$W" "$SYSLOG"; mkdir -p "$W"
stop_libvirtd >/dev/null 2>&1
# The hooks queue on the host lock, each holding it while it reads the host and creates or removes a vGPU: seconds
# per hook under TCG (debug build, two shared cores), so the last of 32 waits far beyond the hook's default 10 s.
# The config file's [hook] lock_wait (what reaches a hook libvirtd runs; its environment is cleared) allows 300 s.
mkdir -p /etc/vgpuctl && printf '[hook]\nlock_wait = 300\n' > /etc/vgpuctl/vgpuctl.conf
# syslog for the hook's lines: started here, in the scenario's own shell, away from the log's pipe.
syslog_pid=""
if [ ! -S /dev/log ]; then
  busybox syslogd -n -O "$SYSLOG" >/dev/null 2>&1 </dev/null & syslog_pid=$!
fi

two_parents() {
  [ -f "$MTTY_KO" ] || { echo "no mtty.ko under $VMTIER_OUT"; return 1; }
  rmmod mtty && insmod "$MTTY_KO" extra_parents=1 || return 1
  local total=$(( $(avail mtty mtty-1) + $(avail mtty1 mtty-1) ))
  [ "$total" -ge "$COUNT" ] || { echo "only $total mtty-1 instances"; return 1; }
  echo "note: mtty-1 instances: $(avail mtty mtty-1) on mtty + $(avail mtty1 mtty-1) on mtty1 = $total for $COUNT domains"
}
check "mtty reloaded with a second parent (mtty1): mtty-1 has room for $COUNT vGPUs" two_parents
check "syslog collects the hook's lines (/dev/log)" wait_until 10 "/dev/log" - test -S /dev/log
check "install-hook, then libvirtd starts (it reads its hooks at start)" sh -c "$VGPUCTL install-hook >/dev/null && test -L /etc/libvirt/hooks/qemu.d/vgpuctl-hook"
check "libvirtd answers" start_libvirtd

define_with_vgpu() {  # define_with_vgpu TYPE NAME...: shut-off domains, each with a domain-lifetime vGPU of TYPE
  local type=$1 d before; shift
  before=$(mdev_count)
  # Four at a time (each create waits up to 60 s for the host lock): under TCG one define + create takes seconds.
  local lane; rm -f "$W"/lane-*.done "$W/define-failed"
  for lane in 0 1 2 3; do
    ( i=0; for d in "$@"; do
        [ $((i % 4)) = "$lane" ] && { define_guest "$d" && timeout 120 "$VGPUCTL" create --type "$type" --vm "$d" --lifetime domain > "$W/$d.uuid" || echo "$d" >> "$W/define-failed"; }
        i=$((i + 1))
      done; touch "$W/lane-$lane.done" ) &
  done
  wait_until 600 "the four lanes of define + create --vm to end" - eval '[ "$(ls "$W"/lane-*.done | wc -l)" = 4 ]' || return 1
  wait
  [ ! -s "$W/define-failed" ] || { echo "define or create --vm failed for: $(cat "$W/define-failed")"; return 1; }
  for d in "$@"; do [ -s "$W/$d.uuid" ] || { echo "no UUID for $d"; return 1; }; done
  [ "$(mdev_count)" = "$before" ] || { echo "--lifetime domain created vGPUs now: $(ls /sys/bus/mdev/devices)"; return 1; }
}
t0=$(date +%s)
check "$COUNT shut-off domains, each given a domain-lifetime mtty-1 vGPU (nothing created yet)" define_with_vgpu mtty-1 $(names load $COUNT)
echo "    # defining them took $(( $(date +%s) - t0 )) s"

# parallel VERB NAME...: 'virsh VERB' of every NAME at once (background jobs, each under a hard limit); waits (deadline)
# until each has recorded its exit status in $W/NAME.rc, its output in $W/NAME.out.
rc_all() { local d; for d in "$@"; do [ -s "$W/$d.rc" ] || return 1; done; }
parallel() {
  local verb=$1 d; shift
  for d in "$@"; do rm -f "$W/$d.rc" "$W/$d.out"; done
  for d in "$@"; do
    ( rc=0; timeout 600 virsh "$verb" "$d" > "$W/$d.out" 2>&1 </dev/null || rc=$?; echo "$rc" > "$W/$d.rc" ) &
  done
  wait_until 620 "all $# 'virsh $verb' to return" - rc_all "$@" || return 1
  wait
}
# The distinct errors of the failed runs, each with how many and which domains.
failures() {
  local d; for d in "$@"; do [ "$(cat "$W/$d.rc")" = 0 ] || echo "$(grep -v '^$' "$W/$d.out" | tail -1 | cut -c1-400)|$d"; done |
    awk -F'|' '{ n[$1]++; who[$1] = who[$1] " " $2 } END { for (m in n) print n[m] "x (" who[m] " ): " m }' | head -10
}
ok_count() { local d n=0; for d in "$@"; do [ "$(cat "$W/$d.rc")" = 0 ] && n=$((n + 1)); done; echo "$n"; }
live_uuid() { virsh dumpxml "$1" | sed -n "s/.*<address uuid='\([0-9a-f-]*\)'.*/\1/p"; }
group_of() { basename "$(readlink "/sys/bus/mdev/devices/$1/iommu_group")"; }
vfio_groups_of() { ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's|.* -> /dev/vfio/\([0-9][0-9]*\)$|\1|p'; }
# The p50 and p99 (nearest rank) of the hook's lock waits for OPERATION of the domains NAME*, from syslog.
lock_waits() {  # lock_waits PREFIX OPERATION
  sed -n "s/.*domain \($1[0-9]*\) $2: host lock waited \([0-9]*\) ms.*/\2/p" "$SYSLOG" | sort -n
}
percentiles() {  # stdin: sorted numbers
  awk '{ v[NR] = $1 } END { if (NR == 0) exit 1
    p50 = v[int((NR * 50 + 99) / 100)]; p99 = v[int((NR * 99 + 99) / 100)]
    printf "n=%d p50=%d ms p99=%d ms max=%d ms", NR, p50, p99, v[NR] }'
}

start_all() {
  local t0 t1; t0=$(date +%s.%N)
  parallel start "$@" || return 1
  local n; n=$(ok_count "$@")
  [ "$n" = "$#" ] || { echo "$n of $# started; the others' errors:"; failures "$@"; return 1; }
  wait_until 120 "all $# domains to run" - eval '[ "$(virsh list --state-running --name | grep -c "^load")" = '"$#"' ]' || return 1
  t1=$(date +%s.%N)
  echo "note: $# 'virsh start' in parallel: all running after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
}
check "virsh start of all $COUNT at once: every one succeeds and runs" start_all $(names load $COUNT)

own_vgpus() {
  local d uuid pid group bad=0 uuids="" groups=""
  for d in "$@"; do
    uuid=$(live_uuid "$d")
    [ "$(printf '%s\n' "$uuid" | grep -c .)" = 1 ] || { echo "$d: live XML names '$uuid' (want one vGPU)"; bad=1; continue; }
    [ "$uuid" = "$(cat "$W/$d.uuid")" ] || { echo "$d runs $uuid, its request was $(cat "$W/$d.uuid")"; bad=1; }
    [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "$d: $uuid not in /sys/bus/mdev/devices"; bad=1; continue; }
    pid=$(cat "/run/libvirt/qemu/$d.pid") && group=$(group_of "$uuid") || { bad=1; continue; }
    vfio_groups_of "$pid" | grep -qx "$group" || { echo "$d: its QEMU (pid $pid) does not hold /dev/vfio/$group"; bad=1; }
    uuids="$uuids$uuid"$'\n' groups="$groups$group"$'\n'
  done
  local distinct; distinct=$(printf '%s' "$uuids" | sort -u | grep -c .)
  [ "$distinct" = "$#" ] || { echo "$distinct distinct UUIDs for $# domains"; bad=1; }
  [ "$(mdev_count)" = "$#" ] || { echo "$(mdev_count) vGPUs exist for $# domains"; bad=1; }
  # None shared: each group is held by exactly one QEMU of these domains.
  local held; held=$(for d in "$@"; do vfio_groups_of "$(cat "/run/libvirt/qemu/$d.pid")"; done | grep -v '^$' | sort)
  [ "$(printf '%s\n' "$held" | uniq -d | grep -c .)" = 0 ] || { echo "groups held by more than one QEMU: $(printf '%s\n' "$held" | uniq -d | tr '\n' ' ')"; bad=1; }
  [ "$(printf '%s\n' "$held" | grep -c .)" = "$#" ] || { echo "$(printf '%s\n' "$held" | grep -c .) VFIO groups held for $# domains"; bad=1; }
  [ $bad = 0 ] && echo "note: $(printf '%s' "$uuids" | sort -u | grep -c .) distinct vGPUs: $(ls /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/devices | wc -l) on mtty, $(ls /sys/class/mdev_bus/mtty1/mdev_supported_types/mtty-1/devices | wc -l) on mtty1"
  [ $bad = 0 ]
}
check "each domain runs its own vGPU: $COUNT distinct UUIDs, each in /sys/bus/mdev/devices, held by that domain's QEMU only" own_vgpus $(names load $COUNT)

prepare_waits() {
  wait_until 10 "$COUNT prepare lines in syslog" - eval '[ "$(lock_waits load prepare | grep -c .)" -ge '"$COUNT"' ]' || { tail -5 "$SYSLOG"; return 1; }
  echo "note: hook's wait for the host lock at prepare ($COUNT concurrent starts): $(lock_waits load prepare | percentiles)"
}
check "the hook logged its lock wait for every prepare: p50/p99" prepare_waits

destroy_all() {
  parallel destroy "$@" || return 1
  local n; n=$(ok_count "$@")
  [ "$n" = "$#" ] || { echo "$n of $# destroyed; the others' errors:"; failures "$@"; return 1; }
  wait_until 60 "every vGPU to leave /sys/bus/mdev/devices" - eval '[ "$(mdev_count)" = 0 ]' || { ls /sys/bus/mdev/devices; return 1; }
  [ -z "$(virsh list --state-running --name | grep .)" ] || { echo "still running: $(virsh list --name)"; return 1; }
  [ -z "$(ls /var/lib/vgpuctl/journal/ 2>/dev/null)" ] || { echo "journal left: $(ls /var/lib/vgpuctl/journal/)"; return 1; }
}
check "virsh destroy of all $COUNT at once: none left behind (/sys/bus/mdev/devices empty, no journal record)" destroy_all $(names load $COUNT)

release_waits() {
  wait_until 10 "$COUNT release lines in syslog" - eval '[ "$(lock_waits load release | grep -c .)" -ge '"$COUNT"' ]' || { tail -5 "$SYSLOG"; return 1; }
  echo "note: hook's wait for the host lock at release ($COUNT concurrent destroys): $(lock_waits load release | percentiles)"
}
check "the hook logged its lock wait for every release: p50/p99" release_waits

# --- A type limited to K instances. mtty back to its one parent (24 ports), part of which a stand-in for other
# users takes (mdevs created by hand): mtty-2 then has K free instances, and N = K + 4 domains start at once.
FILLERS=6
limit() {
  rmmod mtty && insmod "$MTTY_KO" || return 1
  [ ! -e /sys/class/mdev_bus/mtty1 ] || { echo "mtty1 still there"; return 1; }
  local i; for i in $(seq "$FILLERS"); do cat /proc/sys/kernel/random/uuid > /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create || return 1; done
  local k; k=$(avail mtty mtty-2)
  echo "$k" > "$W/K"
  [ "$k" -ge 1 ] && [ "$k" -lt "$COUNT" ] || { echo "K=$k"; return 1; }
  echo "note: K = $k: mtty-2 available_instances on mtty (its only parent) with $FILLERS of its 12 taken by hand"
}
check "mtty back to one parent; mtty-2 limited to K free instances" limit
K=$(cat "$W/K" 2>/dev/null || echo 6); N=$((K + 4))
check "$N more shut-off domains with a domain-lifetime mtty-2 vGPU each" define_with_vgpu mtty-2 $(names cap "$N")

exactly_k() {
  parallel start "$@" || return 1
  local n; n=$(ok_count "$@")
  local running; running=$(virsh list --state-running --name | grep -c '^cap')
  [ "$n" = "$K" ] && [ "$running" = "$K" ] || { echo "$n 'virsh start' succeeded, $running run; wanted K=$K"; for d in "$@"; do sed "s/^/$d: /" "$W/$d.out"; done | head -30; return 1; }
  local d bad=0 message=""
  for d in "$@"; do
    [ "$(cat "$W/$d.rc")" = 0 ] && continue
    grep -q "no room for a mtty-2 vGPU on this host" "$W/$d.out" || { echo "$d failed without vgpuctl's message:"; cat "$W/$d.out"; bad=1; }
    [ "$(virsh domstate "$d")" = "shut off" ] || { echo "$d is $(virsh domstate "$d")"; bad=1; }
    [ -e "/sys/bus/mdev/devices/$(cat "$W/$d.uuid")" ] && { echo "$d's vGPU exists though it did not start"; bad=1; }
    message=$(grep -o "vgpuctl: no room.*" "$W/$d.out" | head -1)
  done
  [ "$(mdev_count)" = $((FILLERS + K)) ] || { echo "$(mdev_count) vGPUs, wanted $FILLERS by hand + $K"; bad=1; }
  [ $bad = 0 ] || return 1
  echo "note: of $N started at once $K ran and $((N - K)) failed; virsh's error carries: $message"
  echo "note: hook's wait for the host lock at prepare ($N concurrent starts, the $K that ran): $(lock_waits cap prepare | percentiles)"
}
check "virsh start of N=$N at once with K=$K free: exactly K run, the others fail with vgpuctl's no-room message" exactly_k $(names cap "$N")

cap_cleanup() {
  local running; running=$(virsh list --state-running --name | grep '^cap')
  # shellcheck disable=SC2086
  [ -z "$running" ] || parallel destroy $running || return 1
  wait_until 60 "only the $FILLERS vGPUs made by hand to remain" - eval '[ "$(mdev_count)" = '"$FILLERS"' ]' || { ls /sys/bus/mdev/devices; return 1; }
}
check "virsh destroy of the K that ran: their vGPUs released, the ones made by hand untouched" cap_cleanup

cleanup() {
  local d
  for d in $(names load $COUNT) $(names cap "$N"); do virsh undefine "$d" >/dev/null 2>&1; rm -f "/tmp/$d.xml" "/tmp/$d-console.log"; done
  [ -z "$(virsh list --all --name | grep -E '^(load|cap)')" ] || { echo "domains left: $(virsh list --all --name)"; return 1; }
  "$VGPUCTL" uninstall-hook >/dev/null && stop_libvirtd || return 1
  remove_all_mdevs; rm -f /etc/vgpuctl/vgpuctl.conf
  [ "$(mdev_count)" = 0 ] && [ ! -e /sys/class/mdev_bus/mtty1 ]
}
check "clean up: domains undefined, hook uninstalled, libvirtd stopped, no vGPU left, mtty with one parent" cleanup
[ -n "$syslog_pid" ] && { kill "$syslog_pid" 2>/dev/null; wait "$syslog_pid" 2>/dev/null; rm -f /dev/log; }
rm -rf "$W"
finish
