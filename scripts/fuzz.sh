#!/usr/bin/env bash
# Fuzzes what vgpuctl reads from untrusted bytes, with libFuzzer (issue 21, "Hostile input"). One target each:
#   fuzz-domain-xml  the domain XML on the libvirt hook's stdin: LibvirtHook.mayConcernVGPUs, the XML reader,
#                    DomainDocument, VGPUMetadata.requests, the hook's prepare/release/migrate plans on a small
#                    host, and the UUID rename migrate begin prints back (DomainEdits.renamingVGPUs)
#   fuzz-definition  a definition file in mdevctl's format (/etc/mdevctl.d): DefinitionStore.decode, and encode back
#   fuzz-config      the config file (/etc/vgpuctl/vgpuctl.conf): HostConfig.parse over TOMLDocument (TOMLParser),
#                    from the file's raw bytes
#   fuzz-journal     a journal record (/var/lib/vgpuctl/journal): its JSONDecoder decode, what Recovery derives
#                    from it, and Record.json back
# A throw is a refusal, which is fine when it is a VGPUError with a message (and a fix); a crash, a trap
# (overflow, index out of range, force unwrap), a hang (-timeout=5 s for one input), running out of memory
# (-rss_limit_mb=2048), or a broken property a target checks (fuzz/Targets/*/Fuzz*.swift) is a finding.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]  build, then run each target SECONDS (default 60) one after another
#   FUZZ_RUNS=N FUZZ_SEED=S scripts/fuzz.sh  instead, N inputs a target from seed S: the same inputs every time, so
#                                          a run is reproducible (what CI runs: a new finding fails the change that
#                                          brought it, not a later, unrelated one)
#   scripts/fuzz.sh --merge [TARGET...]    add to fuzz/corpus/ what the last runs found that covers more
#
# Build: fuzz/ is a SwiftPM package of its own (the main package never links libFuzzer). Its Product/ holds
# links to the product's module directories (../Sources: SwiftPM refuses target paths outside a package), so it
# compiles exactly the product's sources, only the modules the targets need (VGPUCore, VGPUHost, VGPUApp; no
# ArgumentParser, NIO or other remote package), into .build-fuzz/, incrementally:
#   swift build -c release with -sanitize=fuzzer,address (coverage for libFuzzer, and AddressSanitizer)
# Each target's @main hands its command line to libFuzzer's LLVMFuzzerRunDriver (SwiftPM links an
# executable's entry point as `main`, so libFuzzer's own main cannot be used). Linked with lld: gold stops
# with an internal error on these objects.
#
# Runs: the seed corpus is fuzz/corpus/TARGET/ (kept in the repo, read only here), the dictionary
# fuzz/dict/TARGET.dict. What a run finds goes to $FUZZ_OUT (default /tmp/vgpuctl-fuzz)/TARGET/new/, never into
# the checkout; reproducers to $FUZZ_OUT/TARGET/ (crash-*, timeout-*, oom-*); libFuzzer's log to
# $FUZZ_OUT/TARGET/log. One line per target: ok, or not ok with the reproducer; the exit status is non-zero
# on any finding. Replay a reproducer: .build-fuzz/release/fuzz-TARGET FILE. Run longer for a benchmark:
# scripts/fuzz.sh 3600.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
all=(domain-xml definition config journal)
out=${FUZZ_OUT:-/tmp/vgpuctl-fuzz}
bin=$repo/.build-fuzz/release
seconds=60 merge=0
if [ "${1:-}" = --merge ]; then merge=1; shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for target in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $target "* ]] || { echo "not ok - unknown fuzz target '$target' (targets: ${all[*]})"; exit 2; }
done

echo "== building the fuzz targets (.build-fuzz/)"
started=$(date +%s)
if ! swift build -c release --package-path fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld \
    > "$out.build.log" 2>&1; then
  echo "not ok - building the fuzz targets failed (log: $out.build.log)"; tail -20 "$out.build.log" | sed 's/^/    # /'
  exit 1
fi
echo "build: $(( $(date +%s) - started )) s"

if [ $merge = 1 ]; then
  for target in "${targets[@]}"; do
    [ -d "$out/$target/new" ] || { echo "$target: nothing to merge ($out/$target/new does not exist)"; continue; }
    before=$(ls "fuzz/corpus/$target" | wc -l)
    "$bin/fuzz-$target" -merge=1 -dict="fuzz/dict/$target.dict" "fuzz/corpus/$target" "$out/$target/new" > "$out/$target/merge.log" 2>&1 \
      || { echo "not ok - merging $target (log: $out/$target/merge.log)"; exit 1; }
    echo "$target: corpus $before -> $(ls "fuzz/corpus/$target" | wc -l) files (fuzz/corpus/$target: review and commit)"
  done
  exit 0
fi

# A trap is libFuzzer's to catch and save: Swift's own backtracer would take the crash first (and trip ASan).
export SWIFT_BACKTRACE=enable=no
failed=0
for target in "${targets[@]}"; do
  dir=$out/$target
  rm -rf "$dir" && mkdir -p "$dir/new"
  rc=0 extra=() leaks=1
  if [ -n "${FUZZ_RUNS:-}" ]; then extra+=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}"); else extra+=(-max_total_time="$seconds"); fi
  started=$(date +%s)
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=$leaks "$bin/fuzz-$target" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" \
    -artifact_prefix="$dir/" -dict="fuzz/dict/$target.dict" "$dir/new" "fuzz/corpus/$target" > "$dir/log" 2>&1 || rc=$?
  # libFuzzer's last status line ("#N DONE cov: C ft: F corp: U/SIZE ...") and its final stats.
  status=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -1)
  field() { sed -n "s/.*$1 \([^ ]*\).*/\1/p" <<< "$status"; }
  stat() { sed -n "s/^stat::$1: *//p" "$dir/log" | tail -1; }
  summary="$target: $(( $(date +%s) - started )) s, $(stat number_of_executed_units) executions, $(stat average_exec_per_sec) exec/s, cov $(field cov:), ft $(field ft:), corpus $(field corp:) (files/bytes), new $(ls "$dir/new" | wc -l)"
  reproducer=$(ls "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* "$dir"/leak-* "$dir"/slow-unit-* 2>/dev/null | head -1)
  if [ $rc = 0 ] && [ -z "$reproducer" ]; then
    echo "ok - $summary"
  else
    failed=$((failed + 1))
    echo "not ok - $summary: $(grep -m1 -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|Fatal error|fuzz finding' "$dir/log" | cut -c1-200)"
    echo "    # reproducer: ${reproducer:-none written (exit status $rc)}; replay: $bin/fuzz-$target ${reproducer:-FILE}; log: $dir/log"
    grep -E 'Fatal error|fuzz finding|SUMMARY|^ *#[0-9]+ 0x' "$dir/log" | head -12 | sed 's/^/    # /'
  fi
done
exit $(( failed > 0 ))
