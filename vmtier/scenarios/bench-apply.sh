#!/bin/bash
# Benchmark (not run by default; prints numbers): `vgpuctl apply` of a layout over the lab's parents (mtty with seven
# extra parents, mdpy, mbochs: 10 "GPUs", an 8-GPU host's layout in shape; 28 vGPUs, each defined auto) against the
# same vGPUs made and defined by a shell loop of `mdevctl define --auto` + `mdevctl start` (what sites script
# today), by a serial loop of raw sysfs writes (the floor; it defines nothing), by the same writes in one loop per
# parent side by side (what the kernel allows GPUs to do at once) and by the floor + definitions (the same writes,
# each followed by writing the definition file vgpuctl writes, mdevctl's bytes, then one `sync -f`: apply's work
# done by hand). Medians of 9 rounds, the sides' order alternating; the host is reset (vGPUs removed, definitions
# deleted, udev settled) between runs, untimed. Then the same with each mtty create taking 50 ms in the driver
# (5 rounds), and a no-op apply against `vgpuctl types`.
. "$(dirname "$0")/lib.sh"
conf=/etc/vgpuctl/vgpuctl.conf
mkdir -p /etc/vgpuctl
saved_conf=$(mktemp); cp "$conf" "$saved_conf" 2>/dev/null || rm -f "$saved_conf"
mtty_ko=$(ls "$VMTIER_OUT"/samples-*/mtty.ko)
check "mtty with seven extra parents" sh -c "rmmod mtty && insmod '$mtty_ko' extra_parents=7 && [ -e /sys/class/mdev_bus/mtty7 ]"
remove_all_mdevs
# parent type count, one line each: the layout below, written out for the loops
mtty_parents="mtty mtty1 mtty2 mtty3 mtty4 mtty5 mtty6 mtty7"
wanted="$(for p in $mtty_parents; do echo "$p mtty-1 3"; done)
mdpy mdpy-vga 1
mdpy mdpy-xga 1
mbochs mbochs-small 2"
cat > "$conf" <<CONF
layout = "bench"

[[layouts.bench.entries]]
gpus = ["mtty", "mtty1", "mtty2", "mtty3", "mtty4", "mtty5", "mtty6", "mtty7"]
vgpus = { "mtty-1" = 3 }

[[layouts.bench.entries]]
gpus = ["mdpy"]
vgpus = { "mdpy-vga" = 1, "mdpy-xga" = 1 }

