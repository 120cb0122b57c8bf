# Shared by the benchmark scripts: a release build (exactly as the Debian package builds it: static Swift runtime),
# a scratch directory, a median timer and the paired timer (scripts/bench/paired.c).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
swift build -c release --static-swift-stdlib -q --product vgpuctl && swift build -c release --static-swift-stdlib -q --product vgpu-fixture
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
work=$(mktemp -d /tmp/vgpuctl-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/paired" "$repo/scripts/bench/paired.c"
# An older vgpuctl binary to compare against in the same run (before/after), e.g. one built from main.
baseline=${VGPUCTL_BASELINE:-}

# median wall time in ms of a command over $runs runs (after one warm-up run)
median_ms() {
  "$@" >/dev/null
  for _ in $(seq "$runs"); do
    local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
  done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

# paired RUNS LABEL CMD... ::: LABEL CMD... : the commands in turn, RUNS times each; prints a table with each one's
# median wall and CPU time, peak RSS, its wall time as a ratio to (and difference from) the first command's, and
# its CPU time's difference (CPU time is the steadier number on a busy machine).
paired() {
  "$work/paired" "$@" | awk -F'\t' '
    NR == 1 { yard = $2; yardcpu = $3 }
    { rows[NR] = sprintf("%-38s %8.2f %8.2f %9d %8.2fx %+8.2f %+8.2f", $1, $2, $3, $4, $2 / yard, $2 - yard, $3 - yardcpu) }
    END {
      printf "%-38s %8s %8s %9s %9s %8s %8s\n", "command (yardstick: first row)", "wall ms", "cpu ms", "peak KiB", "wall/1st", "wall-1st", "cpu-1st"
      for (i = 1; i <= NR; i++) print rows[i]
    }'
}
