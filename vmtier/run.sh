#!/usr/bin/env bash
# Boots the real-kernel VM and runs scenarios in it:  vmtier/run.sh [scenario ...]   (default: all)
# Builds the VM (vmtier/build.sh) and vgpuctl first. Exits 0 only if every scenario reported "N passed, 0 failed".
#
# What the scenarios run (VMTIER_FROM):
#   package (default, what CI runs)  the Debian package, installed in the VM with dpkg -i as an operator does
#                                    (into the VM's tmpfs overlay: the host stays untouched); scenarios run
#                                    /usr/bin/vgpuctl. VMTIER_DEB names a .deb already built (scripts/test.sh passes
#                                    the package tier's), else scripts/package.sh builds it.
#   build                            the debug build in .build (quick iteration: no release build, no packaging)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${VMTIER_OUT:-$here/out}
scenarios=${*:-$(cd "$here/scenarios" && ls *.sh | grep -v -e '^lib.sh$' -e '^bench-' | sed 's/\.sh$//' | tr '\n' ' ')}

from=${VMTIER_FROM:-package}
"$here/build.sh"
deb=
case "$from" in
  package)
    deb=${VMTIER_DEB:-}
    if [ -z "$deb" ]; then
      "$repo/scripts/package.sh" | tail -1
      deb=$repo/.build/deb/vgpuctl_$("$repo/scripts/version.sh")_amd64.deb
    fi
    [ -s "$deb" ] || { echo "vmtier: no package at $deb" >&2; exit 1; }
    deb=$(readlink -f "$deb")
    bin=/usr/bin
    echo "vmtier: scenarios run the package $(basename "$deb"), installed in the VM" ;;
  build)
    # VMTIER_RELEASE=1: the release build as the package makes it (static Swift runtime) instead of the debug build;
    # the default when only bench-* scenarios run, since they measure what users run.
    release=${VMTIER_RELEASE:-}
    if [ -z "$release" ]; then release=1; for s in $scenarios; do [[ $s == bench-* ]] || release=0; done; fi
    build=(); [ "$release" = 1 ] && build=(-c release --static-swift-stdlib)
    # VMTIER_BIN=DIR: run the binaries in DIR instead (e.g. an older build, for before/after benchmarks).
    if [ -n "${VMTIER_BIN:-}" ]; then bin=$VMTIER_BIN; else
      for product in vgpuctl vgpu-fixture vgpud; do (cd "$repo" && swift build -q "${build[@]}" --product "$product"); done
      bin=$(cd "$repo" && swift build "${build[@]}" --show-bin-path)
    fi
    echo "vmtier: scenarios run the build in $bin" ;;
  *) echo "vmtier: VMTIER_FROM is package or build, not '$from'" >&2; exit 2 ;;
esac

results=$(mktemp -d "${TMPDIR:-/tmp}/vmtier-results.XXXXXX")
trap 'rm -rf "$results"' EXIT
cat > "$results/env" <<ENV
VMTIER_REPO='$repo'
VGPUCTL_BIN='$bin'
VMTIER_DEB='$deb'
VMTIER_OUT='$out'
VMTIER_SCENARIOS='$scenarios'
VMTIER_SCENARIO_TIMEOUT='${VMTIER_SCENARIO_TIMEOUT:-900}'
ENV
printf '#!/bin/bash\nexec bash %q/guest/stage2.sh\n' "$here" > "$results/stage2"
chmod +x "$results/stage2"

# TCG, as the tier is designed for (about 5 s to boot); KVM first where the host offers it (QEMU falls back).
accel="-accel tcg,thread=multi -cpu ${VMTIER_CPU:-qemu64}"
if [ -w /dev/kvm ] && [ "${VMTIER_KVM:-0}" = 1 ]; then accel="-accel kvm -cpu host"; fi
start=$(date +%s)
console="$results/console.log"
# The whole boot has a deadline too (VMTIER_TIMEOUT; each scenario has its own, VMTIER_SCENARIO_TIMEOUT), sized so
# that CI (90 minutes) always reaches the summary below.
timeout --foreground "${VMTIER_TIMEOUT:-2700}" qemu-system-x86_64 \
  $accel -machine pc -smp 2 -m "${VMTIER_MEMORY:-4096}" \
  -nographic -no-reboot -nic none \
  -kernel "$out/vmlinuz" -initrd "$out/initrd.cpio.gz" \
  -append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$results",mount_tag=results,security_model=none,multidevs=remap \
  </dev/null 2>&1 | tee "$console" | grep --line-buffered -E "^(ok|not ok|    #|vmtier:|[0-9]+ passed)|Kernel panic|BUG:|${VMTIER_SHOW:-^\$^}" || true
vm_seconds=$(( $(date +%s) - start ))
echo "vmtier: VM ran $vm_seconds s"
[ -n "${VMTIER_TIMINGS:-}" ] && echo "vm:boot-and-between $(( vm_seconds - $(awk '{ s += $2 } END { print s + 0 }' "$results/timings" 2>/dev/null || echo 0) ))" >> "$VMTIER_TIMINGS"

# Every scenario asked for ends in one line here; one that reported nothing (the VM died or hit its deadline
# first) is a "not ok" line with the last lines it printed.
status=0
printf '%-20s %8s  %s\n' scenario seconds result
for s in $scenarios; do
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$results/$s.log" 2>/dev/null | tail -1 || true)
  seconds=$(awk -v s="$s" '$1 == s { print $2 }' "$results/timings" 2>/dev/null)
  if [ -z "$summary" ]; then
    status=1; summary="not ok - scenario $s reported no result (the VM ended first: VMTIER_TIMEOUT=${VMTIER_TIMEOUT:-2700} s, or a crash)"
    tail -n 5 "$results/$s.log" 2>/dev/null | sed 's/^/    # /'
  elif [[ ! "$summary" =~ \ 0\ failed$ ]]; then status=1; fi
  printf '%-20s %8s  %s\n' "$s" "${seconds:--}" "$summary"
  [ -n "${VMTIER_TIMINGS:-}" ] && echo "vm:$s ${seconds:-0}" >> "$VMTIER_TIMINGS"
  [ -n "${VMTIER_KEEP_LOGS:-}" ] && cp "$results/$s.log" "$VMTIER_KEEP_LOGS/" 2>/dev/null || true
done
[ $status = 0 ] || { echo "vmtier: the console's last lines:"; tail -30 "$console"; }
exit $status
