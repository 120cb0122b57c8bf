#!/usr/bin/env bash
# Builds OUTDIR/pciscan.elf, the nested test guest (vmtier/guest/pciscan: a bare 32-bit multiboot program that
# QEMU's -kernel boots directly), with the Debian toolchain alone: freestanding, no libc headers, no libgcc, so
# gcc-multilib is not needed. Idempotent: rebuilds only when a source is newer than the ELF.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/guest/pciscan"
out=${1:?usage: build-pciscan.sh OUTDIR}
elf="$out/pciscan.elf"
mkdir -p "$out"
if [ -f "$elf" ] && [ -z "$(find "$src" "$0" -newer "$elf" -type f)" ]; then
  echo "pciscan: $elf is up to date"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cflags=(-m32 -ffreestanding -fno-pic -fno-stack-protector -nostdlib -fno-builtin -fno-asynchronous-unwind-tables
        -fno-tree-loop-distribute-patterns -mno-sse -mno-mmx -O2 -Wall -Wextra -Werror)
gcc "${cflags[@]}" -c "$src/entry.S" -o "$tmp/entry.o"
gcc "${cflags[@]}" -c "$src/pciscan.c" -o "$tmp/pciscan.o"
ld -m elf_i386 -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T "$src/linker.ld" -o "$tmp/pciscan.elf" "$tmp/entry.o" "$tmp/pciscan.o"
# the multiboot header (magic 0x1BADB002, little-endian) must lie in the file's first 8 KiB
od -An -tx4 -w4 -N8192 -v "$tmp/pciscan.elf" | grep 1badb002 >/dev/null || { echo "pciscan: no multiboot header in the first 8 KiB" >&2; exit 1; }
mv "$tmp/pciscan.elf" "$elf"
echo "pciscan: built $elf ($(stat -c %s "$elf") bytes)"
