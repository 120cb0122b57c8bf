#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it needs, runs the unit and fixture-tree
# tests (swift test), a bounded fuzzing run of every reader of untrusted bytes, then the package tier (builds the .deb and installs, upgrades, removes and purges it in a
# minimal Debian 12 root; lintian), then boots the real-kernel VM tier and runs every scenario in it against that
# package, installed in the VM. What needs no compiler (the VM's kernel, its sample drivers and initramfs; the
# package tier's debootstrap) is prepared in the background while the unit tests build and run. Ends with a table
# of where the time went.
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --unit     swift test only
#   scripts/test.sh --fuzz     the fuzz targets only (FUZZ_RUNS inputs a target from seed FUZZ_SEED; scripts/fuzz.sh)
#   scripts/test.sh --package  the package tier only
#   scripts/test.sh --vm core  the VM tier only, these scenarios (VMTIER_FROM=build: against the build instead)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
logs=${TEST_LOGS:-/tmp/vgpuctl-test}
rm -rf "$logs" && mkdir -p "$logs"
timings=$logs/timings
export VMTIER_TIMINGS=$timings
started=$(date +%s)
phase_start=$started
phase_done() {  # phase_done NAME: records the time since the last phase ended
  local now; now=$(date +%s)
  echo "$1 $(( now - phase_start ))" >> "$timings"; phase_start=$now
}
failed=0 passed=0 finished=0
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
summary() {
  finished=1
  echo "== where the time went (seconds)"
  awk '{ printf "  %-34s %6d\n", $1, $2 }' "$timings" 2>/dev/null || true
  printf '  %-34s %6d\n' "total" $(( $(date +%s) - started ))
  echo "test suites: $passed passed, $failed failed"
}
# An early end (install-deps failing, a missing tool) still says what failed, and the summary.
trap 'rc=$?; if [ $finished = 0 ]; then not_ok "scripts/test.sh ended early (exit status $rc)"; summary; fi' EXIT

unit=1 fuzz=1 package=1 vm=1 scenarios=()
case "${1:-}" in
  --unit) fuzz=0; package=0; vm=0 ;;
  --fuzz) unit=0; package=0; vm=0 ;;
  --package) unit=0; fuzz=0; vm=0 ;;
  --vm) unit=0; fuzz=0; package=0; shift; scenarios=("$@") ;;
esac

echo "== installing Debian packages (.ci/install-deps)"
"$repo/.ci/install-deps"
phase_done install

background=()
if [ $vm = 1 ]; then "$repo/vmtier/build.sh" > "$logs/vm-build.log" 2>&1 & background+=("$!:vm-build"); fi
if [ $package = 1 ]; then "$repo/scripts/test-package.sh" --prepare > "$logs/package-root.log" 2>&1 & background+=("$!:package-root"); fi
wait_background() {  # the background preparations: each one's time, and its log when it failed
  local job pid name rc
  for job in "${background[@]}"; do
    pid=${job%%:*} name=${job#*:} rc=0
    wait "$pid" || rc=$?
    if [ $rc != 0 ]; then not_ok "$name (in the background) failed with exit status $rc:"; tail -20 "$logs/$name.log" | sed 's/^/    # /'; fi
  done
  background=()
}

if [ $unit = 1 ]; then
  echo "== unit and fixture-tree tests (swift test)"
  swift test > "$logs/swift-test.log" 2>&1 || true
  grep -E '✘|error:|passed after|failed after|Executed' "$logs/swift-test.log" || true
  if grep -qE 'Test run with [0-9]+ tests? in [0-9]+ suites? passed' "$logs/swift-test.log"; then passed=$((passed + 1))
  else not_ok "swift test (log: $logs/swift-test.log)"; tail -20 "$logs/swift-test.log" | sed 's/^/    # /'; fi
  phase_done unit
fi
if [ $fuzz = 1 ]; then
  # A fixed number of inputs from a fixed seed: the same inputs on every run, so a finding fails the change that
  # brought it rather than a later one at random; scripts/fuzz.sh SECONDS explores further (README: Fuzzing).
  echo "== fuzzing (scripts/fuzz.sh, ${FUZZ_RUNS:=250000} inputs a target from seed ${FUZZ_SEED:=1})"
  if FUZZ_RUNS=$FUZZ_RUNS FUZZ_SEED=$FUZZ_SEED scripts/fuzz.sh 2>&1 | tee "$logs/fuzz.log"; then passed=$((passed + 1)); else not_ok "fuzzing (log: $logs/fuzz.log)"; fi
  phase_done fuzz
fi
# Measured from here: what the preparations still took after the unit tests ended (0 when they ran fully hidden).
wait_background
phase_done "background-wait"
if [ $package = 1 ]; then
  echo "== package tier (the .deb in a minimal Debian 12 root)"
  if "$repo/scripts/test-package.sh" 2>&1 | tee "$logs/package-tier.log"; then passed=$((passed + 1)); else not_ok "the package tier"; fi
  # The VM tier installs the package this tier built and checked, rather than building it again.
  deb=$repo/.build/deb/vgpuctl_$("$repo/scripts/version.sh")_amd64.deb
  [ -s "$deb" ] && export VMTIER_DEB=$deb
  phase_done package
fi
if [ $vm = 1 ]; then
  echo "== real-kernel VM tier"
  phase_start=$(date +%s)
  vm_start=$phase_start
  if "$repo/vmtier/run.sh" "${scenarios[@]}"; then passed=$((passed + 1)); else not_ok "the real-kernel VM tier"; fi
  echo "vm-tier-total $(( $(date +%s) - vm_start ))" >> "$timings"
fi
summary
[ $failed = 0 ]
