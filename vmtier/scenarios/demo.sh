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
say() { echo "demo|"; echo "demo| \$ $*"; "$@" 2>&1 | sed 's/^/demo| /'; }
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
step 0 list
say virsh start web02
step 0 list
say virsh destroy web02
step 0 list
say virsh destroy web01
step 0 destroy --vm web01
for name in web01 web02; do virsh undefine "$name" >/dev/null; done
vg uninstall-hook >/dev/null; stop_libvirtd
remove_all_mdevs
finish
