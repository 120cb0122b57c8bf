#!/usr/bin/env bash
# The package tier: builds the .deb (scripts/package.sh) and proves what an operator gets, in a minimal Debian 12
# root that has never seen Swift (debootstrap --variant=minbase, plus systemd, man-db and bash-completion, which
# a GPU host has): install with apt (dependencies from Debian), --version, manual pages, completion, types --json on
# a fixture tree, the config file, private state directories, nothing enabled; then upgrade, remove, reinstall and
# purge, each keeping or deleting exactly what it should; and lintian. Prints TAP lines and "N passed, M failed".
#
# The root is cached as a tarball (PACKAGE_TEST_CACHE, default /var/cache/vgpuctl-test; downloaded .debs too), so
# only the first run pays for debootstrap. PACKAGE_TEST_KEEP=1 keeps the work directory for a look afterwards.
#   scripts/test-package.sh            the whole tier
#   scripts/test-package.sh --prepare  only the cached root (scripts/test.sh runs this while the unit tests run)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cache=${PACKAGE_TEST_CACHE:-/var/cache/vgpuctl-test}
tarball=$cache/bookworm-minbase.tar.gz

# The minimal Debian 12 root, made once by debootstrap and cached as a tarball. The mirror is the host's own
# (sources.list or deb822 sources; a host may have either alone, so a missing file is no error).
prepare_root() {
  [ -s "$tarball" ] && return 0
  local mirror bootstrap start
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -E '^(deb |URIs:)' | grep -v security | sed -E 's/^URIs:\s*//; s/^deb (\[[^]]*\] )?//' | awk '{ print $1; exit }' || true)
  mkdir -p "$cache"
  bootstrap=$(mktemp -d "$cache/bootstrap.XXXXXX")
  start=$(date +%s)
  if ! debootstrap --variant=minbase --include=systemd,man-db,bash-completion bookworm "$bootstrap/root" \
       "${mirror:-http://deb.debian.org/debian}" > "$bootstrap.log" 2>&1; then
    echo "debootstrap of a bookworm root from ${mirror:-http://deb.debian.org/debian} failed; its log's end:"
    tail -20 "$bootstrap.log"; rm -rf "$bootstrap"; return 1
  fi
  tar -C "$bootstrap/root" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$bootstrap" "$bootstrap.log"
  echo "debootstrap (minbase + systemd, man-db, bash-completion) took $(( $(date +%s) - start )) s; cached in $tarball"
}
if [ "${1:-}" = --prepare ]; then prepare_root; exit; fi

version=$(scripts/version.sh)
passed=0 failed=0 n=0 finished=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check DESCRIPTION COMMAND...: a TAP line from COMMAND's exit status; its output is shown only on failure.
check() {
  local description=$1 output; shift
  if output=$("$@" 2>&1); then ok "$description"; else not_ok "$description"; sed 's/^/    # /' <<< "$output" | tail -20; fi
}
note() { echo "    # $*"; }
finish() { finished=1; echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; }
# Any early end (a set -e exit, a missing tool) still prints a "not ok" line and the summary.
ended_early() {
  local rc=$1
  [ "$finished" = 1 ] && return
  not_ok "the package tier ended before its last check (exit status $rc, after check $n)"
  finish
}
trap 'ended_early $?' EXIT

# 1. The package.
start=$(date +%s)
if ! "$repo/scripts/package.sh" > /tmp/vgpuctl-package-build.log 2>&1; then
  tail -30 /tmp/vgpuctl-package-build.log; not_ok "scripts/package.sh builds the package"; finish; exit 1
fi
deb=$repo/.build/deb/vgpuctl_${version}_amd64.deb
ok "scripts/package.sh builds $(basename "$deb") ($(( $(date +%s) - start )) s)"
package_size=$(stat -c %s "$deb")
installed_size=$(dpkg-deb -f "$deb" Installed-Size)
note "package $package_size bytes, Installed-Size $installed_size KiB; Depends: $(dpkg-deb -f "$deb" Depends)"

