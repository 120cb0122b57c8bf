#!/bin/bash
# The README's demo: walks the vGPU lifecycle on the real kernel, showing each command and its real output.
. "$(dirname "$0")/lib.sh"
step() {  # step expected-exit-status vgpuctl-arguments...
  local want=$1; shift
  echo "demo|"; echo "demo| \$ vgpuctl $*"
  local rc=0; vg "$@" > /tmp/demo.out 2>&1 || rc=$?
  sed 's/^/demo| /' /tmp/demo.out
  [ "$rc" != 0 ] && echo "demo| (exit status $rc)"
  if [ "$rc" = "$want" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "not ok - vgpuctl $* exited $rc, wanted $want"; fi
}
remove_all_mdevs
step 0 types
step 0 create --type mdpy-vga --json
step 0 create --type mtty-2
uuid=$(vg list --json | jq -r '.[0].uuid')
step 0 list
echo "demo|"; echo "demo| \$ mdevctl list        # an independent oracle"; mdevctl list | sed 's/^/demo| /'
step 2 create --type mtty-1 --uuid "$uuid"
step 2 create --type ../../etc
while [ "$(avail mbochs mbochs-large)" -gt 0 ]; do vg create --type mbochs-large >/dev/null; done
step 0 types --parent mbochs
step 4 create --type mbochs-large
step 0 remove "$uuid"
step 0 list --json
remove_all_mdevs

# The headline: vGPUs follow their VMs, with libvirtd running and vgpuctl's hook installed.
# say COMMAND...: shows a command and its output; it must succeed (a demo step that fails is a failed check).
say() {
  echo "demo|"; echo "demo| \$ $*"
  local rc=0; "$@" > /tmp/demo.out 2>&1 || rc=$?
  sed 's/^/demo| /' /tmp/demo.out
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "not ok - $* exited $rc"; fi
}
stop_libvirtd >/dev/null 2>&1
step 0 install-hook
start_libvirtd || { failed=$((failed + 1)); echo "not ok - libvirtd did not start"; }
export LIBVIRT_DEFAULT_URI=qemu:///system
for name in web01 web02; do define_guest "$name"; done
step 0 create --type mtty-2 --vm web01
say virsh start web01
echo "demo|"; echo "demo| (the guest's own view of its PCI bus; 0x4348 is the mtty vGPU)"
if out=$(guest_sees web01 1); then
  echo "demo| $(grep -a 'nested-guest: pci' /tmp/web01-console.log | tail -1)"; passed=$((passed + 1))
else failed=$((failed + 1)); echo "not ok - web01's guest never saw the vGPU"; printf '%s\n' "$out" | sed 's/^/    # /'; fi
step 0 create --type mtty-1 --vm web02 --lifetime domain
web02_uuid=$(tail -1 /tmp/demo.out)
expect() {  # expect WHAT COMMAND...: a check the demo does not show
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "not ok - $what"; fi
}
expect "web02's vGPU $web02_uuid is not created before web02 starts" test ! -e "/sys/bus/mdev/devices/$web02_uuid"
step 0 list
say virsh start web02
expect "the hook created web02's vGPU $web02_uuid at virsh start" test -e "/sys/bus/mdev/devices/$web02_uuid"
step 0 list
say virsh destroy web02
expect "the hook removed web02's vGPU $web02_uuid at virsh destroy" wait_mdev_gone "$web02_uuid" 30
step 0 list
say virsh destroy web01
step 0 destroy --vm web01
for name in web01 web02; do virsh undefine "$name" >/dev/null; done
vg uninstall-hook >/dev/null; stop_libvirtd
remove_all_mdevs
finish
