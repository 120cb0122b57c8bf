#!/usr/bin/env bash
# Builds the Debian package from this checkout:  scripts/package.sh   ->  .build/deb/vgpuctl_<version>_amd64.deb
#
# dpkg-deb on a staged tree rather than dpkg-buildpackage: the toolchain is not a Debian package (it lives in
# /opt/swift, so no Build-Depends can name it), debhelper has no SwiftPM build system, and the static Swift
# runtime makes the binaries ordinary ELF files that need no debhelper step beyond what is written out here
# (strip, dpkg-shlibdeps, md5sums, gzip -9n). Every file the package ships is placed by this script, in one place.
#
# Environment: PACKAGE_OUT (default .build/deb), PACKAGE_SCRATCH (the release build's directory, default
# .build-deb: kept apart from .build so that the generate-manual plugin's own release build there and this static
# one do not relink each other's binaries on every run).
set -euo pipefail
umask 022
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=${PACKAGE_OUT:-$repo/.build/deb}
scratch=${PACKAGE_SCRATCH:-$repo/.build-deb}
debian=$repo/packaging/debian
log() { echo "package: $*"; }
die() { echo "package: error: $*" >&2; exit 1; }
# A command that fails under set -e names itself, so that no build ends without saying why.
trap 'echo "package: error: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

