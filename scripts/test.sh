#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it needs, runs the unit and fixture-tree
# tests (swift test), then the package tier (builds the .deb and installs, upgrades, removes and purges it in a
# minimal Debian 12 root; lintian), then boots the real-kernel VM tier and runs every scenario in it against that
# package, installed in the VM.
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --unit     swift test only
#   scripts/test.sh --package  the package tier only
#   scripts/test.sh --vm core  the VM tier only, these scenarios (VMTIER_FROM=build: against the build instead)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
"$repo/.ci/install-deps"

unit=1 package=1 vm=1 scenarios=()
case "${1:-}" in
  --unit) package=0; vm=0 ;;
  --package) unit=0; vm=0 ;;
  --vm) unit=0; package=0; shift; scenarios=("$@") ;;
esac

failed=0 passed=0
if [ $unit = 1 ]; then
  echo "== unit and fixture-tree tests (swift test)"
  if swift test 2>&1 | tee /tmp/vgpuctl-swift-test.log | grep -E --line-buffered '✘|error:|passed after|failed after|Executed'; then :; fi
  if grep -qE 'Test run with [0-9]+ tests? in [0-9]+ suites? passed' /tmp/vgpuctl-swift-test.log; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
if [ $package = 1 ]; then
  echo "== package tier (the .deb in a minimal Debian 12 root)"
  if "$repo/scripts/test-package.sh" 2>&1 | tee /tmp/vgpuctl-package-tier.log; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  # The VM tier installs the package this tier built and checked, rather than building it again.
  deb=$repo/.build/deb/vgpuctl_$("$repo/scripts/version.sh")_amd64.deb
  [ -s "$deb" ] && export VMTIER_DEB=$deb
fi
if [ $vm = 1 ]; then
  echo "== real-kernel VM tier"
  if "$repo/vmtier/run.sh" "${scenarios[@]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
echo "test suites: $passed passed, $failed failed"
[ $failed = 0 ]
