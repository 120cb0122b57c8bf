#!/usr/bin/env bash
# The main job on an embedded default: installs what it needs, builds vgpuctl, boots the real-kernel VM (Debian's
# 6.12 kernel with the mtty/mdpy/mbochs mdev drivers) and walks the vGPU lifecycle there, printing real output.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/.ci/install-deps"
VMTIER_SHOW='^demo\|' exec "$repo/vmtier/run.sh" demo
