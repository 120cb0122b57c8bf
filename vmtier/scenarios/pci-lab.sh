#!/bin/bash
# Issue 23's lab machine (vmtier/run.sh boots it for pci-* scenarios): a real PCI topology under an emulated Intel
# IOMMU. Proves the machine is what the scenarios after it rely on (IOMMU groups, the shared group behind the
# PCIe-to-PCI bridge, NUMA nodes from the expander bridges, SR-IOV VFs, vfio-pci binding and back), then that
# `vgpuctl gpus` reports it as the kernel does. The kernel's own VFIO_GROUP_GET_STATUS is the oracle for
# viability.
. "$(dirname "$0")/lib.sh"
pci=/sys/bus/pci/devices
scenario_start=$(cut -d' ' -f1 /proc/uptime)
boot_vga=0000:00:01.0 alone=0000:41:00.0 card=0000:42:00.0 card_audio=0000:42:00.1 pcibridge=0000:43:00.0
shared_a=0000:44:01.0 shared_b=0000:44:02.0 igb=0000:45:00.0 node1_gpu=0000:81:00.0 node1_igb=0000:82:00.0
group() { basename "$(readlink "$pci/$1/iommu_group")"; }
driver() { if [ -e "$pci/$1/driver" ]; then basename "$(readlink "$pci/$1/driver")"; else echo none; fi; }
members() { ls "/sys/kernel/iommu_groups/$1/devices" | tr '\n' ' ' | sed 's/ $//'; }

echo "vmtier: lab PCI functions: $(for d in "$pci"/*; do printf '%s(%s,%s,g%s,n%s) ' "$(basename "$d")" "$(cat "$d/class")" \
  "$(driver "$(basename "$d")")" "$(group "$(basename "$d")")" "$(cat "$d/numa_node")"; done)"

# --- the machine ---------------------------------------------------------------------------------------------------
groups_populated() {
  local n; n=$(ls /sys/kernel/iommu_groups | wc -l)
  [ "$n" -ge 10 ] || { echo "only $n IOMMU groups"; return 1; }
  for d in $alone $card $shared_a $igb $node1_gpu; do [ -e "$pci/$d/iommu_group" ] || { echo "$d has no group"; return 1; }; done
}
check "intel_iommu=on: /sys/kernel/iommu_groups is populated and every lab device has a group" groups_populated

own_groups() {
  expect_eq "$alone" "$(members "$(group $alone)")" "a GPU on its own root port is alone in its group" || return 1
  expect_eq "$node1_gpu" "$(members "$(group $node1_gpu)")" "the node-1 GPU too" || return 1
  [ "$(group $alone)" != "$(group $node1_gpu)" ] && [ "$(group $alone)" != "$(group $card)" ]
}
check "GPUs on their own PCIe root ports have their own IOMMU groups" own_groups

shared_group() {
  local g; g=$(group $shared_a)
  expect_eq "$g" "$(group $shared_b)" "both devices behind the pcie-pci-bridge" || return 1
  expect_eq "$pcibridge $shared_a $shared_b" "$(members "$g")" "group $g: the bridge and both devices"
}
check "the two devices behind the pcie-pci-bridge share one IOMMU group (with the bridge)" shared_group

multifunction() {
  expect_eq "$(group $card)" "$(group $card_audio)" "the card's display and audio functions" || return 1
  expect_eq 0x038000 "$(cat $pci/$card/class)" && expect_eq 0x040300 "$(cat $pci/$card_audio/class)"
}
check "the multi-function slot: display at .0 and audio at .1, one IOMMU group" multifunction

numa() {
  local d
  [ -d /sys/devices/system/node/node1 ] || { echo "no NUMA node 1"; return 1; }
  for d in $node1_gpu $node1_igb; do expect_eq 1 "$(cat $pci/$d/numa_node)" "$d under pxb1" || return 1; done
  for d in $alone $card $shared_a $igb; do expect_eq 0 "$(cat $pci/$d/numa_node)" "$d under pxb0" || return 1; done
}
check "two NUMA nodes: numa_node 1 under the node-1 expander bridge, 0 under the node-0 one" numa

boot_vga_set() { expect_eq 1 "$(cat $pci/$boot_vga/boot_vga)" && expect_eq 0x030000 "$(cat $pci/$boot_vga/class)"; }
check "the VGA device on the root complex is the boot VGA device" boot_vga_set

vfs_count() { ls -d "$pci/$igb"/virtfn* 2>/dev/null | wc -l; }
vfs_appear() {
  expect_eq 7 "$(cat $pci/$igb/sriov_totalvfs)" "igb's sriov_totalvfs" || return 1
  echo 2 > "$pci/$igb/sriov_numvfs" || return 1
  wait_until 60 "2 VFs of $igb" - test "$(vfs_count)" = 2 || return 1
  local vf; vf=$(basename "$(readlink "$pci/$igb/virtfn0")")
  expect_eq "$igb" "$(basename "$(readlink "$pci/$vf/physfn")")" "VF $vf's physfn" || return 1
  [ -e "$pci/$vf/iommu_group" ] || { echo "VF $vf has no IOMMU group"; return 1; }
  echo "note: VFs $(for v in "$pci/$igb"/virtfn*; do basename "$(readlink "$v")"; done | tr '\n' ' ')"
}
check "igb: VFs appear after writing sriov_numvfs" vfs_appear

