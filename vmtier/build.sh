#!/usr/bin/env bash
# Builds the real-kernel test VM from scratch on a Debian 12 host (idempotent; results cached in $VMTIER_OUT):
#   - Debian's own 6.12 kernel (linux-image-<ver>-amd64-unsigned, extracted with dpkg -x, never installed)
#   - the kernel's sample mdev drivers mtty/mdpy/mbochs (samples/vfio-mdev of linux-source-6.12), built out of
#     tree against the matching linux-headers, with vmtier/patches applied; and the lab's own modules (vmtier/modules/)
#   - a busybox initramfs that loads the modules (and, on the lab machine, the drivers of its PCI devices), mounts the host root read-only over 9p under a tmpfs overlay
#     and hands over to vmtier/guest/stage2.sh
#   - the nested guest, vmtier/guest/pciscan (a bare multiboot program; reports its PCI bus on its serial console)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${VMTIER_OUT:-$here/out}
version=$("$here/kernel-version.sh")
kernel="$out/kernel-$version"
mkdir -p "$out"
log() { echo "vmtier build: $*" >&2; }

if [ ! -f "$kernel/boot/vmlinuz-$version" ]; then
  log "fetching $(basename "$("$here/kernel-version.sh" image-package)")"
  rm -rf "$kernel" "$out"/linux-image-*.deb
  (cd "$out" && apt-get download -qq "$("$here/kernel-version.sh" image-package)" 2>/dev/null)
  dpkg -x "$out"/linux-image-*.deb "$kernel"
  rm -f "$out"/linux-image-*.deb
fi

samples="$out/samples-$version"
patch_sum=$(shopt -s nullglob; cat /dev/null "$here"/patches/*.patch | sha256sum | cut -c1-16)
if [ ! -f "$samples/mtty.ko" ] || [ "$(cat "$samples/.patches" 2>/dev/null)" != "$patch_sum" ]; then
  log "building mtty, mdpy, mbochs against linux-headers-$version"
  rm -rf "$samples" && mkdir -p "$samples"
  tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$samples" --strip-components=3 \
    linux-source-6.12/samples/vfio-mdev/mtty.c linux-source-6.12/samples/vfio-mdev/mdpy.c \
    linux-source-6.12/samples/vfio-mdev/mdpy-defs.h linux-source-6.12/samples/vfio-mdev/mbochs.c
  for p in "$here"/patches/*.patch; do if [ -f "$p" ]; then patch -s -d "$samples" -p1 < "$p"; fi; done
  echo 'obj-m := mtty.o mdpy.o mbochs.o' > "$samples/Kbuild"
  make -s -C "/usr/src/linux-headers-$version" M="$samples" modules >"$samples/build.log" 2>&1 \
    || { cat "$samples/build.log" >&2; exit 1; }
  echo "$patch_sum" > "$samples/.patches"
fi

# The lab's own drivers (vmtier/modules/*: nvlab, the NVIDIA-like vendor-specific VFIO driver for the igb VFs), built
# out of tree like the samples; rebuilt when their sources change.
labmods="$out/modules-$version"
labmods_sum=$(cd "$here/modules" && find . -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
if [ ! -f "$labmods/nvlab/nvlab.ko" ] || [ "$(cat "$labmods/.sources" 2>/dev/null)" != "$labmods_sum" ]; then
  log "building the lab's modules (nvlab) against linux-headers-$version"
  rm -rf "$labmods" && mkdir -p "$labmods" && cp -r "$here/modules/nvlab" "$labmods/"
  make -s -C "/usr/src/linux-headers-$version" M="$labmods/nvlab" modules >"$labmods/build.log" 2>&1 \
    || { cat "$labmods/build.log" >&2; exit 1; }
  echo "$labmods_sum" > "$labmods/.sources"
fi

# Early modules, in load order (busybox insmod needs them decompressed), then the sample drivers.
initrd="$out/initrd-$version.cpio.gz"
if [ ! -f "$initrd" ] || [ "$here/guest/init" -nt "$initrd" ] || [ "$samples/mtty.ko" -nt "$initrd" ] \
   || [ "$0" -nt "$initrd" ] || [ "$labmods/nvlab/nvlab.ko" -nt "$initrd" ]; then
  log "assembling the initramfs"
  staging=$(mktemp -d)
  mkdir -p "$staging"/{bin,dev,proc,sys,modules,host,rw,newroot}
  cp /bin/busybox "$staging/bin/busybox"
  cp "$here/guest/init" "$staging/init" && chmod +x "$staging/init"
  mods="$kernel/lib/modules/$version/kernel"
  order=""
  for m in fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay \
           drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 drivers/vfio/mdev/mdev; do
    name=$(basename "$m")
    xz -dc "$mods/$m.ko.xz" > "$staging/modules/$name.ko"
    order="$order $name"
  done
  for name in mtty mdpy mbochs; do cp "$samples/$name.ko" "$staging/modules/"; order="$order $name"; done
  echo "$order" > "$staging/modules/order"
  # The lab machine's drivers (loaded only there, so the mdev machine's boot is unchanged): bochs for its display
  # devices (and its VGA), igb for its SR-IOV NICs, vfio-pci for whole-device passthrough; dependencies first.
  lab=""
  for m in drivers/gpu/drm/drm drivers/gpu/drm/drm_kms_helper drivers/gpu/drm/ttm/ttm drivers/gpu/drm/drm_ttm_helper \
           drivers/gpu/drm/drm_vram_helper drivers/gpu/drm/tiny/bochs drivers/dca/dca drivers/i2c/algos/i2c-algo-bit \
           drivers/net/ethernet/intel/igb/igb virt/lib/irqbypass drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
    name=$(basename "$m")
    xz -dc "$mods/$m.ko.xz" > "$staging/modules/$name.ko"
    lab="$lab $name"
  done
  # nvlab binds nothing by itself (its id_table is driver_override only), so loading it changes no other scenario.
  cp "$labmods/nvlab/nvlab.ko" "$staging/modules/" && lab="$lab nvlab"
  echo "$lab" > "$staging/modules/order.lab"
  (cd "$staging" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd"
  rm -rf "$staging"
fi

# The nested guest (for libvirt scenarios): a bare multiboot program that reports its PCI devices (a Linux
# guest took minutes to boot under TCG inside TCG; this one prints within a second of the firmware).
"$here/build-pciscan.sh" "$out" >&2

ln -sfn "$kernel/boot/vmlinuz-$version" "$out/vmlinuz"
ln -sfn "$initrd" "$out/initrd.cpio.gz"
log "ready: $out/vmlinuz ($version), $out/initrd.cpio.gz"
