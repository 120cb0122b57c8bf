#!/bin/bash
# Issue 10 through libvirt: a real live migration of a running domain with an mtty vGPU between two libvirtd in
# the VM's one kernel (the destination in its own mount namespace on TCP 16510: lib.sh start_second_libvirtd).
# The nested guest keeps a byte in its mtty UART's scratch register and prints it every second (guest/pciscan,
# mtty_state=VALUE), so each check proves the device state moved with the guest. In one kernel the destination
# vGPU cannot have the source's UUID: every migration here rewrites it.
#   a. baseline, no vgpuctl involved: virsh migrate --live --xml (UUID rewritten by hand to a pre-created vGPU)
#   b. vgpuctl migrate --vm NAME --to URI --json
#   c. plain virsh migrate, vgpuctl's hook on the destination provides the vGPU and rewrites the XML
#   d. a destination without room: vgpuctl migrate refuses (exit 4) before anything changes
#   e. rollback: a migration that fails after the destination created its vGPU leaves nothing there
#   f. a domain-lifetime vGPU (create --lifetime domain): plain virsh migrate there and back. In one kernel the
#      source QEMU holds the UUID while the destination prepares (issue 21: the destination's hook must see that
#      from the kernel, not from its own daemon's status files), and each side releases its vGPU afterwards.
# The guests boot at once and serve every check: mig-a (a), mig-v (d, e, then b: the failures leave it on the
# source), mig-c (c, and back) and mig-l (f).
. "$(dirname "$0")/lib.sh"
export LIBVIRT_DEFAULT_URI=qemu:///system
remove_all_mdevs
rm -rf /etc/mdevctl.d/mtty /var/lib/vgpuctl/journal/*
MIGRATE_TIMEOUT=${MIGRATE_TIMEOUT:-300}
# check runs each command in a subshell: what one check learns for the next goes through files
st=/tmp/migration-libvirt; rm -rf "$st" /tmp/libvirt2-hooks.log; mkdir -p "$st"
put() { printf '%s\n' "$2" > "$st/$1"; }
get() { cat "$st/$1" 2>/dev/null; }

mdev_type() { basename "$(readlink "/sys/bus/mdev/devices/$1/mdev_type")"; }
mdev_list() { ls /sys/bus/mdev/devices | sort | tr '\n' ' '; }
hostdev_uuids() { sed -n "s/.*<address uuid='\([0-9a-f-]*\)'.*/\1/p"; }   # from domain XML on stdin
# The source's numbers for the last migration of NAME: "note:" lines (virsh domjobinfo --completed, source side).
job_notes() {
  local info; info=$(virsh domjobinfo --completed "$1" 2>/dev/null) || return 0
  printf 'note: %s downtime %s ms, total %s ms, data %s\n' "$1" \
    "$(awk -F: '/^Total downtime/ {gsub(/[^0-9]/, "", $2); print $2}' <<<"$info")" \
    "$(awk -F: '/^Time elapsed:/ {gsub(/[^0-9]/, "", $2); print $2}' <<<"$info")" \
    "$(awk -F: '/^Data processed/ {gsub(/^ +/, "", $2); print $2}' <<<"$info")"
}
cleanup_domain() {  # destroy NAME on both daemons and undefine it on both
  virsh2 destroy "$1" >/dev/null 2>&1; virsh2 undefine "$1" >/dev/null 2>&1
  virsh destroy "$1" >/dev/null 2>&1; virsh undefine "$1" >/dev/null 2>&1
}

stop_libvirtd >/dev/null 2>&1
first_daemon() { vg install-hook >/dev/null && start_libvirtd; }
check "install-hook on the source daemon; libvirtd starts" first_daemon