[[layouts.bench.entries]]
gpus = ["mbochs"]
vgpus = { "mbochs-small" = 2 }
CONF
total=$(printf '%s\n' "$wanted" | awk '{ n += $3 } END { print n }')
bench_failures_reset
reset_host() {
  remove_all_mdevs
  for p in $mtty_parents mdpy mbochs; do rm -rf "/etc/mdevctl.d/$p"; done
  [ "$(mdev_count)" = 0 ] || failed "reset"
  # The last run's uevents are still being handled; left running, udevd's work lands in the next side's time.
  udevadm settle --timeout=30 || failed "udevadm settle"
}
made_all() { [ "$(mdev_count)" = "$total" ] || failed "$1 made $(mdev_count) of $total vGPUs"; }
# UUIDs made before the clock starts: a fork of cat per vGPU costs more than a create under TCG.
for _ in $(seq "$total"); do cat /proc/sys/kernel/random/uuid; done > /tmp/bench-uuids
floor() {
  exec 3</tmp/bench-uuids
  while read -r parent type count; do
    for ((i = 0; i < count; i++)); do
      read -r u <&3
      echo "$u" > "/sys/class/mdev_bus/$parent/mdev_supported_types/$type/create" || failed "sysfs create"
    done
  done <<< "$wanted"
  exec 3<&-
}
# The same writes, one background loop per parent: what the kernel allows GPUs to do side by side.
floor_parallel() {
  local parent type count first=0 pids=()
  mapfile -t uuids </tmp/bench-uuids
  while read -r parent type count; do
    (for ((i = first; i < first + count; i++)); do
      echo "${uuids[i]}" > "/sys/class/mdev_bus/$parent/mdev_supported_types/$type/create" || failed "sysfs create"
    done) &
    pids+=($!)
    first=$((first + count))
  done <<< "$wanted"
  wait "${pids[@]}"
}
floor_definitions() {
  local u
  exec 3</tmp/bench-uuids
  mkdir -p $(printf '%s\n' "$wanted" | awk '{ print "/etc/mdevctl.d/" $1 }' | sort -u)
  while read -r parent type count; do
    for ((i = 0; i < count; i++)); do
      read -r u <&3
      echo "$u" > "/sys/class/mdev_bus/$parent/mdev_supported_types/$type/create" || failed "sysfs create"
      printf '{\n  "mdev_type": "%s",\n  "start": "auto",\n  "attrs": []\n}' "$type" > "/etc/mdevctl.d/$parent/$u" \
        || failed "definition write"
    done
  done <<< "$wanted"
  exec 3<&-
  sync -f /etc/mdevctl.d || failed "sync -f"
}
ours() { vg apply >/dev/null 2>&1 || failed "vgpuctl apply"; }
mdevctl_loop() {
  local u
  exec 3</tmp/bench-uuids
  while read -r parent type count; do
    for ((i = 0; i < count; i++)); do
      read -r u <&3
      mdevctl define -u "$u" -p "$parent" -t "$type" --auto || failed "mdevctl define"
      mdevctl start -u "$u" || failed "mdevctl start"
    done
  done <<< "$wanted"
  exec 3<&-
}
timed() { local t; reset_host; t=$(date +%s%N); "$@" >/dev/null; echo $(( ($(date +%s%N) - t) / 1000000 )); made_all "$1"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# Warm every side's files (binaries and libraries come over 9p).
vg --version >/dev/null; mdevctl list >/dev/null; vg types >/dev/null
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
# One paired measurement of every side: medians of $1 rounds, the sides' order alternating.
measure() {
  local rounds=$1 what=$2 f=() p=() d=() o=() m=() r
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then f+=("$(timed floor)"); p+=("$(timed floor_parallel)"); d+=("$(timed floor_definitions)"); o+=("$(timed ours)"); m+=("$(timed mdevctl_loop)")
    else m+=("$(timed mdevctl_loop)"); o+=("$(timed ours)"); d+=("$(timed floor_definitions)"); p+=("$(timed floor_parallel)"); f+=("$(timed floor)"); fi
  done
  local floor_ms parallel_ms defs_ms ours_ms mdevctl_ms
  floor_ms=$(median "${f[@]}") parallel_ms=$(median "${p[@]}") defs_ms=$(median "${d[@]}") ours_ms=$(median "${o[@]}") mdevctl_ms=$(median "${m[@]}")
  echo "bench| apply of $total vGPUs on 10 parents, $what, median of $rounds: serial sysfs writes (floor, no definitions): $floor_ms ms (${f[*]}); the same writes, a loop per parent side by side: $parallel_ms ms (${p[*]}); floor + definitions, one syncfs: $defs_ms ms (${d[*]}); vgpuctl apply (created + defined auto): $ours_ms ms (${o[*]}); mdevctl define --auto + start loop: $mdevctl_ms ms (${m[*]}); apply/floor $(ratio "$ours_ms" "$floor_ms"), apply/(floor + definitions) $(ratio "$ours_ms" "$defs_ms"), mdevctl/apply $(ratio "$mdevctl_ms" "$ours_ms")"
}
measure 9 "the sample drivers as they are"
# A vendor driver whose create takes real time (NVIDIA's sets the vGPU up on the GPU): mtty's creates sleep
# $delay ms in the driver (vmtier/patches/0003), mdpy's and mbochs' do not. Here GPUs working side by side pay off.
delay=50
echo "$delay" > /sys/module/mtty/parameters/create_delay_ms
measure 5 "each mtty create taking $delay ms in the driver"
echo 0 > /sys/module/mtty/parameters/create_delay_ms
reset_host; ours
t=() n=() rounds=9
for r in $(seq $rounds); do
  s=$(date +%s%N); vg types >/dev/null; t+=($(( ($(date +%s%N) - s) / 1000000 )))
  s=$(date +%s%N); vg apply >/dev/null 2>&1 || failed "no-op apply"; n+=($(( ($(date +%s%N) - s) / 1000000 )))
done
echo "bench| no-op apply, median of $rounds: vgpuctl types $(median "${t[@]}") ms (${t[*]}); vgpuctl apply (nothing to do) $(median "${n[@]}") ms (${n[*]})"
check "benchmark ran, every command of every side succeeded" bench_succeeded
reset_host
if [ -n "${saved_conf:-}" ]; then mv "$saved_conf" "$conf"; else rm -f "$conf"; fi
check "mtty back to one parent" sh -c "rmmod mtty && insmod '$mtty_ko'"
finish
