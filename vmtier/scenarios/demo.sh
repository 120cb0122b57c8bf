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
finish