# --- the three guests, booted at once ----------------------------------------------------------------------------
a_src=$(vg create --type mtty-2 --parent mtty) && a_dst=$(vg create --type mtty-2 --parent mtty) || echo "could not create the baseline's vGPUs"
define_migratable_guest mig-a "$a_src" 165
# A domain whose vGPU vgpuctl attached for migration (create --vm --migratable).
vgpuctl_domain() {  # vgpuctl_domain NAME VALUE
  local uuid
  define_migratable_guest "$1" "" "$2" || return 1
  uuid=$(vg create --type mtty-2 --vm "$1" --migratable 2>&1) || { echo "create --type mtty-2 --vm $1 --migratable: $uuid"; return 1; }
  virsh dumpxml --inactive "$1" | grep -q "<qemu:override" || { echo "no <qemu:override> in the domain"; return 1; }
  # both are needed (/work/notes/migration-recipe.md): without enable-migration=on QEMU blocks the migration
  virsh dumpxml --inactive "$1" | grep -q "name='x-device-dirty-page-tracking'.*value='off'" &&
    virsh dumpxml --inactive "$1" | grep -q "name='enable-migration'.*value='on'" \
    || { echo "the override lacks x-device-dirty-page-tracking=off or enable-migration=on:"; virsh dumpxml --inactive "$1" | grep -A6 "<qemu:override"; return 1; }
  virsh dumpxml --inactive "$1" | grep -q "alias name='ua-" || { echo "no user alias on the hostdev"; return 1; }
  put "$1-uuid" "$uuid"
}
check "create --type mtty-2 --vm mig-v --migratable: a user alias and a <qemu:override> (x-device-dirty-page-tracking=off, enable-migration=on)" vgpuctl_domain mig-v 166
check "create --type mtty-2 --vm mig-c --migratable" vgpuctl_domain mig-c 167
lifetime_domain() {
  local uuid
  define_migratable_guest mig-l "" 168 || return 1
  uuid=$(vg create --type mtty-2 --vm mig-l --lifetime domain --migratable 2>&1) || { echo "create: $uuid"; return 1; }
  [ ! -e "/sys/bus/mdev/devices/$uuid" ] || { echo "--lifetime domain created the vGPU now"; return 1; }
  virsh dumpxml --inactive mig-l | grep -q "<qemu:override" || { echo "--migratable gave mig-l no <qemu:override>"; return 1; }
  put mig-l-uuid "$uuid"
}
check "create --type mtty-2 --vm mig-l --lifetime domain --migratable records the vGPU and the override, creates nothing" lifetime_domain
start_all() {
  local d rc=0
  for d in mig-a mig-v mig-c mig-l; do
    [ "$d" = mig-a ] || [ -n "$(get "$d-uuid")" ] || continue
    virsh start "$d" >/dev/null || { echo "virsh start $d failed"; rc=1; }
  done
  date +%s > "$st/boot-start"
  return $rc
}
check "the guests start (mig-a; mig-v and mig-c if vgpuctl attached their vGPUs)" start_all
# The second daemon starts while the guests boot.
two_daemons() {
  local t0; t0=$(date +%s)
  start_second_libvirtd || return 1
  local u1 u2
  u1=$(virsh capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -1)
  u2=$(virsh2 capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -1)
  [ -n "$u1" ] && [ "$u1" != "$u2" ] || { echo "host UUIDs: '$u1' and '$u2'"; return 1; }
  # its own /run/libvirt: its socket is not the first daemon's
  in_libvirt2 test -S /run/libvirt/libvirt-sock && [ "$(in_libvirt2 stat -c %i /run/libvirt)" != "$(stat -c %i /run/libvirt)" ] \
    || { echo "the second libvirtd does not have its own /run/libvirt"; return 1; }
  echo "note: second libvirtd up in $(( $(date +%s) - t0 )) s, host_uuid $u2 (first: $u1)"
}
check "a second libvirtd in its own mount namespace answers on $LIBVIRT2_URI, with a distinct host_uuid" two_daemons
boot_all() {
  local d rc=0 seq
  for d in mig-a:165 mig-v:166 mig-c:167 mig-l:168; do
    virsh domstate "${d%:*}" 2>/dev/null | grep -qx running || continue
    if seq=$(wait_state "${d%:*}" "${d#*:}" 400); then put "${d%:*}-seq" "$seq"; else echo "$seq"; rc=1; fi
  done
  echo "note: guests up and writing their UART $(( $(date +%s) - $(get boot-start) )) s after their start"
  [ -n "$(get mig-a-seq)" ] && return $rc
}
check "the guests boot; each keeps its value in its mtty vGPU's UART (mig-a 165, mig-v 166, mig-c 167, mig-l 168)" boot_all

