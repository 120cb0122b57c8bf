#!/bin/bash
# Issue 23, NVIDIA's vendor-specific VFIO on real SR-IOV VFs (the lab machine; vmtier/run.sh boots it for pci-*).
# The igb NICs' VFs stand for an H200's: the lab's nvlab module (vmtier/modules/nvlab), a vfio-pci-core variant
# driver, gives each bound VF NVIDIA's nvidia/{creatable_vgpu_types,current_vgpu_type,vgpu_params}. Proves the
# module's rules against the kernel (per-PF state, homogeneity, maximum instances, EINVAL, EBUSY while open, no
# open without a type), then vgpuctl on it: types grouped by PF, create --vm with pack and spread, the VF attached
# as <hostdev type='pci' managed='no'> and seen by a nested guest, refusals with clear messages, destroy --vm,
# NUMA placement and `plan`'s reason, --lifetime domain through the hook, and vgpud enabling VFs after a reload.
. "$(dirname "$0")/lib.sh"
pci=/sys/bus/pci/devices
pf0=0000:45:00.0 pf1=0000:82:00.0   # igb PFs: node 0 and node 1
per_pf=3
driver() { if [ -e "$pci/$1/driver" ]; then basename "$(readlink "$pci/$1/driver")"; else echo none; fi; }
vfs_of() { for v in "$pci/$1"/virtfn*; do [ -e "$v" ] && basename "$(readlink "$v")"; done | sort; }
vf_count() { vfs_of "$1" | wc -l; }
cur() { cat "$pci/$1/nvidia/current_vgpu_type"; }
creatable() { sed 1d "$pci/$1/nvidia/creatable_vgpu_types" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//'; }
set_type() { echo "$2" > "$pci/$1/nvidia/current_vgpu_type"; }   # set_type VF ID: fails as the kernel says
errno_of() {  # errno_of FILE VALUE: the kernel's answer to one write, as perl's $! names it ("ok" if none)
  perl -e 'open(my $f, ">", $ARGV[0]) or die "open: $!\n"; syswrite($f, $ARGV[1]) or do { print "$!\n"; exit }; print "ok\n"' "$1" "$2"
}
bind_nvlab() {  # bind_nvlab VF: driver_override + drivers_probe, as variant drivers are bound
  echo nvlab > "$pci/$1/driver_override" && echo "$1" > /sys/bus/pci/drivers_probe
  wait_until 30 "$1 to bind to nvlab" - test "$(driver "$1")" = nvlab
}
release_all() { for v in $(vfs_of $pf0) $(vfs_of $pf1); do [ -e "$pci/$v/nvidia" ] && set_type "$v" 0 2>/dev/null; done; true; }

# VFIO, the way QEMU opens a device: container, type1v2 IOMMU, the group, then the device by name (perl, for the
# ioctls). vfio_open VF [SECONDS]: prints the device fd's result ("ok" or the errno), then holds it for SECONDS.
vfio_open() {
  local group; group=$(basename "$(readlink "$pci/$1/iommu_group")")
  exec perl -e '
    my ($group, $name, $hold) = @ARGV;
    open(my $c, "+<", "/dev/vfio/vfio") or die "container: $!\n";
    open(my $g, "+<", "/dev/vfio/$group") or die "group $group: $!\n";
    ioctl($g, 0x3b68, pack("i", fileno($c))) or die "VFIO_GROUP_SET_CONTAINER: $!\n";
    ioctl($c, 0x3b66, 3) or die "VFIO_SET_IOMMU: $!\n";
    my $fd = ioctl($g, 0x3b6a, "$name\0");
    if (!defined $fd) { print "$!\n"; exit 0; }
    print "ok\n"; $| = 1; sleep($hold) if $hold;' "$group" "$1" "${2:-0}"
}

remove_all_mdevs
rm -rf /etc/vgpuctl /var/lib/vgpuctl /run/vgpuctl
enable_and_bind() {
  local pf v
  for pf in $pf0 $pf1; do
    echo 0 > "$pci/$pf/sriov_numvfs" && echo $per_pf > "$pci/$pf/sriov_numvfs" || return 1
    wait_until 60 "$per_pf VFs of $pf" - test "$(vf_count $pf)" = $per_pf || return 1
  done
  for v in $(vfs_of $pf0) $(vfs_of $pf1); do
    expect_eq none "$(driver "$v")" "$v before binding (nvlab's id_table is driver_override only)" || return 1
    bind_nvlab "$v" || return 1
    # The driver core adds the driver's attribute groups just after probe, so a moment after the driver link.
    wait_until 10 "$v's nvidia/" - test -r "$pci/$v/nvidia/creatable_vgpu_types" || return 1
  done
  echo "note: VFs $(vfs_of $pf0 | tr '\n' ' ')on $pf0, $(vfs_of $pf1 | tr '\n' ' ')on $pf1"
}
check "$per_pf VFs on each igb PF, bound to nvlab through driver_override: each has nvidia/" enable_and_bind
read -r a0 a1 a2 <<<"$(vfs_of $pf0 | tr '\n' ' ')"
read -r b0 b1 b2 <<<"$(vfs_of $pf1 | tr '\n' ' ')"
all_types="1420 1421 1422 1423 1424 1425 1426 1427 1428 1429"

# --- the module's rules ----------------------------------------------------------------------------------------------
listing() {
  expect_eq "ID    : vGPU Name" "$(head -1 "$pci/$a0/nvidia/creatable_vgpu_types")" "the header" || return 1
  expect_eq "1428  : NVIDIA H200X-70C" "$(grep '^1428 ' "$pci/$a0/nvidia/creatable_vgpu_types")" "a line" || return 1
  for v in $a0 $b2; do expect_eq "$all_types" "$(creatable $v)" "$v's creatable types" || return 1; done
  expect_eq 0 "$(cur $a0)" "current_vgpu_type before any write" || return 1
  # Byte for byte what vgpuctl's fixture trees write and its reader is tested on (SysfsReaderTests).
  cmp "$pci/$a0/nvidia/creatable_vgpu_types" "$VMTIER_REPO/Tests/VGPUHostTests/Expected/nvlab-creatable_vgpu_types.txt" \
    || { diff "$VMTIER_REPO/Tests/VGPUHostTests/Expected/nvlab-creatable_vgpu_types.txt" "$pci/$a0/nvidia/creatable_vgpu_types"; return 1; }
}
check "creatable_vgpu_types: NVIDIA's header and the 10 H200X C-series types, as vgpuctl's fixture trees write it" listing

rules() {
  set_type $a0 1428 || return 1
  expect_eq 1428 "$(cur $a0)" || return 1
  expect_eq "" "$(creatable $a0)" "a VF that is a vGPU offers nothing" || return 1
  expect_eq 1428 "$(creatable $a1)" "homogeneous: $pf0's other VFs offer only 1428" || return 1
  expect_eq "$all_types" "$(creatable $b0)" "state is per PF: $pf1 still offers everything" || return 1
  expect_eq "Invalid argument" "$(errno_of "$pci/$a1/nvidia/current_vgpu_type" 1426)" "another type on $pf0" || return 1
  expect_eq "Invalid argument" "$(errno_of "$pci/$a1/nvidia/current_vgpu_type" 999)" "an unknown type" || return 1
  expect_eq "Device or resource busy" "$(errno_of "$pci/$a0/nvidia/current_vgpu_type" 1427)" "a typed VF must be released first" || return 1
  set_type $a1 1428 || return 1
  expect_eq "" "$(creatable $a2)" "H200X-70C: at most 2 per GPU" || return 1
  expect_eq "Invalid argument" "$(errno_of "$pci/$a2/nvidia/current_vgpu_type" 1428)" "a third 70C on $pf0" || return 1
  set_type $a0 0 && set_type $a1 0 || return 1
  expect_eq "$all_types" "$(creatable $a2)" "every type back once the last vGPU is released"
}
check "types per PF: homogeneous, at most 141/70 = 2 × H200X-70C, EINVAL for what is not creatable, EBUSY to retype" rules

params() {
  expect_eq "Invalid argument" "$(errno_of "$pci/$a0/nvidia/vgpu_params" enable_uvm=1)" "vgpu_params without a type" || return 1
  set_type $a0 1426 && echo enable_uvm=1 > "$pci/$a0/nvidia/vgpu_params" || return 1
  expect_eq enable_uvm=1 "$(cat "$pci/$a0/nvidia/vgpu_params")" || return 1
  set_type $a0 0 && set_type $a0 1426 || return 1
  expect_eq "" "$(cat "$pci/$a0/nvidia/vgpu_params")" "parameters go with the released vGPU"
  set_type $a0 0
}
check "vgpu_params: refused without a type, kept while typed, cleared on release" params

open_rules() {
  local out pid
  expect_eq "No such device" "$(vfio_open $a0)" "opening an untyped VF through VFIO" || return 1
  set_type $a0 1426 || return 1
  vfio_open $a0 60 > /tmp/vfio-open.out & pid=$!
  wait_until 20 "the VFIO open of $a0" - grep -q . /tmp/vfio-open.out || { kill $pid; return 1; }
  expect_eq ok "$(cat /tmp/vfio-open.out)" "opening a typed VF" || { kill $pid; return 1; }
  out=$(errno_of "$pci/$a0/nvidia/current_vgpu_type" 0)
  local params; params=$(errno_of "$pci/$a0/nvidia/vgpu_params" a=b)
  kill $pid; wait $pid 2>/dev/null
  expect_eq "Device or resource busy" "$out" "release while open" || return 1
  expect_eq "Device or resource busy" "$params" "vgpu_params while open" || return 1
  wait_until 10 "the release once closed" - set_type $a0 0
}
check "VFIO: an untyped VF refuses to open (ENODEV); open, its type and parameters are EBUSY; closed, released" open_rules

reader_agrees() {
  local json v
  json=$(vg types --json) || return 1
  for v in $a0 $a1 $a2 $b0 $b1 $b2; do
    expect_eq "$(creatable $v | sed 's/\([0-9]*\)/nvidia-\1/g')" \
      "$(jq -r --arg p $v '.[] | select(.parent == $p) | [.types[].type] | join(" ")' <<<"$json")" "$v's types" || return 1
  done
  expect_eq "NVIDIA H200X-70C" "$(jq -r --arg p $a0 '.[] | select(.parent == $p) | .types[] | select(.type == "nvidia-1428") | .name' <<<"$json")" || return 1
  jq -e --arg p0 $pf0 --arg p1 $pf1 --arg a $a0 --arg b $b0 \
    '(.[] | select(.parent == $a) | .gpu == $p0 and .layout == "nvidia-vfio" and .numa_node == 0)
     and (.[] | select(.parent == $b) | .gpu == $p1 and .numa_node == 1)' <<<"$json" > /dev/null || { echo "$json" | head -30; return 1; }
}
check "vgpuctl types --json reads what the module offers: each VF's types, grouped under its PF, with the PF's NUMA node" reader_agrees

gpus_lists_pfs() {
  local json; json=$(vg gpus --json) || return 1
  for pf in $pf0 $pf1; do
    jq -e --arg p $pf '.[] | select(.address == $p) | .layout == "nvidia-vfio" and .sriov.num_vfs == 3 and .sriov.total_vfs == 7' <<<"$json" > /dev/null \
      || { jq --arg p $pf '.[] | select(.address == $p)' <<<"$json"; return 1; }
  done
}
check "gpus: both igb PFs carry the vendor-specific layout (3 of 7 VFs)" gpus_lists_pfs

# --- vgpuctl on the VFs -------------------------------------------------------------------------------------------------
export LIBVIRT_DEFAULT_URI=qemu:///system
config() { mkdir -p /etc/vgpuctl && cat > /etc/vgpuctl/vgpuctl.conf; }
gpu_of() { jq -r '.[].gpu' | sort | tr '\n' ' ' | sed 's/ $//'; }
vf_state() { local v; for v in $(vfs_of $pf0) $(vfs_of $pf1); do printf '%s=%s ' "$v" "$(cur "$v")"; done; }
all_untyped() { local v; for v in $(vfs_of $pf0) $(vfs_of $pf1); do [ "$(cur "$v")" = 0 ] || { echo "typed: $(vf_state)"; return 1; }; done; }

pack_and_spread() {
  local out uuids
  printf '[groups.lab]\npolicy = "spread"\ngpus = ["%s", "%s"]\n' $pf0 $pf1 | config
  out=$(vg create --type nvidia-1426 --count 2 --group lab --json) || return 1
  expect_eq "$pf0 $pf1" "$(gpu_of <<<"$out")" "spread: one per physical GPU" || return 1
  for u in $(jq -r '.[].uuid' <<<"$out"); do vg remove "$u" || return 1; done
  printf '[groups.lab]\npolicy = "pack"\ngpus = ["%s", "%s"]\n' $pf0 $pf1 | config
  out=$(vg create --type nvidia-1426 --count 2 --group lab --json) || return 1
  expect_eq "$pf0 $pf0" "$(gpu_of <<<"$out")" "pack: both on one physical GPU" || return 1
  for u in $(jq -r '.[].uuid' <<<"$out"); do vg remove "$u" || return 1; done
  all_untyped
}
check "create: spread puts two H200X-35C on two PFs, pack on one (config policies); remove releases them" pack_and_spread
release_all; rm -f /run/vgpuctl/vf/*

driver_refusal() {
  local err
  printf '[groups.node1]\ngpus = ["%s"]\n' $pf1 | config
  # Each of pf1's 3 VFs lists 1428 while none is typed; the module allows 2 per GPU, so the third write fails.
  err=$(expect_exit 4 vg create --type nvidia-1428 --count 3 --group node1) || { echo "$err"; return 1; }
  grep -q "GPU $pf1 cannot host one more nvidia-1428" <<<"$err" || { echo "unclear: $err"; return 1; }
  echo "note: $(head -1 <<<"$err")"
  all_untyped || { echo "not rolled back"; return 1; }
  rm -f /etc/vgpuctl/vgpuctl.conf
}
check "the driver's EINVAL (a third H200X-70C on one GPU) is exit 4 naming the GPU; the two made are rolled back" driver_refusal
rm -f /etc/vgpuctl/vgpuctl.conf

# The libvirt hook first, so that libvirtd reads it when it starts.
"$VGPUCTL" install-hook > /dev/null
check "libvirtd starts (vgpuctl's hook installed)" start_libvirtd
hostdev_of_vf() {  # the domain's <hostdev> for VF $2 in its definition, as one line
  virsh dumpxml --inactive "$1" | tr -d '\n' | grep -o "<hostdev [^>]*>.\{0,200\}bus='0x${2:5:2}' slot='0x${2:8:2}' function='0x${2:11:1}'"
}

create_vm() {
  define_guest web01 || return 1
  uuid=$(vg create --type nvidia-1426 --vm web01) || return 1
  local vf; vf=$(vg list --json | jq -r --arg u "$uuid" '.[] | select(.uuid == $u) | .pci_address')
  expect_eq 1426 "$(cur "$vf")" "$vf's current_vgpu_type" || return 1
  hostdev_of_vf web01 "$vf" | grep -q "type='pci' managed='no'" || { echo "no managed='no' pci hostdev for $vf"; virsh dumpxml --inactive web01 | grep -A4 hostdev; return 1; }
  echo "$uuid $vf" > /tmp/web01-vgpu
  virsh start web01 > /dev/null || return 1
  guest_sees_vf web01
}
check "create --type nvidia-1426 --vm web01: VF typed, <hostdev type='pci' managed='no'>; virsh start: the nested guest sees it" create_vm
read -r web_uuid web_vf < /tmp/web01-vgpu 2>/dev/null || true

busy_while_running() {
  local err
  expect_eq "Device or resource busy" "$(errno_of "$pci/$web_vf/nvidia/current_vgpu_type" 0)" "the kernel, while QEMU has the VF open" || return 1
  err=$(expect_exit 5 vg remove "$web_uuid") || { echo "$err"; return 1; }
  grep -q "qemu" <<<"$err" || { echo "does not name QEMU: $err"; return 1; }
  err=$(expect_exit 2 vg create --type nvidia-1428 --parent "$(vfs_of "$(basename "$(readlink "$pci/$web_vf/physfn")")" | grep -v "$web_vf" | head -1)") \
    || { echo "$err"; return 1; }
  echo "note: another type: $(head -1 <<<"$err")"
  expect_eq 1426 "$(cur "$web_vf")"
}
check "while the guest runs: the kernel says EBUSY, remove is exit 5 naming QEMU; another type on that GPU is refused (exit 2)" busy_while_running

destroy_vm() {
  virsh destroy web01 > /dev/null || return 1
  vg destroy --vm web01 || return 1
  expect_eq 0 "$(cur "$web_vf")" "current_vgpu_type after destroy --vm" || return 1
  ! virsh dumpxml --inactive web01 | grep -q "<hostdev" || { echo "hostdev left"; return 1; }
  virsh undefine web01 > /dev/null
}
check "destroy --vm web01 clears the VF's current_vgpu_type and the hostdev" destroy_vm

numa() {
  local first second third plan
  guest_xml numa1 "<cputune><vcpupin vcpu='0' cpuset='1'/></cputune>" > /tmp/numa1.xml && virsh define /tmp/numa1.xml > /dev/null || return 1
  all_untyped || return 1
  plan=$(vg plan --type nvidia-1428 --vm numa1 --json) || return 1
  jq -e --arg p $pf1 '.[0].gpu == $p and (.[0].reason | endswith("on the domain'"'"'s NUMA node 1"))' <<<"$plan" > /dev/null || { echo "$plan"; return 1; }
  first=$(vg create --type nvidia-1428 --vm numa1 --json) && second=$(vg create --type nvidia-1428 --vm numa1 --json) || return 1
  expect_eq "$pf1 $pf1" "$(jq -s 'add' <<<"$first$second" | gpu_of)" "the first two, on node 1" || return 1
  plan=$(vg plan --type nvidia-1428 --vm numa1 --json) || return 1
  jq -e --arg p $pf0 '.[0].gpu == $p and (.[0].reason | endswith("NUMA node 1 have no room for nvidia-1428, so node 0"))' <<<"$plan" > /dev/null \
    || { echo "$plan"; return 1; }
  echo "note: plan: $(jq -r '.[0].reason' <<<"$plan")"
  third=$(vg create --type nvidia-1428 --vm numa1 --json) || return 1
  expect_eq "$pf0" "$(gpu_of <<<"$third")" "the third, on node 0 (node 1's GPU holds its maximum of 2)" || return 1
  vg destroy --vm numa1 && virsh undefine numa1 > /dev/null && all_untyped
}
check "NUMA: a domain pinned to node 1's CPU gets VFs under the node-1 PF while it has room, then node 0; plan says why" numa

lifetime_domain() {
  define_guest life1 || return 1
  local uuid vf
  uuid=$(vg create --type nvidia-1426 --vm life1 --lifetime domain) || return 1
  vf=$(virsh dumpxml --inactive life1 | sed -n 's/.*lifetime=.domain. vf=.\([0-9a-f:.]*\).*/\1/p')
  [ -n "$vf" ] || { echo "no vf in life1's metadata"; virsh dumpxml --inactive life1 | grep -A3 metadata; return 1; }
  expect_eq 0 "$(cur "$vf")" "nothing typed before the start" || return 1
  hostdev_of_vf life1 "$vf" | grep -q "managed='no'" || { echo "no hostdev for $vf"; return 1; }
  for round in 1 2; do
    virsh start life1 > /dev/null || return 1
    expect_eq 1426 "$(cur "$vf")" "round $round: typed by the hook at start" || return 1
    guest_sees_vf life1 || return 1
    virsh destroy life1 > /dev/null || return 1
    wait_until 30 "round $round: the hook to release $vf at release end" - test "$(cur "$vf")" = 0 || return 1
    rm -f /tmp/life1-console.log
  done
  echo "note: VF $vf typed at each start, released at each stop ($uuid)"
  vg destroy --vm life1 && virsh undefine life1 > /dev/null
}
check "--lifetime domain on a VF: reserved in the definition, typed by the hook at virsh start, released at destroy (twice)" lifetime_domain