work=$(mktemp -d /var/tmp/vgpuctl-package-test.XXXXXX)
root=$work/root
cleanup() {
  local rc=$?
  ended_early "$rc"
  for mount in "$root/var/cache/apt/archives" "$root/proc"; do mountpoint -q "$mount" && umount -l "$mount"; done
  if [ -z "${PACKAGE_TEST_KEEP:-}" ]; then rm -rf "$work"; else echo "# kept $work"; fi
}
trap cleanup EXIT

# 2. What is inside, before installing anything: nothing from the toolchain, and lintian.
dpkg-deb -x "$deb" "$work/extracted"
check "the binary needs no toolchain library and has no rpath" \
  bash -c "! readelf -d '$work/extracted/usr/bin/vgpuctl' | grep -E 'libswift|Foundation|libdispatch|RPATH|RUNPATH'"
if command -v lintian >/dev/null; then
  lintian --allow-root --pedantic -I "$deb" > "$work/lintian.log" 2>&1 || true
  errors=$(grep -c '^E:' "$work/lintian.log" || true) warnings=$(grep -c '^W:' "$work/lintian.log" || true)
  note "lintian: $errors errors, $warnings warnings, $(grep -c '^[IP]:' "$work/lintian.log" || true) info/pedantic (overridden tags: packaging/debian/lintian-overrides)"
  check "lintian: no error and no warning that is not overridden" bash -c "! grep -E '^(E|W):' '$work/lintian.log'"
else
  not_ok "lintian is installed (.ci/install-deps: vmtier/packages.txt)"
fi

# 3. A minimal Debian 12 root, from the cache or debootstrap.
mkdir -p "$cache/apt-archives/partial"
if ! made=$(prepare_root); then printf '%s\n' "$made" | sed 's/^/    # /'; not_ok "debootstrap a bookworm root"; exit 1; fi
[ -z "$made" ] || note "$made"
mkdir -p "$root"
tar -C "$root" -xzf "$tarball"
mount -t proc proc "$root/proc"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Nothing a package installs may start a service here (as .ci/install-deps does on the host).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
check "the root has no Swift" bash -c "[ ! -e '$root/opt/swift' ] && ! chroot '$root' ldconfig -p | grep -q libswift"

# 4. Install as an operator does: apt resolves Depends from Debian.
cp "$deb" "$root/tmp/"
in_root apt-get update -qq > "$work/apt.log" 2>&1 || true
start=$(date +%s%N)
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >> "$work/apt.log" 2>&1; then
  ok "apt-get install ./$(basename "$deb") into the minimal root (dependencies from Debian)"
else
  not_ok "apt-get install ./$(basename "$deb") into the minimal root"; tail -20 "$work/apt.log" | sed 's/^/    # /'; finish; exit 1
fi
install_ms=$(( ($(date +%s%N) - start) / 1000000 ))
note "install with its dependencies: $install_ms ms"

check "vgpuctl --version prints the package's version ($version)" bash -c "[ \"\$(chroot '$root' vgpuctl --version)\" = 'vgpuctl $version' ]"
check "man -w vgpuctl and vgpuctl.create; whatis knows the subcommand pages" \
  in_root sh -c 'man -w vgpuctl && man -w vgpuctl.create && whatis vgpuctl.attach'
