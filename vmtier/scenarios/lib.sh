# Helpers for real-kernel scenarios: each check prints "ok N - name" or "not ok N - name" (TAP), and the
# scenario ends with "N passed, M failed". A check is a command whose exit status decides it.
passed=0 failed=0 finished=0
: "${VGPUCTL:?VGPUCTL must name the vgpuctl binary}"
vg() { "$VGPUCTL" "$@"; }

# A scenario that ends without reaching finish (an exit, a missing tool, an unbound variable under set -u) still
# says so: a "not ok" line naming where it ended, and the summary line that vmtier/run.sh counts.
last_check="none yet"
scenario_ended_early() {  # scenario_ended_early STATUS
  [ "$finished" = 1 ] && return
  failed=$((failed + 1))
  echo "not ok $((passed + failed)) - $(basename "$0" .sh) ended before its last check (exit status $1; last check: $last_check)"
  echo "$passed passed, $failed failed"
}
trap 'scenario_ended_early $?' EXIT

# wait_until SECONDS WHAT LOG COMMAND...: runs COMMAND every 0.5 s until it succeeds (its output is discarded
# until then, and printed when it succeeds). Sized for a loaded two-core machine under TCG. When SECONDS pass,
# it prints what it waited for, its last output and the last lines of LOG ("-": none), and fails.
wait_until() {
  local seconds=$1 what=$2 log=$3; shift 3
  local deadline=$(( $(date +%s) + seconds )) output
  while true; do
    if output=$("$@" 2>&1); then [ -z "$output" ] || printf '%s\n' "$output"; return 0; fi
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.5
  done
  echo "timed out after $seconds s waiting for $what"
  [ -z "$output" ] || printf '  last: %s\n' "$output" | head -5
  if [ "$log" != - ]; then echo "  last lines of $log:"; tail -n 8 "$log" 2>/dev/null | sed 's/^/  | /'; fi
  return 1
}

check() {  # check "name" command...
  local name=$1; shift
  local output
  last_check=$name
  if output=$("$@" 2>&1); then
    passed=$((passed + 1)); echo "ok $((passed + failed)) - $name"
    # Measurements a check reports on success ("note: ...") are kept in the log.
    printf '%s\n' "$output" | grep '^note:' | sed 's/^/    # /' || true
  else
    failed=$((failed + 1)); echo "not ok $((passed + failed)) - $name"
    printf '%s\n' "$output" | sed 's/^/    # /' | head -40
  fi
}

expect_eq() {  # expect_eq expected actual [what]
  [ "$1" = "$2" ] || { echo "expected: $1"; echo "actual:   $2"; echo "${3:-}"; return 1; }
}

# Runs a command that must fail with the given exit status and a message on stderr.
expect_exit() {  # expect_exit status command...
  local want=$1; shift
  local err rc=0
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || { echo "exit $rc, wanted $want: $err"; return 1; }
  [ -n "$err" ] || { echo "no message on stderr"; return 1; }
  echo "$err"
}

