#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): vgpuctl's fixed start-up cost next to its yardsticks, run in turn
# (paired) and reported as medians: /bin/true, a static Swift "hello world" built the same way as vgpuctl
# (swiftc -static-stdlib), commands that do not talk to libvirt, one that loads it, and mdevctl --help.
#   scripts/bench-startup.sh [runs]                  (default 200 runs each)
#   VGPUCTL_BASELINE=/path/to/old/vgpuctl scripts/bench-startup.sh    adds an older build's rows (before/after)
set -euo pipefail
runs=${1:-200}
. "$(dirname "$0")/bench/lib.sh"
echo 'print("hello, world")' > "$work/hello.swift"
(cd "$work" && swiftc -O -static-stdlib hello.swift -o hello)
mkdir -p "$work/empty"
empty=(--sysfs-root "$work/empty" --root "$work/empty")

commands=(hello "$work/hello" ::: /bin/true /bin/true
  ::: "vgpuctl --version" "$bin/vgpuctl" --version
  ::: "vgpuctl types (empty sysfs)" "$bin/vgpuctl" types "${empty[@]}"
  ::: "vgpuctl --help" "$bin/vgpuctl" --help
  ::: "vgpuctl --version --verbose (libvirt)" "$bin/vgpuctl" --version --verbose)
if command -v mdevctl >/dev/null; then commands+=(::: "mdevctl --help" "$(command -v mdevctl)" --help); fi
if [ -n "$baseline" ]; then
  commands+=(::: "baseline types (empty sysfs)" "$baseline" types "${empty[@]}" ::: "baseline --help" "$baseline" --help)
fi
echo "start-up, $runs paired runs each (median); goal: non-libvirt commands within 1.5 ms of hello"
paired "$runs" "${commands[@]}"
echo "shared libraries loaded by 'vgpuctl types': $(LD_DEBUG=libs "$bin/vgpuctl" types "${empty[@]}" 2>&1 >/dev/null | grep -c 'calling init:')" \
     "(by --version --verbose: $(LD_DEBUG=libs "$bin/vgpuctl" --version --verbose 2>&1 >/dev/null | grep -c 'calling init:'))"