# The version: the constant in Sources/VGPUApp/Version/Version.swift (scripts/version.sh reads it); the binary
# must print the same string (checked below).
version=$(scripts/version.sh --check)
[[ $version =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || die "Version.swift holds '$version', not a Debian version"

# Which products ship, and where (packaging/executables). An executable product missing from that file stops the
# build: shipping or not shipping a new binary is decided there.
declare -A where=()
while read -r product dir _; do
  [[ -z $product || $product == \#* ]] && continue
  # libexec: helpers only vgpuctl runs, in a directory of the package's own.
  if [ "$dir" = libexec ]; then dir=libexec/vgpuctl; fi
  where[$product]=$dir
done < packaging/executables
mapfile -t declared < <(swift package describe --type json 2>/dev/null \
  | jq -r '.products[] | select(.type | has("executable")) | .name')
[ ${#declared[@]} -gt 0 ] || die "swift package describe listed no executable product"
shipped=()
for product in "${declared[@]}"; do
  case "${where[$product]:-}" in
    bin|sbin|libexec/vgpuctl) shipped+=("$product") ;;
    none) ;;
    *) die "executable product '$product' is not in packaging/executables (bin, sbin, libexec or none)" ;;
  esac
done
log "version $version; shipping ${shipped[*]}"

mkdir -p "$scratch"

# 1. Manual pages, with swift-argument-parser's generate-manual plugin (from the same help text as --help). The
#    plugin builds every product itself, in .build, and writes .build/plugins/GenerateManual/outputs/<target>/.
#    --configuration debug: the help text is the same in any build, and the debug build is the one the unit tests
#    and the VM tier's quick mode already made, so this costs no extra compilation. --date keeps the pages the
#    same from one build of a commit to the next.
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
swift package plugin generate-manual --configuration debug --multi-page --date "$date" --authors "vgpuctl maintainers" \
  > "$scratch/manual.log" 2>&1 || { cat "$scratch/manual.log"; die "generate-manual failed"; }
manuals=$repo/.build/plugins/GenerateManual/outputs

# 2. The binaries: release, the Swift runtime linked statically, no $ORIGIN rpath (nothing is installed beside
#    them), so that they need only what Debian ships.
#    -z now: full RELRO, as Debian builds everything (lintian: hardening-no-bindnow).
build=(swift build -c release --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now --scratch-path "$scratch")
for product in "${shipped[@]}"; do
  "${build[@]}" --product "$product" > "$scratch/build.log" 2>&1 || { cat "$scratch/build.log"; die "the release build of $product failed"; }
done
bin=$("${build[@]}" --show-bin-path)

# Nothing from the toolchain: no libswift*/Foundation NEEDED entry, no rpath, nothing resolved under /opt/swift.
for product in "${shipped[@]}"; do
  file=$bin/$product
  [ -x "$file" ] || die "$file was not built"
  if readelf -d "$file" | grep -E 'NEEDED' | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime'; then
    die "$product links a toolchain library dynamically"
  fi
  if readelf -d "$file" | grep -E '\((RPATH|RUNPATH)\)'; then die "$product has an rpath"; fi
  if ldd "$file" | grep -E '/opt/swift|not found'; then die "$product resolves a library outside Debian's"; fi
done

# The version the binary prints must be the package's.
printed=$("$bin/vgpuctl" --version)
[ "$printed" = "vgpuctl $version" ] || die "vgpuctl --version prints '$printed', the package is $version"

# 3. The staged tree: exactly what the package installs.
stage=$(mktemp -d "${TMPDIR:-/tmp}/vgpuctl-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
for product in "${shipped[@]}"; do
  install -D -m 0755 "$bin/$product" "$root/usr/${where[$product]}/$product"
  # As dh_strip: symbols and notes out (the Swift reflection metadata sections stay: they are allocated).
  strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/${where[$product]}/$product"
  [ -d "$manuals/$product" ] || die "no manual pages for $product in $manuals"
  for page in "$manuals/$product"/*.[1-9]; do
    section=${page##*.}
    target=$root/usr/share/man/man$section/$(basename "$page")
    mkdir -p "$(dirname "$target")"
    # Two fix-ups of the generated mdoc, both for what man-db and lintian read: a subcommand page's NAME is
    # `.Nm "vgpuctl create"`, which lexgrog cannot parse (so whatis/apropos would not index it): NAME gets the
    # page's own name (vgpuctl.create) and the later bare .Nm lines the command as typed; an empty line (a
    # paragraph break in the help text) is a groff warning: it becomes .Pp.
    awk '
      /^\.Nm "/ && !named { command = substr($0, 6); gsub(/"/, "", command); name = command; gsub(/ /, ".", name)
                             print ".Nm " name; named = 1; next }
      /^\.Nm$/ && command != "" { print ".Nm \"" command "\""; next }
      /^$/ { print ".Pp"; next }
      { print }' "$page" > "$target"
    chmod 0644 "$target"
    gzip -9n "$target"
  done
done
install -d -m 0755 "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d"
# bash-completion sources the script: a #! line there only misleads (lintian: bash-completion-with-hashbang).
"$bin/vgpuctl" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/vgpuctl"
"$bin/vgpuctl" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_vgpuctl"
"$bin/vgpuctl" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/vgpuctl.fish"
chmod 0644 "$root"/usr/share/{bash-completion/completions/vgpuctl,zsh/vendor-completions/_vgpuctl,fish/vendor_completions.d/vgpuctl.fish}
install -D -m 0644 -t "$root/usr/share/vgpuctl/xml-templates" xml-templates/*.xml
units=()
for unit in systemd/*.service systemd/*.timer systemd/*.socket; do
  [ -e "$unit" ] || continue
  install -D -m 0644 "$unit" "$root/usr/lib/systemd/system/$(basename "$unit")"
  units+=("$(basename "$unit")")
done
install -D -m 0644 "$debian/tmpfiles.conf" "$root/usr/lib/tmpfiles.d/vgpuctl.conf"
install -D -m 0644 "$debian/vgpuctl.conf" "$root/etc/vgpuctl/vgpuctl.conf"
install -D -m 0644 "$debian/copyright" "$root/usr/share/doc/vgpuctl/copyright"
install -D -m 0644 "$debian/README.Debian" "$root/usr/share/doc/vgpuctl/README.Debian"
# A native package (its version has no Debian revision): policy 12.7 names its changelog changelog.gz.
gzip -9n < "$debian/changelog" > "$root/usr/share/doc/vgpuctl/changelog.gz"
install -D -m 0644 "$debian/lintian-overrides" "$root/usr/share/lintian/overrides/vgpuctl"
# The libvirt hook is deliberately not shipped: a hook in /etc/libvirt/hooks runs for every domain operation, so
# it is the operator's step (vgpuctl install-hook), never a side effect of installing the package.

# 4. Depends: dpkg-shlibdeps on the binaries (it needs a debian/control to read, so it runs in a scratch one), plus
#    the packages of the libraries vgpuctl dlopen()s (packaging/dlopen-libraries), which no NEEDED entry shows.
shlib=$stage/shlibdeps
mkdir -p "$shlib/debian"
printf 'Source: vgpuctl\n\nPackage: vgpuctl\nArchitecture: any\n' > "$shlib/debian/control"
executables=()
for product in "${shipped[@]}"; do executables+=("$root/usr/${where[$product]}/$product"); done
depends=$(cd "$shlib" && dpkg-shlibdeps -O -e"${executables[@]}" 2>"$shlib/warnings" | sed -n 's/^shlibs:Depends=//p')
# Shown, not fatal: e.g. "could avoid a useless dependency" (libudev: linked for the udev monitor, unused so far).
grep -v -e 'should already be installed in their package' "$shlib/warnings" >&2 || true
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependency"
while read -r soname minimum _; do
  [[ -z $soname || $soname == \#* ]] && continue
  # awk reads to the end: an early exit would kill ldconfig with SIGPIPE, which pipefail turns into a failed build
  # (it did, on a fresh machine, whenever ldconfig had not finished writing when awk stopped reading).
  path=$(ldconfig -p | awk -v s="$soname" '$1 == s && /x86-64/ && !found { print $NF; found = 1 }')
  [ -n "$path" ] || die "dlopen'ed $soname is not installed here, so its package is unknown"
  real=$(readlink -f "$path")
  # merged /usr: dpkg knows the file under the name its package ships it with.
  package=$(dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null || dpkg -S "${real#/usr}") 
  package=${package%%:*}
  [ -n "$minimum" ] || die "packaging/dlopen-libraries gives no minimum version for $soname"
  if ! grep -qE "(^|, )$package( |,|$)" <<< "$depends"; then depends="$depends, $package (>= $minimum)"; fi
done < packaging/dlopen-libraries

# 5. Control files, with the unit list in the maintainer scripts and the installed size as dpkg-gencontrol counts
#    it (KiB per file, rounded up, plus one per directory or link).
mkdir -p "$root/DEBIAN"
size=$(find "$root" -path "$root/DEBIAN" -prune -o ! -path "$root" -printf '%y %s\n' \
  | awk '$1 == "f" { kib += int(($2 + 1023) / 1024); next } { kib += 1 } END { print kib }')
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@DEPENDS@/$depends/" "$debian/control" > "$root/DEBIAN/control"
install -m 0644 "$debian/conffiles" "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  sed "s/@UNITS@/${units[*]}/" "$debian/$script" > "$root/DEBIAN/$script"
  chmod 0755 "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

# Same bytes for the same commit: every mtime is the commit's (dpkg-deb takes SOURCE_DATE_EPOCH for the archive's).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/vgpuctl_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
log "Depends: $depends"
log "built $deb ($(stat -c %s "$deb") bytes, Installed-Size $size KiB)"