# VFIO_GROUP_GET_STATUS (_IO(';', 103)): bit 0 of flags is VFIO_GROUP_FLAGS_VIABLE, the kernel's own verdict.
group_viable() {
  perl -e 'open(my $f, "+<", $ARGV[0]) or die "open $ARGV[0]: $!\n"; my $s = pack("LL", 8, 0);
           ioctl($f, 0x3b67, $s) or die "VFIO_GROUP_GET_STATUS: $!\n"; my ($n, $flags) = unpack("LL", $s); print $flags & 1, "\n"' "/dev/vfio/$1"
}
bind_vfio() {  # bind_vfio ADDRESS: driver_override + unbind + drivers_probe, as the passthrough will
  echo vfio-pci > "$pci/$1/driver_override"
  [ -e "$pci/$1/driver" ] && echo "$1" > "$pci/$1/driver/unbind"
  echo "$1" > /sys/bus/pci/drivers_probe
  wait_until 30 "$1 to bind to vfio-pci" - test "$(driver "$1")" = vfio-pci
}
unbind_vfio() {  # unbind_vfio ADDRESS ORIGINAL: clear the override, release, probe: the original driver takes it back
  echo > "$pci/$1/driver_override"
  echo "$1" > /sys/bus/pci/drivers/vfio-pci/unbind
  echo "$1" > /sys/bus/pci/drivers_probe
  wait_until 30 "$1 to go back to $2" - test "$(driver "$1")" = "$2"
}

vfio_round_trip() {
  expect_eq bochs-drm "$(driver $alone)" "before" || return 1
  bind_vfio $alone || return 1
  [ -c "/dev/vfio/$(group $alone)" ] || { echo "no /dev/vfio/$(group $alone)"; return 1; }
  expect_eq 1 "$(group_viable "$(group $alone)")" "the kernel's viability of group $(group $alone)" || return 1
  unbind_vfio $alone bochs-drm || return 1
  expect_eq "" "$(cat $pci/$alone/driver_override | sed 's/(null)//')" "driver_override cleared"
}
check "a display device binds to vfio-pci (driver_override + drivers_probe) and goes back to bochs-drm" vfio_round_trip

echo "vmtier: pci-lab: the machine's checks took $(awk -v a="$scenario_start" '{ printf "%.0f", $1 - a }' /proc/uptime) s"
gpus_start=$(cut -d' ' -f1 /proc/uptime)
# --- vgpuctl gpus --------------------------------------------------------------------------------------------------
# One run per state of the host (each run costs a second or more under TCG); gpu ADDRESS reads the last one.
snapshot() { json=$(vg gpus --json); }
gpu() { jq -e --arg a "$1" '.[] | select(.address == $a)' <<<"$json"; }
# reasons ADDRESS: its refusals as ["REASON MEMBER", ...] (MEMBER: the group member a refusal names, if any).
snapshot; text=$(vg gpus)
reasons() { gpu "$1" | jq -c '[.passthrough.refusals[] | .reason + " " + ((.message | capture("with (the bridge )?(?<m>[0-9a-f:.]+),") | .m) // "")]'; }