VGPUD="$(dirname "$VGPUCTL")/vgpud"; [ -x "$VGPUD" ] || VGPUD=/usr/sbin/vgpud
nvlab_ko="$VMTIER_OUT/modules-$(uname -r)/nvlab/nvlab.ko"
# kwrite FILE VALUE WHAT: one sysfs write, bounded (a driver waiting for a device's users blocks its writer in the
# kernel); on a timeout, what the writer waits in and who holds VFIO files.
kwrite() {
  ( echo "$2" > "$1" ) & local pid=$!
  if ! wait_until 30 "$3 ($1 <- $2)" - eval "! kill -0 $pid 2>/dev/null"; then
    echo "  writer $pid's kernel stack:"; sed 's/^/    /' "/proc/$pid/stack" 2>/dev/null | head -12
    echo "  VFIO holders:"; ls -l /proc/[0-9]*/fd 2>/dev/null | grep -E 'vfio' | head -5
    return 1
  fi
  wait $pid
}
vgpud_vfs() {
  stop_libvirtd > /dev/null
  auto=$(vg define --type nvidia-1426 --parent $a0 --auto) || return 1
  local pf
  for pf in $pf0 $pf1; do kwrite "$pci/$pf/sriov_numvfs" 0 "$pf's VFs to go" || return 1; done
  # The vendor driver reloaded, binding VFs as they appear (as NVIDIA's does).
  timeout 30 rmmod nvlab || { echo "rmmod nvlab failed"; return 1; }
  timeout 30 insmod "$nvlab_ko" bind_vfs=1 || { echo "could not load $nvlab_ko bind_vfs=1"; return 1; }
  printf '[gpus."%s"]\nsriov_numvfs = 3\n[gpus."%s"]\nsriov_numvfs = 3\n' $pf0 $pf1 | config
  ip link set lo up 2>/dev/null
  # Its stdout away from the check's output pipe, which would otherwise wait for vgpud to end.
  "$VGPUD" --listen 127.0.0.1:9478 --reconcile-interval 3600 > /dev/null 2> /tmp/vgpud-vf.log & echo $! > /tmp/vgpud-vf.pid
  wait_until 90 "vgpud to enable 3 VFs on each PF and start the auto vGPU on $a0" /tmp/vgpud-vf.log \
    eval "[ \$(vf_count $pf0) = 3 ] && [ \$(vf_count $pf1) = 3 ] && [ \"\$(cur $a0 2>/dev/null)\" = 1426 ]" || return 1
  expect_eq nvlab "$(driver $b2)" "VFs bound as they appeared" || return 1
  # The PF's driver reloaded: unbinding igb takes the VFs (and so the vGPU) along; binding it again brings none.
  local t0; t0=$(date +%s.%N)
  kwrite /sys/bus/pci/drivers/igb/unbind $pf0 "igb to let $pf0 go" || return 1
  expect_eq 0 "$(vf_count $pf0)" "VFs after the PF's driver unbound" || return 1
  kwrite /sys/bus/pci/drivers/igb/bind $pf0 "igb to take $pf0 again" || return 1
  wait_until 90 "vgpud to enable $pf0's VFs again and start the auto vGPU on $a0" /tmp/vgpud-vf.log \
    eval "[ \$(vf_count $pf0) = 3 ] && [ \"\$(cur $a0 2>/dev/null)\" = 1426 ]" || return 1
  echo "note: igb bound again -> 3 VFs and the auto vGPU back in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  grep -q "driver bound again: enabled 3 VFs" /tmp/vgpud-vf.log || { echo "vgpud's log does not say so:"; tail -20 /tmp/vgpud-vf.log; return 1; }
  expect_eq "$auto" "$(vg list --json | jq -r --arg v $a0 '.[] | select(.parent == $v) | .uuid')" "the vGPU's UUID" || return 1
}
check "vgpud enables VFs from the config after the vendor driver's reload, again after the PF's driver rebinds, and starts the auto vGPU each time" vgpud_vfs

finish_scenario() {
  [ -s /tmp/vgpud-vf.pid ] && kill "$(cat /tmp/vgpud-vf.pid)" 2>/dev/null
  [ -n "${auto:-}" ] && vg undefine "$auto" > /dev/null 2>&1
  for d in web01 numa1 life1; do virsh destroy $d > /dev/null 2>&1; virsh undefine $d > /dev/null 2>&1; done
  stop_libvirtd > /dev/null 2>&1
  "$VGPUCTL" uninstall-hook > /dev/null 2>&1
  release_all
  for v in $(vfs_of $pf0) $(vfs_of $pf1); do echo > "$pci/$v/driver_override"; done
  echo 0 > "$pci/$pf0/sriov_numvfs"; echo 0 > "$pci/$pf1/sriov_numvfs"
  # Back to the boot's nvlab (binding nothing by itself) for any later scenario.
  grep -q '^nvlab ' /proc/modules && [ "$(cat /sys/module/nvlab/parameters/bind_vfs)" = Y ] && rmmod nvlab && insmod "$nvlab_ko"
  rm -rf /etc/vgpuctl /var/lib/vgpuctl
  finish
}
finish_scenario