avail() { cat "/sys/class/mdev_bus/$1/mdev_supported_types/$2/available_instances"; }
mdev_count() { ls /sys/bus/mdev/devices | wc -l; }
# hold_group GROUP [SECONDS]: a background process holds /dev/vfio/GROUP open (its pid in $holder_pid), as a QEMU
# started by hand would; returns once the kernel shows the file open.
holds_file() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q " -> $2\$"; }
hold_group() {
  sleep "${2:-300}" 9<>"/dev/vfio/$1" & holder_pid=$!
  wait_until 10 "process $holder_pid to hold /dev/vfio/$1" - holds_file "$holder_pid" "/dev/vfio/$1"
}
mdev_gone() { [ ! -e "/sys/bus/mdev/devices/$1" ]; }
wait_mdev_gone() {  # wait_mdev_gone UUID [SECONDS]
  wait_until "${2:-20}" "vGPU $1 to leave /sys/bus/mdev/devices" - mdev_gone "$1"
}
remove_all_mdevs() { for d in /sys/bus/mdev/devices/*; do [ -e "$d" ] && echo 1 > "$d/remove"; done; true; }

libvirtd_answers() { virsh -c qemu:///system version > /dev/null; }
# libvirtd as the tier needs it: no virtlogd (stdio_handler file), root, no namespaces, cgroups or security driver.
start_libvirtd() {
  virsh -c qemu:///system version >/dev/null 2>&1 && return 0
  grep -q '^# vmtier' /etc/libvirt/qemu.conf || cat >> /etc/libvirt/qemu.conf <<CONF
# vmtier
stdio_handler = "file"
user = "root"
group = "root"
namespaces = [ ]
security_driver = "none"
cgroup_controllers = [ ]
CONF
  mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /run/libvirt
  libvirtd -d || return 1
  wait_until 90 "libvirtd to answer on qemu:///system" /var/log/libvirt/libvirtd.log libvirtd_answers
}

# guest_sees NAME N [SECONDS]: the nested guest's last PCI line lists N devices of vendor 0x4348 (mtty).
mtty_count_is() { [ "$(grep -a 'nested-guest: pci-devices' "/tmp/$1-console.log" 2>/dev/null | tail -1 | grep -o 0x4348 | wc -l)" = "$2" ]; }
guest_sees() {
  wait_until "${3:-300}" "guest $1 to report $2 mtty device(s) (vendor 0x4348) on its PCI bus" "/tmp/$1-console.log" mtty_count_is "$1" "$2"
}
# guest_sees_vf NAME [SECONDS]: the nested guest's PCI scan lists the lab's igb VF device ID (0x10ca).
vf_seen() { grep -a 'nested-guest: pci-devices' "/tmp/$1-console.log" 2>/dev/null | tail -1 | grep -q 0x10ca; }
guest_sees_vf() { wait_until "${2:-180}" "guest $1 to report the VF (0x10ca) on its PCI bus" "/tmp/$1-console.log" vf_seen "$1"; }

# Defines a shut-off test domain: the nested guest vmtier/guest/pciscan (a bare multiboot program, direct boot;
# ACPI for hot-plug, which it answers; it reports its PCI devices on its serial console, /tmp/NAME-console.log).
# EXTRA goes inside <domain>.
define_guest() {  # define_guest NAME [EXTRA]
  guest_xml "$1" "${2:-}" > "/tmp/$1.xml"
  virsh -c qemu:///system define "/tmp/$1.xml" >/dev/null
}
guest_xml() {  # guest_xml NAME EXTRA [DEVICES] [CMDLINE-EXTRA] [DOMAIN-ATTRIBUTES] [CONSOLE-SOURCE-ATTRIBUTES]
  cat <<XML
<domain type='qemu'${5:+ $5}>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${VMTIER_OUT:?}/pciscan.elf</kernel>
    <cmdline>console=ttyS0 quiet${4:+ $4}</cmdline></os>
  <features><acpi/></features>
  $2
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/tmp/$1-console.log'${6:+ $6}/></serial>
    <console type='file'><source path='/tmp/$1-console.log'${6:+ $6}/></console>
    ${3:-}
  </devices>
</domain>
XML
}

# Fails if a libvirtd is still there after 30 s: libvirt 11's daemon takes seconds to shut down, and a new one
# started meanwhile exits at once (its pid file, /run/libvirtd.pid, is still locked).
stop_libvirtd() {
  pkill -x libvirtd
  wait_until 60 "libvirtd to exit" - eval '! pgrep -x libvirtd'
}

# --- Live migration between two libvirtd in one kernel (issue 10; recipe: /work/notes/migration-recipe.md) ---
# The destination daemon runs in its own mount namespace with its own /etc/libvirt, /run/libvirt and
# /var/{lib,cache,log}/libvirt (under $LIBVIRT2_ROOT), a distinct host_uuid, and listens on TCP 16510 (no TLS, no
# auth). /run/vgpuctl, /etc/vgpuctl, /etc/mdevctl.d and /var/lib/vgpuctl stay shared: one kernel, one host lock.
LIBVIRT2_URI=qemu+tcp://127.0.0.1:16510/system
LIBVIRT2_ROOT=/tmp/libvirt2
LIBVIRT2_HOST_UUID=2f1c9a6e-5b0d-4c3e-9a7f-0d2b6e8c4a10
virsh2() { virsh -c "$LIBVIRT2_URI" "$@"; }
libvirt2_pid() { cat "$LIBVIRT2_ROOT/run/libvirtd.pid" 2>/dev/null; }
in_libvirt2() { nsenter -t "$(libvirt2_pid)" -m -- "$@"; }  # a command in the destination daemon's mount namespace

start_second_libvirtd() {  # start_second_libvirtd [--hook]: --hook installs vgpuctl's hook in its /etc/libvirt
  virsh2 version >/dev/null 2>&1 && return 0
  start_libvirtd || return 1
  # The first daemon's QEMU capabilities, probed once: copied, they spare the second daemon the probe (TCG: minutes).
  virsh -c qemu:///system domcapabilities --virttype qemu >/dev/null 2>&1
  local r=$LIBVIRT2_ROOT hook=0
  ip link set lo up   # the VM has no network (-nic none); not even loopback is up
  [ "${1:-}" = --hook ] && hook=1
  rm -rf "$r"; mkdir -p "$r"/etc "$r"/run "$r"/lib/qemu "$r"/cache "$r"/log/qemu
  cp -a /etc/libvirt/*.conf "$r/etc/"
  cp -a /var/cache/libvirt/. "$r/cache/"
  cat >> "$r/etc/libvirtd.conf" <<CONF
# vmtier: the migration destination
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "16510"
auth_tcp = "none"
host_uuid = "$LIBVIRT2_HOST_UUID"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
  # The source QEMU sends the stream to the destination's hostname (qemu.conf refuses a loopback migration_host or
  # migration_address): let the VM's hostname resolve to the loopback.
  grep -q "[[:space:]]$(hostname)\$" /etc/hosts || echo "127.0.0.1 $(hostname)" >> /etc/hosts
  # A hook that only logs what libvirt runs on the destination (/tmp/libvirt2-hooks.log, kept across restarts: the arguments and the
  # mdev UUIDs of the XML it gets) and passes the XML on unchanged; it runs before vgpuctl-hook (name order).
  mkdir -p "$r/etc/hooks/qemu.d"
  cat > "$r/etc/hooks/qemu.d/00-vmtier-log" <<'HOOK'
#!/bin/sh
xml=$(cat)
echo "$(cut -d' ' -f1 /proc/uptime) $* uuids=$(printf '%s' "$xml" | sed -n "s/.*<address uuid='\([0-9a-f-]*\)'.*/\1/p" | tr '\n' ,)" >> /tmp/libvirt2-hooks.log
printf '%s\n' "$xml"
HOOK
  chmod +x "$r/etc/hooks/qemu.d/00-vmtier-log"
  unshare -m --propagation private bash -c '
    set -e; r=$1
    mount --bind "$r/etc" /etc/libvirt; mount --bind "$r/run" /run/libvirt; mount --bind "$r/lib" /var/lib/libvirt
    mount --bind "$r/cache" /var/cache/libvirt; mount --bind "$r/log" /var/log/libvirt
    if [ "$2" = 1 ]; then "$3" install-hook >/dev/null; fi
    exec libvirtd -d --listen -p /run/libvirt/libvirtd.pid' libvirt2 "$r" "$hook" "$VGPUCTL" || return 1
  # version answers while the drivers still initialise (a QEMU driver that then fails stops the daemon): list too
  wait_until 90 "the second libvirtd to answer on $LIBVIRT2_URI" "$r/log/libvirtd.log" \
    eval 'virsh2 version >/dev/null && sleep 1 && virsh2 list >/dev/null'
}