lists_every_display_function() {
  local want got
  want=$(for d in "$pci"/*; do case $(cat "$d/class") in 0x03*) [ -e "$d/physfn" ] || basename "$d";; esac; done | sort | tr '\n' ' ')
  got=$(jq -r '.[].address' <<<"$json" | sort | tr '\n' ' ')
  expect_eq "$want" "$got" "display-class functions in sysfs vs vgpuctl gpus" || return 1
  jq -e 'length == 6' <<<"$json" > /dev/null
}
check "gpus --json lists every display-class function sysfs has (6)" lists_every_display_function

groups_agree() {
  local d want got
  for d in $alone $card $shared_a $shared_b $node1_gpu $boot_vga; do
    want="$(group $d): $(members "$(group $d)")"
    got=$(gpu $d | jq -r '"\(.iommu_group): \([.iommu_group_members[].address] | join(" "))"')
    expect_eq "$want" "$got" "$d's group" || return 1
  done
  gpu $shared_a | jq -e --arg b $pcibridge '[.iommu_group_members[] | select(.bridge)] | map(.address) == [$b]' > /dev/null \
    || { echo "the pcie-pci-bridge is not marked as the group's bridge"; gpu $shared_a; return 1; }
}
check "gpus: IOMMU groups and their members equal the kernel's (the bridge marked)" groups_agree

numa_agrees() {
  expect_eq 1 "$(gpu $node1_gpu | jq .numa_node)" "$node1_gpu" || return 1
  for d in $alone $card $shared_a; do expect_eq 0 "$(gpu $d | jq .numa_node)" "$d" || return 1; done
  expect_eq null "$(gpu $boot_vga | jq .numa_node)" "the root complex's device has no node (-1)"
}
check "gpus: numa_node 1 under pxb1, 0 under pxb0, none on the root complex" numa_agrees

multifunction_pairing() {
  gpu $card | jq -e --arg f $card_audio '.functions == [{"address": $f, "class": "0x040300"}] and .passthrough.possible' > /dev/null \
    || { gpu $card; return 1; }
  jq -e --arg f $card_audio 'map(.address) | index($f) == null' <<<"$json" > /dev/null || { echo "the audio function listed as a GPU"; return 1; }
}
check "gpus: the multi-function card pairs its audio function and can go whole (same request)" multifunction_pairing

others() {
  gpu $alone | jq -e '.passthrough.possible and .driver == "bochs-drm" and .layout == "none" and .boot_vga == false' > /dev/null \
    || { gpu $alone; return 1; }
  gpu $boot_vga | jq -e '.boot_vga and (.passthrough.refusals | map(.reason) == ["boot-vga"])' > /dev/null || { gpu $boot_vga; return 1; }
  grep -q "^$shared_a .* no\$" <<<"$text" && grep -q "^$alone .* yes\$" <<<"$text" || { echo "$text"; return 1; }
}
check "gpus: a GPU alone in its group can go; the boot VGA device is refused; the table agrees" others

# The shared group, step by step, with the kernel's verdict beside ours at each step. The bridge counts while a
# driver that keeps DMA ownership (shpchp) holds it: since Linux 5.19 the driver decides, not the header type.
bridge_driver=$(driver $pcibridge)
echo "vmtier: the pcie-pci-bridge $pcibridge is bound to: $bridge_driver"
bridge_counts() { [ "$bridge_driver" != none ] && [ "$bridge_driver" != pcieport ]; }
expected_reasons() {  # expected_reasons OTHER...: the refusals of shared_a while OTHER endpoints hold the group
  local r=() m
  bridge_counts && r+=("\"group-member-in-use $pcibridge\"")
  for m in "$@"; do r+=("\"group-member-in-use $m\""); done
  (IFS=,; echo "[${r[*]}]")
}
shared_refused() {
  expect_eq "$(expected_reasons $shared_b)" "$(reasons $shared_a)" "$shared_a's refusals" || return 1
  gpu $shared_a | jq -e '.passthrough.possible == false' > /dev/null || return 1
  bind_vfio $shared_a > /dev/null || return 1
  expect_eq 0 "$(group_viable "$(group $shared_a)")" "the kernel: group $(group $shared_a) viable while $shared_b is on bochs-drm"
}
check "gpus: the shared group is refused naming the other endpoint; the kernel agrees (not viable)" shared_refused

shared_bridge() {
  bind_vfio $shared_b > /dev/null || return 1
  snapshot
  local kernel; kernel=$(group_viable "$(group $shared_a)")
  if bridge_counts; then
    expect_eq 0 "$kernel" "the kernel: group viable with both endpoints on vfio-pci and the bridge on $bridge_driver" || return 1
    expect_eq "$(expected_reasons)" "$(reasons $shared_a)" "$shared_a's refusals: the bridge only" || return 1
    gpu $shared_a | jq -e '.passthrough.refusals[0].fix | startswith("unbind")' > /dev/null || { gpu $shared_a; return 1; }
    echo "$pcibridge" > "$pci/$pcibridge/driver/unbind" || return 1
    snapshot
    kernel=$(group_viable "$(group $shared_a)")
  fi
  expect_eq 1 "$kernel" "the kernel: group viable with both endpoints on vfio-pci and the bridge released" || return 1
  gpu $shared_a | jq -e '.passthrough.possible and .driver == "vfio-pci"' > /dev/null || { gpu $shared_a; return 1; }
}
check "gpus: with the other endpoint on vfio-pci the bridge's driver decides, as for the kernel; released: viable" shared_bridge

shared_back() {
  if bridge_counts; then
    echo "$pcibridge" > /sys/bus/pci/drivers_probe
    wait_until 30 "$pcibridge to go back to $bridge_driver" - test "$(driver $pcibridge)" = "$bridge_driver" || return 1
  fi
  unbind_vfio $shared_b bochs-drm > /dev/null && unbind_vfio $shared_a bochs-drm > /dev/null
}
check "the shared group's devices and bridge go back to their drivers" shared_back

echo "vmtier: pci-lab: the gpus checks took $(awk -v a="$gpus_start" '{ printf "%.0f", $1 - a }' /proc/uptime) s"
finish() { echo 0 > "$pci/$igb/sriov_numvfs" 2>/dev/null; finished=1; echo "$passed passed, $failed failed"; }
finish
