#!/bin/bash
# Issue 15 on the real kernel, mdevctl as the oracle: a definition's attributes are written when it starts (the
# tier's patched mtty gives each device a writable vendor/test_attr that refuses "invalid"), definitions with
# attributes are the same file and the same listing under both tools, modify matches mdevctl's, a failing
# attribute leaves nothing behind under either, and mdevctl's callouts run (and veto) for vgpuctl too.
. "$(dirname "$0")/lib.sh"
clear_definitions() { find /etc/mdevctl.d -mindepth 1 -maxdepth 1 ! -name scripts.d -exec rm -rf {} +; }
callouts=/etc/mdevctl.d/scripts.d/callouts notifiers=/etc/mdevctl.d/scripts.d/notifiers
clear_scripts() { rm -f "$callouts"/* "$notifiers"/*; }
remove_all_mdevs; clear_definitions; clear_scripts; rm -rf /etc/vgpuctl /var/lib/vgpuctl
attr_of() { cat "/sys/bus/mdev/devices/$1/vendor/test_attr"; }
journal_empty() { [ -z "$(ls -A /var/lib/vgpuctl/journal 2>/dev/null)" ]; }

patched_mtty() {
  local u; u=$(mdevctl start -p mtty -t mtty-1) || return 1
  echo hello > "/sys/bus/mdev/devices/$u/vendor/test_attr" || return 1
  expect_eq hello "$(attr_of "$u")" "read back" || return 1
  ! echo invalid > "/sys/bus/mdev/devices/$u/vendor/test_attr" 2>/dev/null || { echo "'invalid' was accepted"; return 1; }
  mdevctl stop -u "$u"
}
check "patched mtty: vendor/test_attr is writable, reads back, refuses 'invalid'" patched_mtty

# A definition mdevctl wrote (define + modify --addattr), started by vgpuctl: both attributes, in order.
theirs_started_by_vgpuctl() {
  local u; u=$(mdevctl define -p mtty -t mtty-2) || return 1
  echo "$u" > /tmp/theirs
  mdevctl modify -u "$u" --addattr vendor/test_attr --value first || return 1
  mdevctl modify -u "$u" --addattr vendor/test_attr --value second || return 1
  vg start "$u" || return 1
  expect_eq second "$(attr_of "$u")" "the last attribute written wins: order kept" || return 1
  journal_empty || { echo "journal left behind"; return 1; }
  # mdevctl starting the same definition ends in the same state.
  vg stop "$u" && mdevctl start -u "$u" || return 1
  expect_eq second "$(attr_of "$u")" "mdevctl's start" || return 1
  mdevctl stop -u "$u"
}
check "mdevctl define + modify --addattr (x2): vgpuctl start writes both in order (reads back 'second', as mdevctl's start)" theirs_started_by_vgpuctl

same_listing() {
  local u; u=$(cat /tmp/theirs)
  local ours theirs
  ours=$(vg list --defined --json | jq -c --arg u "$u" '.[] | select(.uuid == $u) | .attrs')
  theirs=$(mdevctl list -d --dumpjson | jq -c --arg u "$u" '.[] | .mtty[] | .[$u] | select(. != null) | .attrs')
  expect_eq "$theirs" "$ours" "attrs in list --defined --json vs mdevctl list -d --dumpjson" || return 1
  # The verbose table's attribute lines are mdevctl's.
  expect_eq "$(mdevctl list -d -v | grep '^ ')" "$(vg list --defined -v | grep '^ ')" "verbose attribute lines"
}
check "vgpuctl list --defined --json / -v show mdevctl's definition's attrs as mdevctl lists them" same_listing

# Definitions with attributes written by vgpuctl are mdevctl's bytes: the same definition from mdevctl's own
# --jsonfile is the same file, and after the same modify both are still the same file.
ours_in_mdevctl() {
  local ours mine json=/tmp/def.json
  ours=$(vg define --type mtty-1 --parent mtty --manual --attr vendor/test_attr=one --attr 'vendor/test_attr=two "2"') || return 1
  echo "$ours" > /tmp/ours
  printf '{"mdev_type": "mtty-1", "start": "manual", "attrs": [{"vendor/test_attr": "one"}, {"vendor/test_attr": "two \\"2\\""}]}' > $json
  mine=$(cat /proc/sys/kernel/random/uuid) && mdevctl define -u "$mine" -p mtty --jsonfile $json || return 1
  cmp "/etc/mdevctl.d/mtty/$ours" "/etc/mdevctl.d/mtty/$mine" || { cat "/etc/mdevctl.d/mtty/$ours"; cat "/etc/mdevctl.d/mtty/$mine"; return 1; }
  mdevctl list -d --dumpjson | jq -e --arg u "$ours" '.[] | .mtty[] | .[$u] | select(. != null) |
    .attrs == [{"vendor/test_attr": "one"}, {"vendor/test_attr": "two \"2\""}]' >/dev/null || { mdevctl list -d -v; return 1; }
  vg modify "$ours" --addattr vendor/test_attr --value zero --index 0 && mdevctl modify -u "$mine" --addattr vendor/test_attr --value zero --index 0 || return 1
  vg modify "$ours" --delattr --index 2 --auto && mdevctl modify -u "$mine" --delattr --index 2 --auto || return 1
  vg modify "$ours" --type mtty-2 && mdevctl modify -u "$mine" --type mtty-2 || return 1
  cmp "/etc/mdevctl.d/mtty/$ours" "/etc/mdevctl.d/mtty/$mine" || { cat "/etc/mdevctl.d/mtty/$ours"; cat "/etc/mdevctl.d/mtty/$mine"; return 1; }
  mdevctl undefine -u "$mine"
}
check "vgpuctl define --attr: byte-identical to mdevctl's --jsonfile definition, listed by mdevctl; after the same modify (add@0, del@2 + auto, type) still identical" ours_in_mdevctl

auto_applies() {
  local u; u=$(cat /tmp/ours)
  vg start --auto >/dev/null || return 1
  expect_eq one "$(attr_of "$u")" "start --auto wrote the attributes (zero, then one)" || return 1
  vg stop "$u" && vg undefine "$u"
}
check "start --auto (the boot unit) writes the attributes too" auto_applies

# The issue's case: nvidia/vgpu_params on mtty, which has no such attribute. Both refuse; nothing is left.
refused_by_both() {
  local u before err
  u=$(mdevctl define -p mtty -t mtty-2) && mdevctl modify -u "$u" --addattr nvidia/vgpu_params --value enable_uvm=1 || return 1
  before=$(avail mtty mtty-2)
  ! mdevctl start -u "$u" 2>/tmp/mdevctl.err || { echo "mdevctl started it"; return 1; }
  [ ! -e "/sys/bus/mdev/devices/$u" ] || { echo "mdevctl left it"; return 1; }
  err=$(expect_exit 2 vg start "$u") || { echo "$err"; return 1; }
  echo "$err" | grep -q "'nvidia/vgpu_params' = 'enable_uvm=1'" || { echo "not named: $err"; return 1; }
  [ ! -e "/sys/bus/mdev/devices/$u" ] && expect_eq "$before" "$(avail mtty mtty-2)" "available_instances" && journal_empty || return 1
  echo "note: mdevctl: $(head -1 /tmp/mdevctl.err)"
  mdevctl undefine -u "$u"
}
check "a definition with nvidia/vgpu_params (mtty has none): refused by mdevctl and vgpuctl, nothing left behind" refused_by_both

kernel_refuses_value() {
  local u before err
  u=$(vg define --type mtty-2 --parent mtty --manual --attr vendor/test_attr=fine --attr vendor/test_attr=invalid) || return 1
  before=$(avail mtty mtty-2)
  err=$(expect_exit 2 vg start "$u") || { echo "$err"; return 1; }
  echo "$err" | grep -q "attribute 1 'vendor/test_attr' = 'invalid'.*Invalid argument" || { echo "not named: $err"; return 1; }
  echo "$err" | grep -q "rolled back" || { echo "$err"; return 1; }
  [ ! -e "/sys/bus/mdev/devices/$u" ] && expect_eq "$before" "$(avail mtty mtty-2)" "available_instances" && journal_empty || return 1
  ! mdevctl start -u "$u" 2>/dev/null && [ ! -e "/sys/bus/mdev/devices/$u" ] || { echo "mdevctl disagrees"; return 1; }
  vg undefine "$u"
}
check "the driver refuses the 2nd attribute's value (EINVAL): vgpuctl names it and removes the vGPU; mdevctl refuses too" kernel_refuses_value

# mdevctl's callouts: the same arguments and stdin from both tools; a veto stops vgpuctl start.
callouts_as_mdevctl() {
  local u; u=$(vg define --type mtty-1 --parent mtty --manual --attr vendor/test_attr=c) || return 1
  echo "$u" > /tmp/callout
  printf '#!/bin/sh\necho "$* | $(cat)" >> /tmp/callout.log\nexit 0\n' > "$callouts/log.sh"
  printf '#!/bin/sh\necho "notify $*" >> /tmp/callout.log\n' > "$notifiers/log.sh"
  chmod +x "$callouts/log.sh" "$notifiers/log.sh"
  rm -f /tmp/callout.log; mdevctl start -u "$u" && mdevctl stop -u "$u" || return 1
  mv /tmp/callout.log /tmp/callout.mdevctl
  vg start "$u" && vg stop "$u" || return 1
  diff /tmp/callout.mdevctl /tmp/callout.log || return 1
  grep -q -- "-e pre -a start -s none -u $u -p mtty" /tmp/callout.log || { cat /tmp/callout.log; return 1; }
  echo "note: $(grep -c . /tmp/callout.log) callout/notifier runs, identical to mdevctl's"
}
check "callouts and notifiers get mdevctl's arguments and JSON from vgpuctl start/stop (diff against mdevctl's run: none)" callouts_as_mdevctl

veto() {
  local u err before; u=$(cat /tmp/callout)
  clear_scripts
  printf '#!/bin/sh\ncat >/dev/null\n[ "$4" = pre ] && [ "$6" = start ] && { echo "site policy: no vGPU on ${12}" >&2; exit 1; }\nexit 0\n' > "$callouts/veto.sh"
  chmod +x "$callouts/veto.sh"
  before=$(avail mtty mtty-1)
  ! mdevctl start -u "$u" 2>/dev/null && [ ! -e "/sys/bus/mdev/devices/$u" ] || { echo "mdevctl was not vetoed"; return 1; }
  err=$(expect_exit 9 vg start "$u") || { echo "$err"; return 1; }
  echo "$err" | grep -q "veto.sh: site policy: no vGPU on mtty" || { echo "script's message not shown: $err"; return 1; }
  [ ! -e "/sys/bus/mdev/devices/$u" ] && expect_eq "$before" "$(avail mtty mtty-1)" "available_instances" || return 1
  rm -f "$callouts/veto.sh"
  vg start "$u" && vg stop "$u" && vg undefine "$u"
}
check "a vetoing pre callout stops vgpuctl start (exit 9, its message shown, nothing created), as it stops mdevctl" veto

hung_callout() {
  local u started; u=$(vg define --type mtty-1 --parent mtty --manual) || return 1
  printf '#!/bin/sh\nsleep 600\n' > "$callouts/hang.sh"; chmod +x "$callouts/hang.sh"
  started=$(date +%s)
  expect_exit 9 vg start "$u" | grep -q "was killed" || return 1
  [ $(( $(date +%s) - started )) -lt 30 ] && [ ! -e "/sys/bus/mdev/devices/$u" ] || return 1
  ! pgrep -f "sleep 600" || { echo "the script's child outlived it"; return 1; }
  rm -f "$callouts/hang.sh"; vg undefine "$u"
}
check "a callout that hangs is killed after 10 s (with its children) and refuses" hung_callout

remove_all_mdevs; clear_definitions; clear_scripts
check "nothing left: no vGPU, no definition, no journal record" sh -c '[ "$(ls /sys/bus/mdev/devices | wc -l)" = 0 ] && [ -z "$(ls /etc/mdevctl.d | grep -v scripts.d)" ] && [ -z "$(ls -A /var/lib/vgpuctl/journal 2>/dev/null)" ]'
finish
