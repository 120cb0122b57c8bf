#!/bin/bash
# Issue 23's lab machine (vmtier/run.sh boots it for pci-* scenarios): a real PCI topology under an emulated Intel
# IOMMU. Proves the machine is what the scenarios after it rely on (IOMMU groups, the shared group behind the
# PCIe-to-PCI bridge, NUMA nodes from the expander bridges, SR-IOV VFs, vfio-pci binding and back), then that
# `vgpuctl gpus` reports it as the kernel does. The kernel's own VFIO_GROUP_GET_STATUS is the oracle for
# viability.
. "$(dirname "$0")/lib.sh"
pci=/sys/bus/pci/devices
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

# --- vgpuctl gpus --------------------------------------------------------------------------------------------------
gpus() { vg gpus --json; }
gpu() { gpus | jq -e --arg a "$1" '.[] | select(.address == $a)'; }

lists_every_display_function() {
  local want got
  want=$(for d in "$pci"/*; do case $(cat "$d/class") in 0x03*) [ -e "$d/physfn" ] || basename "$d";; esac; done | sort | tr '\n' ' ')
  got=$(gpus | jq -r '.[].address' | sort | tr '\n' ' ')
  expect_eq "$want" "$got" "display-class functions in sysfs vs vgpuctl gpus" || return 1
  gpus | jq -e 'length == 6' > /dev/null
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

shared_refused() {
  local out
  out=$(gpu $shared_a) || return 1
  jq -e '.passthrough.possible == false' <<<"$out" > /dev/null || { echo "$out"; return 1; }
  jq -e --arg b $shared_b '.passthrough.refusals | map(select(.reason == "group-member-in-use" and (.message | contains($b)))) | length == 1' \
    <<<"$out" > /dev/null || { echo "$out"; return 1; }
  gpu $shared_b | jq -e --arg a $shared_a '.passthrough.refusals[0].message | contains($a)' > /dev/null
  expect_eq 0 "$(group_viable_after_bind $shared_a)" "the kernel: group not viable while $shared_b is on bochs-drm"
}
group_viable_after_bind() { bind_vfio "$1" > /dev/null && group_viable "$(group "$1")"; }
check "gpus: the shared group is refused naming the other endpoint; the kernel agrees (not viable)" shared_refused

shared_released() {
  # shared_a is on vfio-pci now (above). With shared_b on vfio-pci too, the group is viable for the kernel and for us.
  bind_vfio $shared_b > /dev/null || return 1
  expect_eq 1 "$(group_viable "$(group $shared_a)")" "the kernel: group viable with both on vfio-pci" || return 1
  gpu $shared_a | jq -e '.passthrough.possible and .driver == "vfio-pci"' > /dev/null || { gpu $shared_a; return 1; }
  unbind_vfio $shared_b bochs-drm > /dev/null && unbind_vfio $shared_a bochs-drm > /dev/null
}
check "gpus: with the other endpoint on vfio-pci the group is viable, as the kernel says; both go back" shared_released

multifunction_pairing() {
  local out
  out=$(gpu $card) || return 1
  jq -e --arg f $card_audio '.functions == [{"address": $f, "class": "0x040300"}]' <<<"$out" > /dev/null || { echo "$out"; return 1; }
  jq -e '.passthrough.possible' <<<"$out" > /dev/null || { echo "$out"; return 1; }
  gpus | jq -e --arg f $card_audio 'map(.address) | index($f) == null' > /dev/null || { echo "the audio function listed as a GPU"; return 1; }
}
check "gpus: the multi-function card pairs its audio function and can go whole (same request)" multifunction_pairing

others() {
  gpu $alone | jq -e '.passthrough.possible and .driver == "bochs-drm" and .layout == "none" and .boot_vga == false' > /dev/null \
    || { gpu $alone; return 1; }
  gpu $boot_vga | jq -e '.boot_vga and (.passthrough.refusals | map(.reason) == ["boot-vga"])' > /dev/null || { gpu $boot_vga; return 1; }
  vg gpus | grep -q "^$shared_a .* no\$" || { vg gpus; return 1; }
}
check "gpus: a GPU alone in its group can go; the boot VGA device is refused; the table agrees" others

finish() { echo 0 > "$pci/$igb/sriov_numvfs" 2>/dev/null; finished=1; echo "$passed passed, $failed failed"; }
finish
