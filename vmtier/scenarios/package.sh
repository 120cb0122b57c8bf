#!/bin/bash
# Issue 13 on the real kernel: the Debian package as installed in the VM (stage2 ran dpkg -i). The scenarios run
# /usr/bin/vgpuctl from it; this one proves the package's own promises where there are real vGPUs: the binary and
# its templates come from the package, the state directories are private, and remove, reinstall and purge never
# touch a running vGPU nor mdevctl's definitions.
. "$(dirname "$0")/lib.sh"
if [ -z "${VMTIER_DEB:-}" ]; then
  echo "ok 1 - # SKIP the VM runs the build (VMTIER_FROM=build), not the package"
  echo "1 passed, 0 failed"; exit 0
fi
remove_all_mdevs

check "vgpuctl is /usr/bin/vgpuctl from the package" sh -c \
  "[ '$VGPUCTL' = /usr/bin/vgpuctl ] && dpkg -S /usr/bin/vgpuctl | grep -q '^vgpuctl:' && ! ldd /usr/bin/vgpuctl | grep -E 'swift|not found'"
check "installing enabled nothing and put no hook in /etc/libvirt/hooks" sh -c \
  "[ -z \"\$(find /etc/systemd/system -name 'vgpuctl*')\" ] && ! dpkg -L vgpuctl | grep -q '^/etc/libvirt'"

uuid=$(vg create --type mtty-2 --persist 2>/tmp/package.err) || cat /tmp/package.err
check "create --persist with the installed binary" test -e "/sys/bus/mdev/devices/$uuid"
check "xml renders from /usr/share/vgpuctl/xml-templates" sh -c \
  "$VGPUCTL xml $uuid | grep -q \"$uuid\" && [ -f /usr/share/vgpuctl/xml-templates/hostdev-mdev.xml ]"
check "/run/vgpuctl and /var/lib/vgpuctl are 0700 (package and binary)" sh -c \
  '[ "$(stat -c %a /run/vgpuctl) $(stat -c %a /var/lib/vgpuctl)" = "700 700" ]'

running() { [ -e "/sys/bus/mdev/devices/$uuid" ] && mdevctl list -d | grep -q "$uuid"; }
check "dpkg -r: the vGPU keeps running and its mdevctl definition stays" sh -c \
  "dpkg -r vgpuctl >/dev/null && [ ! -e /usr/bin/vgpuctl ] && $(declare -f running); uuid=$uuid running && [ -d /var/lib/vgpuctl ]"
check "dpkg -i again: the installed vgpuctl lists the same vGPU" sh -c \
  "dpkg -i '$VMTIER_DEB' >/dev/null && $VGPUCTL list --json | jq -e '.[] | select(.uuid == \"$uuid\")' >/dev/null"
check "dpkg -P: state and config gone, the vGPU and its mdevctl definition untouched" sh -c \
  "dpkg -P vgpuctl >/dev/null && [ ! -e /var/lib/vgpuctl ] && [ ! -e /etc/vgpuctl ] && [ ! -e /run/vgpuctl ] && $(declare -f running); uuid=$uuid running"
# Put the package back for any scenario after this one, then clean up with it.
dpkg -i "$VMTIER_DEB" >/dev/null 2>&1
check "reinstalled after purge: remove the vGPU with it" sh -c "$VGPUCTL remove $uuid && [ ! -e /sys/bus/mdev/devices/$uuid ]"
remove_all_mdevs
finish