stop_second_libvirtd() {
  local pid; pid=$(libvirt2_pid)
  [ -n "$pid" ] || return 0
  for d in $(virsh2 list --name 2>/dev/null); do virsh2 destroy "$d" >/dev/null 2>&1; done
  kill "$pid" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || { rm -f "$LIBVIRT2_ROOT/run/libvirtd.pid"; return 0; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null; rm -f "$LIBVIRT2_ROOT/run/libvirtd.pid"
}

# A shut-off domain that can migrate: the qemu XML namespace; its console file opened in append mode (the
# destination QEMU opens it while the source still writes it); the guest keeps STATE in its mtty UART (see
# vmtier/guest/pciscan). With UUID, an mtty hostdev (alias ua-vgpu0) and the override QEMU needs to migrate it:
# mtty has no device dirty tracking and the legacy type1 container no IOMMU dirty tracking, so with the default
# enable-migration=auto QEMU 10 blocks the migration ("VFIO device doesn't support device and IOMMU dirty
# tracking"); enable-migration=on turns that into a warning and QEMU uses the container's dirty page log.
MIGRATION_OVERRIDE_PROPS="<qemu:property name='x-device-dirty-page-tracking' type='string' value='off'/><qemu:property name='enable-migration' type='string' value='on'/>"
migratable_hostdev() {  # migratable_hostdev UUID [ALIAS]
  printf "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='%s'/></source><alias name='%s'/></hostdev>" "$1" "${2:-ua-vgpu0}"
}
migration_override() {  # migration_override [ALIAS]
  printf "<qemu:override><qemu:device alias='%s'><qemu:frontend>%s</qemu:frontend></qemu:device></qemu:override>" "${1:-ua-vgpu0}" "$MIGRATION_OVERRIDE_PROPS"
}
define_migratable_guest() {  # define_migratable_guest NAME [UUID] [STATE]
  local devices="" extra=""
  if [ -n "${2:-}" ]; then devices=$(migratable_hostdev "$2"); extra=$(migration_override); fi
  rm -f "/tmp/$1-console.log"
  guest_xml "$1" "$extra" "$devices" "mtty_state=${3:-165}" \
    "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" "append='on'" > "/tmp/$1.xml"
  virsh -c qemu:///system define "/tmp/$1.xml" >/dev/null
}

# The guest's mtty state lines: "mtty-state: VALUE seq=N".
state_last_seq() { grep -a -o 'mtty-state: [0-9]* seq=[0-9]*' "/tmp/$1-console.log" 2>/dev/null | tail -1 | sed 's/.*seq=//'; }
state_past() { [ "$(state_last_seq "$1")" -ge "$2" ]; }
printed_state_twice() { [ "$(grep -a -c "mtty-state: $2 seq=" "/tmp/$1-console.log" 2>/dev/null)" -ge 2 ] && state_last_seq "$1"; }
wait_state() {  # wait_state NAME VALUE [TIMEOUT]: the guest has printed VALUE at least twice (prints the last seq)
  wait_until "${3:-180}" "guest $1 to print 'mtty-state: $2' twice" "/tmp/$1-console.log" printed_state_twice "$1" "$2"
}
# After a migration: the same guest goes on (seq continues past SEQ, never restarts: one 'wrote' line) and every
# line since SEQ reads VALUE, the byte written into the UART before the migration.
check_state_after() {  # check_state_after NAME VALUE SEQ [TIMEOUT]
  local f=/tmp/$1-console.log last bad
  wait_until "${4:-60}" "guest $1's state lines to go on past seq $(( $3 + 3 )) (before the migration: $3)" "$f" \
    state_past "$1" $(( $3 + 3 )) || return 1
  last=$(state_last_seq "$1")
  [ "$(grep -a -c 'mtty-state: wrote' "$f")" = 1 ] || { echo "the guest restarted (more than one 'wrote' line)"; return 1; }
  bad=$(grep -a -o 'mtty-state: [0-9a-z]* seq=[0-9]*' "$f" | awk -v v="$2" -v s="$3" '{split($3, a, "="); if (a[2] > s && $2 != v) print}' | head -3)
  [ -z "$bad" ] || { echo "state lost after the migration (wanted $2): $bad"; return 1; }
  echo "note: guest $1 state $2 intact: seq $3 before, $last after"
}

# apply_kill_sweep MAX RESET SNAPSHOT APPLY...: runs APPLY killed with SIGKILL at its 1st, 2nd, ... OS call
# (VGPUCTL_KILL_AT=N), each followed by `vgpuctl recover`, until it completes. The scenario's `which_layout` prints
# old or new, or fails saying why the host is neither. RESET puts the old layout back where the last run left the
# new one (a vgpuctl run costs seconds under TCG, so not otherwise); SNAPSHOT then records what "old" is for
# which_layout, before each run, since the old layout made again has new UUIDs.
apply_kill_sweep() {
  local max=$1 reset=$2 snapshot=$3; shift 3
  local n rc was old=0 new=0 start; start=$(date +%s)
  for n in $(seq 1 "$max"); do
    if [ "${was:-new}" = new ]; then "$reset" >/dev/null 2>&1 || { echo "reset to the old layout failed before kill point $n"; return 1; }; fi
    "$snapshot"
    rc=0; VGPUCTL_KILL_AT=$n "$@" >/dev/null 2>&1 || rc=$?
    vg recover >/dev/null || { echo "recover failed after kill point $n"; return 1; }
    was=$(which_layout) || { echo "after kill point $n (exit $rc): $was"; return 1; }
    if [ "$rc" = 0 ]; then
      expect_eq new "$was" "apply completed at $n" || return 1
      echo "note: apply killed at each of its $((n - 1)) OS calls: after recover $old times the old layout, $new times the new one; then ran to the end ($(( $(date +%s) - start )) s)"
      return 0
    fi
    [ "$rc" = 137 ] || { echo "kill point $n: exit $rc, wanted 137 (SIGKILL)"; return 1; }
    if [ "$was" = old ]; then old=$((old + 1)); else new=$((new + 1)); fi
  done
  echo "apply never completed in $max kill points"; return 1
}

# Benchmarks. A failing command would make its side look fast: `failed WHAT` records it, and each benchmark's
# last check fails if any did (bench_succeeded).
bench_failures_reset() { rm -f /tmp/bench-failures; }
failed() { echo "$1 failed" >&2; echo "$1" >> /tmp/bench-failures; }
bench_succeeded() { [ ! -s /tmp/bench-failures ] || { sort -u /tmp/bench-failures | sed 's/^/bench| failed: /'; return 1; }; }
define_bench_domain() {  # the shut-off domain 'bench' the benchmarks attach to (libvirtd runs)
  export LIBVIRT_DEFAULT_URI=qemu:///system
  cat > /tmp/bench.xml <<XML
<domain type='qemu'><name>bench</name><memory unit='MiB'>128</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features><devices/></domain>
XML
  virsh define /tmp/bench.xml > /dev/null
}

finish() {
  finished=1
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