# --- a. the baseline: the infrastructure alone -------------------------------------------------------------------
a_migrate() {
  [ -n "$(get mig-a-seq)" ] || { echo "no running guest"; return 1; }
  virsh dumpxml --migratable mig-a | sed "s/$a_src/$a_dst/" > /tmp/mig-a-dst.xml
  local out t0 t1; t0=$(date +%s%N)
  out=$(timeout "$MIGRATE_TIMEOUT" virsh migrate --live mig-a "$LIBVIRT2_URI" --xml /tmp/mig-a-dst.xml 2>&1) \
    || { echo "virsh migrate: $out"; tail -5 "$LIBVIRT2_ROOT/log/qemu/mig-a.log"; return 1; }
  t1=$(date +%s%N)
  expect_eq running "$(virsh2 domstate mig-a 2>&1)" "destination domain state" || return 1
  expect_eq "$a_dst" "$(virsh2 dumpxml mig-a | hostdev_uuids)" "destination hostdev" || return 1
  expect_eq "shut off" "$(virsh domstate mig-a 2>&1)" "source domain state" || return 1
  put a_done 1
  job_notes mig-a
  echo "note: virsh migrate took $(( (t1 - t0) / 1000000 )) ms"
}
check "a: virsh migrate --live --xml (UUID rewritten to a pre-created vGPU) moves the running domain" a_migrate
a_state() { [ -n "$(get a_done)" ] || { echo "no migration"; return 1; }; check_state_after mig-a 165 "$(get mig-a-seq)"; }
check "a: the guest's mtty state survived (165 read back after the migration, lines continue)" a_state
a_cleanup() {
  cleanup_domain mig-a
  vg remove "$a_src" && vg remove "$a_dst"
}
check "a: both vGPUs remove cleanly once the domain is gone" a_cleanup

# From here on the destination daemon has vgpuctl's hook in its own /etc/libvirt (installed before it starts).
hook_on_destination() {
  stop_second_libvirtd
  start_second_libvirtd --hook || return 1
  in_libvirt2 test -L /etc/libvirt/hooks/qemu.d/vgpuctl-hook || { echo "no hook in the destination's /etc/libvirt"; return 1; }
}
check "the second libvirtd restarts with vgpuctl's hook in its own /etc/libvirt/hooks/qemu.d" hook_on_destination

mdev_list_is() { local now; now=$(mdev_list); [ "$now" = "$1" ] || { echo "now: $now"; return 1; }; }
# What a refused or failed migration must leave: mig-v running on the source with its vGPU, nothing else.
still_on_source() {  # still_on_source VGPUS-BEFORE
  expect_eq running "$(virsh domstate mig-v 2>&1)" "source domain state" || return 1
  expect_eq "$(get mig-v-uuid)" "$(virsh dumpxml mig-v | hostdev_uuids)" "source hostdev" || return 1
  [ -e "/sys/bus/mdev/devices/$(get mig-v-uuid)" ] || { echo "the source vGPU is gone"; return 1; }
  ! virsh2 list --all --name | grep -qx mig-v || { echo "mig-v exists on the destination"; return 1; }
  wait_until 20 "the host's vGPUs to be as before ($1)" - mdev_list_is "$1"
}

