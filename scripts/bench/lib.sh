# Shared by the benchmark scripts: a release build, a scratch directory, and a median timer.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
swift build -c release -q --product vgpuctl && swift build -c release -q --product vgpu-fixture
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/vgpuctl-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# median wall time in ms of a command over $runs runs (after one warm-up run)
median_ms() {
  "$@" >/dev/null
  for _ in $(seq "$runs"); do
    local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
  done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
