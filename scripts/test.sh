#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it needs, runs the unit and fixture-tree
# tests (swift test), then boots the real-kernel VM tier and runs every scenario in it.
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --unit     swift test only
#   scripts/test.sh --vm core  the VM tier only, these scenarios
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
"$repo/.ci/install-deps"

unit=1 vm=1 scenarios=()
case "${1:-}" in
  --unit) vm=0 ;;
  --vm) unit=0; shift; scenarios=("$@") ;;
esac

failed=0 passed=0
if [ $unit = 1 ]; then
  echo "== unit and fixture-tree tests (swift test)"
  if swift test 2>&1 | tee /tmp/vgpuctl-swift-test.log | grep -E --line-buffered '✘|error:|passed after|failed after|Executed'; then :; fi
  if grep -qE 'Test run with [0-9]+ tests? in [0-9]+ suites? passed' /tmp/vgpuctl-swift-test.log; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
if [ $vm = 1 ]; then
  echo "== real-kernel VM tier"
  if "$repo/vmtier/run.sh" "${scenarios[@]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
echo "test suites: $passed passed, $failed failed"
[ $failed = 0 ]
