#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing) for issue 10: the pre-copy switchover policy on synthetic traces
# (4 GiB guests on 10 Gbit/s: converging, slow-converging, non-converging, bursty dirty rate, a vGPU with 2 GiB
# of initial device data, bandwidth dips), simulated deterministically (VGPUCore/Migration/MigrationSimulator):
# vgpuctl's adaptive policy against QEMU's default (300 ms, no escalation) and a Nova-like step-up
# (live_migration_downtime 500 ms, 10 steps, 75 s per GiB). Per trace: the downtime achieved, the physical
# lower bound (the least bytes-left/bandwidth of any switchover moment), their ratio, bytes sent over the state
# size, when the switchover happened, and whether it converged.
#   scripts/bench-migration-policy.sh [--max-downtime MS] [--timeout S] [--verbose]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -q --product vgpu-fixture
"$(swift build --show-bin-path)/vgpu-fixture" simulate-migration "$@"
