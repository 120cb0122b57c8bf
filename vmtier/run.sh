#!/usr/bin/env bash
# Boots the real-kernel VM and runs scenarios in it:  vmtier/run.sh [scenario ...]   (default: all but bench-*;
# VMTIER_LAB=0 leaves out pci-* too)
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
# The default list (what CI runs) leaves out bench-* (on demand); VMTIER_LAB=0 also leaves out the lab machine's
# pci-* scenarios and so its second boot (README, "The real-kernel tier").
lab_filter='^$^'; [ "${VMTIER_LAB:-1}" = 0 ] && lab_filter='^pci-'
scenarios=${*:-$(cd "$here/scenarios" && ls *.sh | grep -v -e '^lib.sh$' -e '^bench-' -e "$lab_filter" | sed 's/\.sh$//' | tr '\n' ' ')}

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
printf '#!/bin/bash\nexec bash %q/guest/stage2.sh\n' "$here" > "$results/stage2"
chmod +x "$results/stage2"

# Two machines. Scenarios named pci-* run on the lab machine (real PCI topology: q35, an emulated IOMMU, display
# devices on their own root ports, a shared IOMMU group, a multi-function slot, SR-IOV NICs, two NUMA nodes); every
# other scenario on the mdev machine (pc, the sample mdev drivers). Each machine boots once for its scenarios.
# A scenario of another name asks for the lab machine with a line '# vmtier-machine: lab' (bench-vendor-vfio,
# bench-passthrough).
mdev_scenarios="" lab_scenarios=""
for s in $scenarios; do
  if [[ $s == pci-* ]] || grep -q '^# vmtier-machine: lab$' "$here/scenarios/$s.sh" 2>/dev/null; then lab_scenarios+="$s "
  else mdev_scenarios+="$s "; fi
done

# TCG, as the tier is designed for (about 5 s to boot); KVM first where the host offers it (QEMU falls back).
accel="-accel tcg,thread=multi -cpu ${VMTIER_CPU:-qemu64}"
if [ -w /dev/kvm ] && [ "${VMTIER_KVM:-0}" = 1 ]; then accel="-accel kvm -cpu host"; fi
memory=${VMTIER_MEMORY:-4096}
append="console=ttyS0 loglevel=4 panic=-1 rdinit=/init"
mdev_machine=(-machine pc -smp 2 -m "$memory")
# The lab machine. The IOMMU comes first, before the PCI devices it translates for; caching-mode
# makes the guest tell it about every mapping, which vfio in the guest needs; interrupt remapping works under TCG
# (the split irqchip it needs is a KVM matter). Two NUMA nodes, a CPU and half the memory each. The devices sit
# behind two pxb-pcie expander bridges, one per node, because the main host bridge has no proximity domain (its
# devices report numa_node -1), as on a two-socket server where every root bus belongs to a socket.
# "GPUs" are display-class functions (bochs-display: class 0380, VGA: 0300, both driven by bochs-drm):
#   00:01.0      VGA, on the main host bridge: the boot VGA device (boot_vga = 1)
#   node 0 (pxb0, buses 0x40-0x7f):
#     41:00.0    bochs-display alone on its root port: its own IOMMU group
#     42:00.0    bochs-display + 42:00.1 ich9-intel-hda (0403, no driver): a GPU and its audio function, one slot
#     43:00.0    pcie-pci-bridge; behind it 44:01.0 and 44:02.0, two bochs-display: one IOMMU group for the three
#     45:00.0    igb: an SR-IOV physical function (7 VFs) standing for a vendor-specific VFIO GPU
#     46:00.0    igb: another (bench-vendor-vfio's third GPU, so that it can type 16 VFs; no scenario enables it)
#   node 1 (pxb1, buses 0x80-0xff): 81:00.0 bochs-display, 82:00.0 igb
lab_machine=(-machine q35 -smp 2 -m "$memory"
  -device intel-iommu,intremap=on,caching-mode=on
  -object memory-backend-ram,id=mem0,size=$((memory / 2))M -object memory-backend-ram,id=mem1,size=$((memory - memory / 2))M
  -numa node,nodeid=0,cpus=0,memdev=mem0 -numa node,nodeid=1,cpus=1,memdev=mem1
  -vga none -device VGA,bus=pcie.0,addr=0x1
  -device pxb-pcie,id=pxb0,bus_nr=64,numa_node=0,bus=pcie.0,addr=0x2
  -device pcie-root-port,id=rp1,bus=pxb0,chassis=1,addr=0x0 -device bochs-display,bus=rp1
  -device pcie-root-port,id=rp2,bus=pxb0,chassis=2,addr=0x1
  -device bochs-display,bus=rp2,addr=0x0.0,multifunction=on -device ich9-intel-hda,bus=rp2,addr=0x0.1
  -device pcie-root-port,id=rp3,bus=pxb0,chassis=3,addr=0x2 -device pcie-pci-bridge,id=pcibr,bus=rp3
  -device bochs-display,bus=pcibr,addr=0x1 -device bochs-display,bus=pcibr,addr=0x2
  -device pcie-root-port,id=rp4,bus=pxb0,chassis=4,addr=0x3 -device igb,bus=rp4
  -device pcie-root-port,id=rp7,bus=pxb0,chassis=7,addr=0x4 -device igb,bus=rp7
  -device pxb-pcie,id=pxb1,bus_nr=128,numa_node=1,bus=pcie.0,addr=0x3
  -device pcie-root-port,id=rp5,bus=pxb1,chassis=5,addr=0x0 -device bochs-display,bus=rp5
  -device pcie-root-port,id=rp6,bus=pxb1,chassis=6,addr=0x1 -device igb,bus=rp6)
