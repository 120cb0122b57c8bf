#!/usr/bin/env bash
# Prints vgpuctl's version, the constant in Sources/VGPUApp/Version/Version.swift (the one place it is written),
# so packaging uses the same string as `vgpuctl --version`:
#   scripts/version.sh            prints e.g. 0.1.0
#   scripts/version.sh --check    also fails (exit 1) if HEAD carries a v* tag naming another version
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(sed -n 's/^ *public static let string = "\(.*\)"$/\1/p' "$repo/Sources/VGPUApp/Version/Version.swift")
[ -n "$version" ] || { echo "version.sh: no version constant in Sources/VGPUApp/Version/Version.swift" >&2; exit 1; }
if [ "${1:-}" = --check ]; then
  for tag in $(git -C "$repo" tag --points-at HEAD 'v*' 2>/dev/null); do
    [ "$tag" = "v$version" ] || { echo "version.sh: HEAD is tagged $tag but Version.swift says $version" >&2; exit 1; }
  done
fi
echo "$version"
