#!/usr/bin/env bash
# What linking libxml2 would add to every vgpuctl process (and every libvirt hook run): a C program that only
# links libxml2 (and calls xmlCheckVersion, so the link is kept) against one that links nothing, paired, next to
# /bin/true. vgpuctl's own XML reader is part of the binary and costs nothing until a document is read.
set -euo pipefail
runs=${RUNS:-300}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/vgpuctl-bench-xml.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/paired" "$repo/scripts/bench/paired.c"
echo 'int main(void) { return 0; }' > "$work/plain.c"
printf '#include <libxml/xmlversion.h>\nint main(void) { xmlCheckVersion(LIBXML_VERSION); return 0; }\n' > "$work/xml.c"
cc -O2 -o "$work/plain" "$work/plain.c"
cc -O2 -o "$work/xml" "$work/xml.c" $(pkg-config --cflags --libs libxml-2.0)
echo "libraries libxml2 brings: $(ldd "$work/xml" | wc -l) lines of ldd against $(ldd "$work/plain" | wc -l)"
echo "start-up, $runs paired runs (label, median wall ms, median cpu ms, peak KiB):"
"$work/paired" "$runs" "/bin/true" /bin/true ::: "C, no libraries" "$work/plain" ::: "C + libxml2" "$work/xml" | sed 's/^/  /'