check "the bash completion loads and completes subcommands" in_root bash -c '
  . /usr/share/bash-completion/bash_completion
  . /usr/share/bash-completion/completions/vgpuctl
  complete -p vgpuctl >/dev/null
  COMP_WORDS=(vgpuctl cr); COMP_CWORD=1; COMP_LINE="vgpuctl cr"; COMP_POINT=${#COMP_LINE}
  $(complete -p vgpuctl | sed -E "s/.*-F ([^ ]+).*/\1/") vgpuctl cr vgpuctl
  [[ " ${COMPREPLY[*]} " == *" create "* ]]'
check "zsh and fish completions are installed where their shells look" \
  test -s "$root/usr/share/zsh/vendor-completions/_vgpuctl" -a -s "$root/usr/share/fish/vendor_completions.d/vgpuctl.fish"

# 5. The installed binary on fixture trees made outside by the build's vgpu-fixture, against the build's vgpuctl.
swift build -q --product vgpu-fixture && swift build -q --product vgpuctl
bin=$(swift build --show-bin-path)
for host in samples nvidia-vfio; do "$bin/vgpu-fixture" "$root/tmp/fixture/$host" --host "$host" > /dev/null; done
"$bin/vgpuctl" types --json --sysfs-root "$root/tmp/fixture/samples" > "$work/types.build.json"
check "types --json on a fixture tree: the installed binary prints what the build prints" bash -c \
  "chroot '$root' vgpuctl types --json --sysfs-root /tmp/fixture/samples | cmp - '$work/types.build.json'"
check "the shipped vgpuctl.conf parses (plan reads it)" in_root vgpuctl plan --type mdpy-vga --sysfs-root /tmp/fixture/samples
sed -E 's/^#(\[|[a-z])/\1/' "$root/etc/vgpuctl/vgpuctl.conf" > "$root/tmp/uncommented.conf"
check "its commented examples parse too, uncommented" \
  in_root env VGPUCTL_CONFIG=/tmp/uncommented.conf vgpuctl plan --type mdpy-vga --sysfs-root /tmp/fixture/samples
echo 'polcy = "pack"' > "$root/tmp/broken.conf"
check "... and a broken config is refused (exit 2), so the file is really read" bash -c \
  "chroot '$root' env VGPUCTL_CONFIG=/tmp/broken.conf vgpuctl plan --type mdpy-vga --sysfs-root /tmp/fixture/samples; [ \$? = 2 ]"
uuid=0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50
check "create, then xml from the installed templates (/usr/share/vgpuctl/xml-templates)" in_root sh -c "
  vgpuctl create --type nvidia-1414 --uuid $uuid --sysfs-root /tmp/fixture/nvidia-vfio >/dev/null &&
  vgpuctl xml $uuid --sysfs-root /tmp/fixture/nvidia-vfio | grep -q \"managed='no'\""
mode() { stat -c %a "$root$1" 2>/dev/null || echo absent; }
check "state directories are 0700 (/var/lib/vgpuctl, /run/vgpuctl, /run/vgpuctl/vf)" \
  test "$(mode /var/lib/vgpuctl) $(mode /run/vgpuctl) $(mode /run/vgpuctl/vf)" = "700 700 700"
check "the package ships a tmpfiles.d entry for /run/vgpuctl (0700, made at boot)" \
  grep -qx 'd /run/vgpuctl 0700 root root -' "$root/usr/lib/tmpfiles.d/vgpuctl.conf"
check "every unit's ExecStart is a binary the package installed" bash -c \
  "for unit in '$root'/usr/lib/systemd/system/vgpu*.service; do
     exe=\$(sed -n 's/^ExecStart=\\([^ ]*\\).*/\\1/p' \"\$unit\"); [ -x '$root'\"\$exe\" ] || { echo \"\$unit: \$exe\"; exit 1; }
   done"
check "installing enabled nothing and ships no libvirt hook" bash -c \
  "[ \"\$(chroot '$root' systemctl is-enabled vgpuctl-autostart.service 2>/dev/null)\" = disabled ] && ! chroot '$root' dpkg -L vgpuctl | grep -q '^/etc/libvirt'"

# The file list: what dpkg says is installed is what the package holds, and every file is intact.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||; /^$/d' | grep -v '^/$' | sort > "$work/files.deb"
in_root dpkg -L vgpuctl | grep -v '^/\.$' | sort > "$work/files.installed"
check "dpkg -L matches the package's file list, and dpkg --verify finds every file intact" bash -c \
  "diff '$work/files.deb' '$work/files.installed' && chroot '$root' dpkg --verify vgpuctl"

# 6. Upgrade: a copy of the package with a higher version. The operator's state must all survive it.
in_root systemctl enable vgpuctl-autostart.service > /dev/null 2>&1
echo "# operator's edit" >> "$root/etc/vgpuctl/vgpuctl.conf"
mkdir -p "$root/var/lib/vgpuctl/definitions/0000:17:00.4" "$root/var/lib/vgpuctl/journal"
echo '{"mdev_type": "nvidia-1414", "start": "auto", "attrs": []}' > "$root/var/lib/vgpuctl/definitions/0000:17:00.4/$uuid"
echo '{}' > "$root/var/lib/vgpuctl/journal/marker.json"
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: $version+test1/" "$work/next/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$work/next" "$root/tmp/next.deb" > /dev/null
kept() {
  grep -q "operator's edit" "$root/etc/vgpuctl/vgpuctl.conf" && [ -s "$root/var/lib/vgpuctl/definitions/0000:17:00.4/$uuid" ] &&
    [ -s "$root/var/lib/vgpuctl/journal/marker.json" ] && [ "$(mode /var/lib/vgpuctl)" = 700 ]
}
check "upgrade to $version+test1 keeps config edits, definitions, journal, 0700 and the operator's enable" bash -c "
  chroot '$root' dpkg -i /tmp/next.deb && $(declare -f kept mode); root='$root' uuid=$uuid kept &&
  [ \"\$(chroot '$root' systemctl is-enabled vgpuctl-autostart.service)\" = enabled ]"

# 7. Remove: units disabled, binaries gone, config and state kept.
check "remove: binary and units gone, the unit disabled, config and state kept" bash -c "
  chroot '$root' dpkg -r vgpuctl && [ ! -e '$root/usr/bin/vgpuctl' ] &&
  [ ! -e '$root/usr/lib/systemd/system/vgpuctl-autostart.service' ] &&
  [ -z \"\$(find '$root/etc/systemd' -name 'vgpuctl*')\" ] && $(declare -f kept mode); root='$root' uuid=$uuid kept"

# 8. Reinstall the original (a downgrade from +test1 once removed is an ordinary install): state is found again.
start=$(date +%s%N)
check "reinstall: installs again and finds the kept config and state" bash -c "
  chroot '$root' dpkg -i /tmp/$(basename "$deb") && $(declare -f kept mode); root='$root' uuid=$uuid kept"
note "dpkg -i alone (dependencies present): $(( ($(date +%s%N) - start) / 1000000 )) ms"

# 9. Purge: everything the package made, gone; nothing else touched.
check "purge: /etc/vgpuctl, /var/lib/vgpuctl, /run/vgpuctl and every packaged file gone" bash -c "
  chroot '$root' dpkg -P vgpuctl && [ ! -e '$root/etc/vgpuctl' ] && [ ! -e '$root/var/lib/vgpuctl' ] &&
  [ ! -e '$root/run/vgpuctl' ] && [ -z \"\$(chroot '$root' dpkg-query -W -f '\${Status}' vgpuctl 2>/dev/null | grep -v not-installed)\" ] &&
  while read -r f; do [ -d '$root'\"\$f\" ] || [ ! -e '$root'\"\$f\" ] || { echo \"left: \$f\"; exit 1; }; done < '$work/files.deb'"

# 10. Numbers, printed, never asserted: start-up of the installed (static, stripped) binary against the build's.
if command -v hyperfine > /dev/null; then
  hyperfine -N --warmup 3 --runs 30 --export-json "$work/startup.json" \
    -n installed "$work/extracted/usr/bin/vgpuctl types --json --sysfs-root $root/tmp/fixture/samples" \
    -n "release build (unstripped)" "$repo/.build-deb/release/vgpuctl types --json --sysfs-root $root/tmp/fixture/samples" \
    -n "debug build" "$bin/vgpuctl types --json --sysfs-root $root/tmp/fixture/samples" > /dev/null 2>&1 || true
  [ -s "$work/startup.json" ] && jq -r '.results[] | "    # start-up, types --json: \(.command) \(.mean * 1000 | floor) ms ± \(.stddev * 1000 | floor)"' "$work/startup.json"
fi
finish
