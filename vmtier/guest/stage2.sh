#!/bin/bash
# Stage 2, PID 1 inside the VM, running from the host's own root (read-only 9p under a tmpfs overlay):
# sets up what a booted Debian has (a fresh /run, /dev/fd, udevd), runs the requested scenarios and
# powers off. Scenario output goes to the console and to /vmtier-results/<scenario>.log.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
# shellcheck source=/dev/null
. /vmtier-results/env
# A fresh /run as after a boot. /tmp stays the overlay's (writable tmpfs upper): the repository under test may
# itself live under the host's /tmp.
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
# libvirt's nodedev driver pipes JSON to mdevctl through /dev/stdin.
ln -sfn /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do ln -sfn "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"; done
hostname vmtier
# Every module the tier needs was loaded by stage 1; hide the host's module tree so that udev's coldplug does not
# spend TCG time loading drivers for QEMU's emulated hardware.
mount -t tmpfs tmpfs /lib/modules
mkdir -p /run/udev
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1
udevadm trigger --action=add >/dev/null 2>&1
udevadm settle -t 15
echo "vmtier: kernel $(uname -r) up $(cut -d' ' -f1 /proc/uptime) s, modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
# The package, installed as an operator installs it (its dependencies are the host's own libraries). man-db's
# index update is skipped: it is slow under TCG and no scenario reads manual pages.
if [ -n "${VMTIER_DEB:-}" ]; then
  rm -f /var/lib/man-db/auto-update
  if ! dpkg -i "$VMTIER_DEB" > /vmtier-results/dpkg.log 2>&1; then
    echo "vmtier: dpkg -i $VMTIER_DEB failed:"; tail -20 /vmtier-results/dpkg.log
  fi
  echo "vmtier: installed $(dpkg-query -W -f '${Package} ${Version}' vgpuctl 2>/dev/null || echo 'nothing'): $(command -v vgpuctl || echo 'no vgpuctl')"
fi
export VGPUCTL="$VGPUCTL_BIN/vgpuctl" VMTIER_REPO VMTIER_OUT VMTIER_DEB
# Each scenario has a deadline (VMTIER_SCENARIO_TIMEOUT, seconds): one that hangs is ended, says so in a "not ok"
# line and a summary, and the next one runs. Its duration goes to /vmtier-results/timings.
uptime_s() { cut -d' ' -f1 /proc/uptime; }
for scenario in $VMTIER_SCENARIOS; do
  log=/vmtier-results/$scenario.log start=$(uptime_s)
  echo "vmtier: scenario $scenario at $start s"
  timeout -k 10 "${VMTIER_SCENARIO_TIMEOUT:-900}" bash "$VMTIER_REPO/vmtier/scenarios/$scenario.sh" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    ok=$(grep -c '^ok ' "$log") not_ok=$(grep -c '^not ok ' "$log")
    { echo "not ok $((ok + not_ok + 1)) - scenario $scenario did not finish within ${VMTIER_SCENARIO_TIMEOUT:-900} s (VMTIER_SCENARIO_TIMEOUT)"
      echo "$ok passed, $((not_ok + 1)) failed"; } | tee -a "$log"
  fi
  echo "$scenario $(awk -v a="$start" -v b="$(uptime_s)" 'BEGIN { printf "%.0f", b - a }')" >> /vmtier-results/timings
done
sync
echo "vmtier: done at $(cut -d' ' -f1 /proc/uptime) s"
busybox poweroff -f
