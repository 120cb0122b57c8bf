#!/usr/bin/env bash
# Resolves the guest kernel: the newest linux-image-<ver>-amd64-unsigned whose headers package also exists.
#   kernel-version.sh version          -> 6.12.117+deb12-amd64
#   kernel-version.sh headers-package  -> linux-headers-6.12.117+deb12-amd64
#   kernel-version.sh image-package    -> linux-image-6.12.117+deb12-amd64-unsigned
set -euo pipefail
pick() {
  apt-cache pkgnames linux-image-6.12. | sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12-amd64\)-unsigned$/\1/p' \
    | sort -t. -k3,3nr | while read -r v; do
        apt-cache show "linux-headers-$v" >/dev/null 2>&1 && { echo "$v"; break; }
      done
}
v=$(pick)
[ -n "$v" ] || { echo "kernel-version: no linux-image-6.12.*-amd64-unsigned with headers in apt (run apt-get update)" >&2; exit 1; }
case "${1:-version}" in
  version) echo "$v" ;;
  headers-package) echo "linux-headers-$v" ;;
  image-package) echo "linux-image-$v-unsigned" ;;
  *) echo "usage: $0 version|headers-package|image-package" >&2; exit 2 ;;
esac
