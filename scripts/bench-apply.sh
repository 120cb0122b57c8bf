#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): `vgpuctl apply` on a generated 8 GPU x 32 VF host (vgpu-fixture
# --host large), paired runs (scripts/bench/paired.c):
#   1. a full layout (32 x nvidia-500 on every GPU: 256 creates and 256 auto definitions, journaled, GPUs in
#      parallel lanes) on the mdev tree, against the floor: a serial loop of the same 256 raw sysfs writes
#      (`echo UUID > .../create`), and against the floor + definitions: the same writes, each followed by writing
#      the same definition file vgpuctl writes (mdevctl's bytes, plain writes, the directories made by one mkdir),
#      then one `sync -f` (syncfs, as apply makes its definitions durable). All run from a small shell wrapper that
#      first resets the root's state. On a fixture tree a create is a plain file write (no driver work), so this
#      measures vgpuctl's own cost: reading the host, planning, the journal and the definitions.
#   2. a no-op apply (the layout already there: the vendor-specific VFIO tree, whose state is sysfs files) against
#      `vgpuctl types` on the same tree. Target: at most 20 ms over types.
# mdevctl cannot run on a fixture tree (it needs the kernel's mdev bus to create anything), so the `mdevctl
# define` + `mdevctl start` loop sites script today is not measured here; the VM tier's lab is where it can be.
#   scripts/bench-apply.sh [runs]      (default 10 runs each)
#   VGPUCTL_BASELINE=PATH scripts/bench-apply.sh   adds the same apply by an older vgpuctl binary (before/after)
set -euo pipefail
runs=${1:-10}
. "$(dirname "$0")/bench/lib.sh"
"$bin/vgpu-fixture" "$work/mdev" --host large --gpus 8 --vfs 32 --types 24 --layout mdev
"$bin/vgpu-fixture" "$work/vfio" --host large --gpus 8 --vfs 32 --types 24 --layout vfio
mkdir -p "$work/root/etc/vgpuctl" "$work/root-vfio/etc/vgpuctl"
cat > "$work/apply.conf" <<'CONF'
layout = "full"

[[layouts.full.entries]]
gpus = "all"
vgpus = { "nvidia-500" = 32 }
CONF

# The floor: the same 256 creates, one sysfs write each, in a row.
uuidgen_list=$(for i in $(seq 256); do printf '00000000-0000-4000-8000-%012x\n' "$i"; done)
printf '%s\n' "$uuidgen_list" > "$work/uuids"
cat > "$work/floor.sh" <<SH
#!/bin/bash
exec 3<"$work/uuids"
for parent in "$work"/mdev/class/mdev_bus/*; do read -r u <&3; echo "\$u" > "\$parent/mdev_supported_types/nvidia-500/create"; done
SH
# The floor + definitions: the same writes, and the same definition files (plain writes, no temporaries), one syncfs.
{ printf 'work=%q\n' "$work"; cat <<'SH'; } > "$work/floor-definitions.sh"
rm -rf "$work/root/etc/mdevctl.d" "$work/root/var/lib/vgpuctl"
defs=$work/root/etc/mdevctl.d
parents=("$work"/mdev/class/mdev_bus/*)
mkdir -p "${parents[@]/#*\/mdev_bus\//$defs/}"
exec 3<"$work/uuids"
for parent in "${parents[@]}"; do
  read -r u <&3
  echo "$u" > "$parent/mdev_supported_types/nvidia-500/create"
  printf '{\n  "mdev_type": "nvidia-500",\n  "start": "auto",\n  "attrs": []\n}' > "$defs/${parent##*/}/$u"
done
sync -f "$defs"
SH
sed -i '1i #!/bin/bash' "$work/floor-definitions.sh"
cat > "$work/apply.sh" <<SH
#!/bin/bash
rm -rf "$work/root/etc/mdevctl.d" "$work/root/var/lib/vgpuctl"
VGPUCTL_CONFIG="$work/apply.conf" exec "$bin/vgpuctl" apply --root "$work/root" --sysfs-root "$work/mdev" 2>/dev/null
SH
cat > "$work/apply-baseline.sh" <<SH
#!/bin/bash
rm -rf "$work/root/etc/mdevctl.d" "$work/root/var/lib/vgpuctl"
VGPUCTL_CONFIG="$work/apply.conf" exec "${baseline:-/bin/false}" apply --root "$work/root" --sysfs-root "$work/mdev" 2>/dev/null
SH
cat > "$work/reset.sh" <<SH
#!/bin/bash
rm -rf "$work/root/etc/mdevctl.d" "$work/root/var/lib/vgpuctl"
SH
chmod +x "$work"/*.sh
export work bin baseline runs
echo "== full layout: 8 GPUs x 32 x nvidia-500 (256 creates + 256 definitions), $runs paired runs each"
with_baseline=()
[ -n "$baseline" ] && with_baseline=(::: "baseline vgpuctl apply (full layout)" "$work/apply-baseline.sh")
paired "$runs" "serial sysfs writes (floor)" "$work/floor.sh" ::: "floor + definitions, one syncfs" "$work/floor-definitions.sh" \
  ::: "vgpuctl apply (full layout)" "$work/apply.sh" "${with_baseline[@]}" ::: "wrapper's reset alone" "$work/reset.sh"
"$work/apply.sh" >/dev/null
echo "definitions written by one apply: $(find "$work/root/etc/mdevctl.d" -type f | wc -l)"
# The floor's definitions are vgpuctl's files (else the row would not be the same work): per parent, same bytes.
contents() { (cd "$work/root/etc/mdevctl.d" && for d in */; do printf '%s %s\n' "$d" "$(cat "$d"*)"; done | md5sum); }
applied=$(contents)
"$work/floor-definitions.sh"
echo "floor + definitions: $(find "$work/root/etc/mdevctl.d" -type f | wc -l) files, the same bytes as apply's: $([ "$applied" = "$(contents)" ] && echo yes || echo NO)"

echo "== no-op apply on the VFIO tree (layout already applied), $runs paired runs each"
VGPUCTL_CONFIG="$work/apply.conf" "$bin/vgpuctl" apply --root "$work/root-vfio" --sysfs-root "$work/vfio" >/dev/null 2>&1
rc=0; VGPUCTL_CONFIG="$work/apply.conf" "$bin/vgpuctl" apply --dry-run --root "$work/root-vfio" --sysfs-root "$work/vfio" >/dev/null || rc=$?
echo "second apply --dry-run exit status: $rc (0: nothing to do)"
cat > "$work/noop.sh" <<SH
#!/bin/bash
VGPUCTL_CONFIG="$work/apply.conf" exec "$bin/vgpuctl" apply --root "$work/root-vfio" --sysfs-root "$work/vfio"
SH
cat > "$work/types.sh" <<SH
#!/bin/bash
exec "$bin/vgpuctl" types --root "$work/root-vfio" --sysfs-root "$work/vfio"
SH
chmod +x "$work"/*.sh
paired "$runs" "vgpuctl types" "$work/types.sh" ::: "vgpuctl apply (no-op)" "$work/noop.sh"
