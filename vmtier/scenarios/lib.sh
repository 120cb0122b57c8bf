# Helpers for real-kernel scenarios: each check prints "ok N - name" or "not ok N - name" (TAP), and the
# scenario ends with "N passed, M failed". A check is a command whose exit status decides it.
passed=0 failed=0
: "${VGPUCTL:?VGPUCTL must name the vgpuctl binary}"
vg() { "$VGPUCTL" "$@"; }

check() {  # check "name" command...
  local name=$1; shift
  local output
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
remove_all_mdevs() { for d in /sys/bus/mdev/devices/*; do [ -e "$d" ] && echo 1 > "$d/remove"; done; true; }

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
  for _ in $(seq 60); do virsh -c qemu:///system version >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

# Defines a shut-off test domain: the nested busybox guest (same kernel, direct boot, ACPI for hot-plug; it
# reports its PCI devices on its serial console, /tmp/NAME-console.log). EXTRA goes inside <domain>.
define_guest() {  # define_guest NAME [EXTRA]
  cat > "/tmp/$1.xml" <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${VMTIER_OUT:?}/vmlinuz</kernel><initrd>$VMTIER_OUT/guest-initrd.cpio.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline></os>
  <features><acpi/></features>
  ${2:-}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/tmp/$1-console.log'/></serial>
    <console type='file'><source path='/tmp/$1-console.log'/></console>
  </devices>
</domain>
XML
  virsh -c qemu:///system define "/tmp/$1.xml" >/dev/null
}

stop_libvirtd() {
  pkill -x libvirtd; for _ in $(seq 30); do pgrep -x libvirtd >/dev/null || return 0; sleep 0.5; done
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