# --- d. no room on the destination -------------------------------------------------------------------------------
d_refused() {
  [ -n "$(get mig-v-seq)" ] || { echo "no running guest"; return 1; }
  # one kernel: fill every mtty-2 instance left, so the destination has none free
  local f u fillers=() before out rc=0
  for f in /sys/class/mdev_bus/*/mdev_supported_types/mtty-2/available_instances; do
    while [ "$(cat "$f")" -gt 0 ]; do
      u=$(cat /proc/sys/kernel/random/uuid); echo "$u" > "$(dirname "$f")/create" || break; fillers+=("$u")
    done
  done
  before=$(mdev_list)
  out=$(expect_exit 4 timeout "$MIGRATE_TIMEOUT" "$VGPUCTL" migrate --vm mig-v --to "$LIBVIRT2_URI") || rc=1
  [ $rc = 1 ] || grep -q "mtty-2" <<<"$out" || { out="the message does not name the type: $out"; rc=1; }
  [ $rc = 1 ] || out=$(still_on_source "$before") || rc=1
  for u in "${fillers[@]}"; do echo 1 > "/sys/bus/mdev/devices/$u/remove"; done
  echo "$out"; [ $rc = 0 ] && echo "note: ${#fillers[@]} mtty-2 fillers; refused with: $(head -1 <<<"$out")"
  return $rc
}
check "d: vgpuctl migrate to a destination without a free mtty-2: exit 4 naming the type, nothing created, mig-v still runs with its vGPU" d_refused

# --- e. rollback after the destination created its vGPU ----------------------------------------------------------
e_timeout() {
  [ -n "$(get mig-v-seq)" ] || { echo "no running guest"; return 1; }
  local before out; before=$(mdev_list)
  out=$(timeout "$MIGRATE_TIMEOUT" "$VGPUCTL" migrate --vm mig-v --to "$LIBVIRT2_URI" --timeout 1 2>&1) && { echo "vgpuctl migrate --timeout 1 succeeded: $out"; return 1; }
  [ -n "$out" ] || { echo "no message"; return 1; }
  still_on_source "$before" || return 1
  echo "note: $(tail -1 <<<"$out")"
}
check "e: vgpuctl migrate --timeout 1 aborts: the destination's vGPU is gone, mig-v still runs on the source with its own" e_timeout
e_abort() {
  [ -n "$(get mig-v-seq)" ] || { echo "no running guest"; return 1; }
  local before pid during seen=; before=$(mdev_list)
  # a slow stream (1 MiB/s, the guest has ~85 MiB to send) so that the abort lands while the destination receives
  timeout "$MIGRATE_TIMEOUT" virsh migrate --live --bandwidth 1 mig-v "$LIBVIRT2_URI" > /tmp/mig-v-abort.out 2>&1 & pid=$!
  wait_until 60 "mig-v to appear on the destination" /tmp/libvirt2-hooks.log eval 'virsh2 list --name | grep -qx mig-v' >/dev/null && seen=1
  during=$(mdev_list)
  [ -n "$seen" ] || { kill "$pid" 2>/dev/null; wait "$pid"; echo "the incoming domain never appeared: $(cat /tmp/mig-v-abort.out)"; return 1; }
  virsh domjobabort mig-v >/dev/null 2>&1
  wait "$pid" && { echo "the migration completed before the abort"; return 1; }
  [ "$during" != "$before" ] || { echo "the destination created no vGPU"; return 1; }
  still_on_source "$before" || return 1
  echo "note: virsh migrate after domjobabort: $(tr '\n' ' ' < /tmp/mig-v-abort.out | tail -c 200)"
}
check "e: virsh migrate aborted (domjobabort) after the destination's hook created a vGPU: it is released, mig-v still runs on the source" e_abort
e_state() { [ -n "$(get mig-v-seq)" ] || { echo "no running guest"; return 1; }; check_state_after mig-v 166 "$(get mig-v-seq)"; }
check "e: the guest's mtty state is intact on the source after the refused and failed migrations" e_state

# --- b. vgpuctl migrate ----------------------------------------------------------------------------------------
b_migrate() {
  [ -n "$(get mig-v-seq)" ] || { echo "no running guest"; return 1; }
  local rc=0 json uuid; uuid=$(get mig-v-uuid)
  put b_seq "$(state_last_seq mig-v)"
  json=$(timeout "$MIGRATE_TIMEOUT" "$VGPUCTL" migrate --vm mig-v --to "$LIBVIRT2_URI" --persistent --json 2>/tmp/mig-v.err) || rc=$?
  [ $rc = 0 ] || { echo "exit $rc"; cat /tmp/mig-v.err; echo "$json"; return 1; }
  jq -e '.domain == "mig-v" and (.destination | type == "string") and (.downtime_ms | type == "number")
         and (.total_ms | type == "number") and (.devices | length == 1)
         and (.devices[0] | has("source_uuid") and has("destination_uuid") and .type == "mtty-2")' <<<"$json" >/dev/null \
    || { echo "JSON lacks what the contract names: $json"; return 1; }
  expect_eq "$uuid" "$(jq -r '.devices[0].source_uuid' <<<"$json")" "source_uuid" || return 1
  put b_json "$json"
  echo "note: vgpuctl migrate: downtime $(jq -r .downtime_ms <<<"$json") ms, total $(jq -r .total_ms <<<"$json") ms"
  job_notes mig-v
}
check "b: vgpuctl migrate --vm mig-v --to $LIBVIRT2_URI --persistent --json exits 0 with the contract's JSON" b_migrate
b_destination() {
  local json uuid dst; json=$(get b_json) uuid=$(get mig-v-uuid)
  [ -n "$json" ] || { echo "no migration"; return 1; }
  dst=$(jq -r '.devices[0].destination_uuid' <<<"$json")
  expect_eq running "$(virsh2 domstate mig-v 2>&1)" "destination domain state" || return 1
  expect_eq "$dst" "$(virsh2 dumpxml mig-v | hostdev_uuids)" "destination hostdev = destination_uuid" || return 1
  [ "$dst" != "$uuid" ] || { echo "same UUID as the source's in one kernel"; return 1; }
  expect_eq mtty-2 "$(mdev_type "$dst")" "destination vGPU type" || return 1
  virsh2 dumpxml mig-v | grep -q "alias name='ua-" || { echo "the hostdev lost its user alias"; return 1; }
  virsh2 dumpxml mig-v | grep -q "x-device-dirty-page-tracking" || { echo "the qemu override is gone"; return 1; }
}
check "b: the destination runs mig-v with a new mtty-2 vGPU (other UUID, alias and override kept)" b_destination
b_persistent() {  # --persistent: libvirt defines the domain on the destination from vgpuctl's persistent_xml
  local json dst; json=$(get b_json); [ -n "$json" ] || { echo "no migration"; return 1; }
  dst=$(jq -r '.devices[0].destination_uuid' <<<"$json")
  virsh2 dominfo mig-v | grep -Eq '^Persistent: +yes' || { echo "mig-v is not defined on the destination:"; virsh2 dominfo mig-v; return 1; }
  expect_eq "$dst" "$(virsh2 dumpxml --inactive mig-v | hostdev_uuids)" "the destination's definition names destination_uuid" || return 1
  virsh2 dumpxml --inactive mig-v | grep -q "x-device-dirty-page-tracking" || { echo "the definition lost the qemu override"; return 1; }
}
check "b: --persistent: the destination defines mig-v, its definition naming the new vGPU (override kept)" b_persistent
b_source_removed() {
  local u; u=$(get mig-v-uuid); [ -n "$(get b_json)" ] || { echo "no migration"; return 1; }
  wait_mdev_gone "$u"
}
check "b: the source vGPU is removed" b_source_removed
b_state() { [ -n "$(get b_json)" ] || { echo "no migration"; return 1; }; check_state_after mig-v 166 "$(get b_seq)"; }
check "b: the guest's mtty state survived" b_state
cleanup_domain mig-v

# --- c. plain virsh migrate, the destination's hook provides the vGPU --------------------------------------------
c_migrate() {
  [ -n "$(get mig-c-seq)" ] || { echo "no running guest"; return 1; }
  local out; put c_seq "$(state_last_seq mig-c)"
  out=$(timeout "$MIGRATE_TIMEOUT" virsh migrate --live mig-c "$LIBVIRT2_URI" 2>&1) \
    || { echo "virsh migrate: $out"; echo "destination hooks:"; tail -8 /tmp/libvirt2-hooks.log; return 1; }
  put c_done 1
  job_notes mig-c
}
check "c: plain virsh migrate --live (no --xml) of a domain whose vGPU vgpuctl attached succeeds" c_migrate
c_destination() {
  [ -n "$(get c_done)" ] || { echo "no migration"; return 1; }
  local uuid dst; uuid=$(get mig-c-uuid) dst=$(virsh2 dumpxml mig-c | hostdev_uuids)
  expect_eq running "$(virsh2 domstate mig-c 2>&1)" "destination domain state" || return 1
  [ -n "$dst" ] && [ "$dst" != "$uuid" ] || { echo "destination hostdev '$dst', source '$uuid'"; return 1; }
  [ -e "/sys/bus/mdev/devices/$dst" ] || { echo "$dst does not exist"; return 1; }
  expect_eq mtty-2 "$(mdev_type "$dst")" "destination vGPU type"
}
check "c: the destination's hostdev names an existing mtty-2 vGPU (the hook rewrote the UUID)" c_destination
c_state() { [ -n "$(get c_done)" ] || { echo "no migration"; return 1; }; check_state_after mig-c 167 "$(get c_seq)"; }
check "c: the guest's mtty state survived" c_state
# ... and back: the client-driven (non-peer-to-peer) form, since the first daemon listens on no TCP port; the
# first daemon's hook must rename again (the destination's QEMU holds the UUID until the end).
migrate_back() {  # migrate_back NAME: from the second daemon to the first; prints the UUID it runs with here
  local out uuid
  out=$(timeout "$MIGRATE_TIMEOUT" virsh -c "$LIBVIRT2_URI" migrate --live "$1" qemu:///system 2>&1) \
    || { echo "virsh migrate back: $out"; tail -20 /var/log/libvirt/libvirtd.log | grep -i error; return 1; }
  expect_eq running "$(virsh domstate "$1" 2>&1)" "$1 back on the first daemon" || return 1
  uuid=$(virsh dumpxml "$1" | hostdev_uuids)
  [ -e "/sys/bus/mdev/devices/$uuid" ] || { echo "$uuid does not exist"; return 1; }
}
c_back() {
  [ -n "$(get c_done)" ] || { echo "no migration"; return 1; }
  local there back; there=$(virsh2 dumpxml mig-c | hostdev_uuids); put c_seq "$(state_last_seq mig-c)"
  migrate_back mig-c || return 1
  back=$(virsh dumpxml mig-c | hostdev_uuids)
  [ "$back" != "$there" ] || { echo "the first daemon's hook kept $there, which the second daemon's QEMU held"; return 1; }
  check_state_after mig-c 167 "$(get c_seq)"
}
check "c: and back with plain virsh migrate: the first daemon's hook renames the held UUID; the state survived" c_back
cleanup_domain mig-c

# --- f. a domain-lifetime vGPU, plain virsh migrate there and back -------------------------------------------------
f_there() {
  [ -n "$(get mig-l-seq)" ] || { echo "no running guest"; return 1; }
  local src dst out; src=$(get mig-l-uuid); put f_seq "$(state_last_seq mig-l)"
  out=$(timeout "$MIGRATE_TIMEOUT" virsh migrate --live mig-l "$LIBVIRT2_URI" 2>&1) \
    || { echo "virsh migrate: $out"; echo "destination hooks:"; tail -8 /tmp/libvirt2-hooks.log; return 1; }
  dst=$(virsh2 dumpxml mig-l | hostdev_uuids)
  [ -n "$dst" ] && [ "$dst" != "$src" ] || { echo "destination hostdev '$dst', source '$src': the held UUID was not renamed"; return 1; }
  [ -e "/sys/bus/mdev/devices/$dst" ] || { echo "$dst does not exist"; return 1; }
  wait_mdev_gone "$src" 30 || { echo "(the source's release end migrated should remove its domain-lifetime vGPU)"; return 1; }
  check_state_after mig-l 168 "$(get f_seq)" || return 1
  put f_dst "$dst"; job_notes mig-l
}
check "f: domain-lifetime vGPU, plain virsh migrate: a new UUID there (the held one renamed), the source's released, state kept" f_there
f_back() {
  local there back; there=$(get f_dst); [ -n "$there" ] || { echo "no migration"; return 1; }
  put f_seq "$(state_last_seq mig-l)"
  migrate_back mig-l || return 1
  back=$(virsh dumpxml mig-l | hostdev_uuids)
  [ "$back" != "$there" ] || { echo "the first daemon's hook kept $there, which the second daemon's QEMU held"; return 1; }
  wait_mdev_gone "$there" 30 || return 1
  check_state_after mig-l 168 "$(get f_seq)"
}
check "f: and back: renamed again, the second daemon's vGPU released, state kept" f_back
f_stop() {
  local uuid; uuid=$(virsh dumpxml mig-l | hostdev_uuids)
  virsh destroy mig-l >/dev/null || return 1
  wait_mdev_gone "$uuid" 30
}
check "f: virsh destroy mig-l releases its domain-lifetime vGPU" f_stop
cleanup_domain mig-l

final_cleanup() {
  # what libvirt ran on the destination, in order (lib.sh's logging hook): for the lead and for the record
  sed 's/^/note: destination hook: /' /tmp/libvirt2-hooks.log 2>/dev/null | tail -40
  stop_second_libvirtd
  "$VGPUCTL" uninstall-hook >/dev/null && stop_libvirtd
  remove_all_mdevs; rm -rf /etc/mdevctl.d/mtty
  [ "$(mdev_count)" = 0 ] || { echo "vGPUs left: $(mdev_list)"; return 1; }
}
check "both daemons stop, every vGPU removes cleanly" final_cleanup
finish