# no_timer_check: on a loaded host the TCG guest's IO-APIC timer check can miss its ticks, and with interrupt
# remapping on the kernel then panics ("timer doesn't work through Interrupt-remapped IO-APIC"); the tier saw it.
lab_append="$append intel_iommu=on iommu=pt no_timer_check vmtier.lab=1"

start=$(date +%s)
# boot MACHINE SCENARIOS: one VM for these scenarios, its console in $results/console-MACHINE.log.
# The boots have one deadline too (VMTIER_TIMEOUT, for both machines together; each scenario has its own,
# VMTIER_SCENARIO_TIMEOUT), sized so that CI (90 minutes) always reaches the summary below.
deadline=$(( start + ${VMTIER_TIMEOUT:-2700} ))
boot() {
  local machine=$1 list=$2 options append_line rootbus
  [ -n "$list" ] || return 0
  cat > "$results/env" <<ENV
VMTIER_REPO='$repo'
VGPUCTL_BIN='$bin'
VMTIER_DEB='$deb'
VMTIER_OUT='$out'
VMTIER_SCENARIOS='$list'
VMTIER_SCENARIO_TIMEOUT='${VMTIER_SCENARIO_TIMEOUT:-900}'
ENV
  # The 9p shares sit on the root bus by name: left to QEMU, they would go to the last bus made (the pxb's).
  if [ "$machine" = lab ]; then options=("${lab_machine[@]}"); append_line=$lab_append rootbus=pcie.0
  else options=("${mdev_machine[@]}"); append_line=$append rootbus=pci.0; fi
  console="$results/console-$machine.log"
  echo "vmtier: booting the $machine machine for: $list"
  local left=$(( deadline - $(date +%s) ))
  [ "$left" -gt 0 ] || { echo "vmtier: no time left for the $machine machine (VMTIER_TIMEOUT=${VMTIER_TIMEOUT:-2700} s)"; return 0; }
  timeout --foreground "$left" qemu-system-x86_64 \
    $accel "${options[@]}" \
    -nographic -no-reboot -nic none \
    -kernel "$out/vmlinuz" -initrd "$out/initrd.cpio.gz" \
    -append "$append_line" \
    -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,bus="$rootbus" \
    -fsdev local,id=results,path="$results",security_model=none,multidevs=remap \
    -device virtio-9p-pci,fsdev=results,mount_tag=results,bus="$rootbus" \
    </dev/null 2>&1 | tee "$console" | grep --line-buffered -E "^(ok|not ok|    #|vmtier:|[0-9]+ passed)|Kernel panic|BUG:|${VMTIER_SHOW:-^\$^}" || true
}
boot mdev "$mdev_scenarios"
boot lab "$lab_scenarios"
vm_seconds=$(( $(date +%s) - start ))
echo "vmtier: VM ran $vm_seconds s"
[ -n "${VMTIER_TIMINGS:-}" ] && echo "vm:boot-and-between $(( vm_seconds - $(awk '{ s += $2 } END { print s + 0 }' "$results/timings" 2>/dev/null || echo 0) ))" >> "$VMTIER_TIMINGS"

# Every scenario asked for ends in one line here; one that reported nothing (the VM died or hit its deadline
# first) is a "not ok" line with the last lines it printed.
status=0
printf '%-20s %8s  %s\n' scenario seconds result
for s in $scenarios; do
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$results/$s.log" 2>/dev/null | tail -1 || true)
  seconds=$(awk -v s="$s" '$1 == s { print $2 }' "$results/timings" 2>/dev/null || true)
  if [ -z "$summary" ]; then
    status=1; summary="not ok - scenario $s reported no result (the VM ended first: VMTIER_TIMEOUT=${VMTIER_TIMEOUT:-2700} s, or a crash)"
    tail -n 5 "$results/$s.log" 2>/dev/null | sed 's/^/    # /'
  elif [[ ! "$summary" =~ \ 0\ failed$ ]]; then status=1; fi
  printf '%-20s %8s  %s\n' "$s" "${seconds:--}" "$summary"
  [ -n "${VMTIER_TIMINGS:-}" ] && echo "vm:$s ${seconds:-0}" >> "$VMTIER_TIMINGS"
  [ -n "${VMTIER_KEEP_LOGS:-}" ] && cp "$results/$s.log" "$VMTIER_KEEP_LOGS/" 2>/dev/null || true
done
[ $status = 0 ] || for c in "$results"/console-*.log; do echo "vmtier: $(basename "$c" .log)'s last lines:"; tail -30 "$c"; done
exit $status
