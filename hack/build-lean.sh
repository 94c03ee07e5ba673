#!/usr/bin/env bash
# Builds the release `backstop` as the image ships it and prints its path: the Swift runtime
# linked statically, every function in its own section (our code, the packages and C targets),
# and the functions `backstop run` executes placed side by side (image/backstop.order, made by
# hack/gen-order-file.sh). The kernel maps 64 KiB of an executable around each page a process
# touches, so the order decides how much of the 70 MiB binary stays resident: ~2 MiB of code
# runs, but scattered it kept ~17 MiB of text in memory.
#
#   hack/build-lean.sh            → the path of the unstripped binary (build-image.sh strips it)
#
# Its own build folder (.build-lean, or BACKSTOP_LEAN_SCRATCH), so that the flags do not
# invalidate an ordinary `swift build -c release`.
set -euo pipefail
cd "$(dirname "$0")/.."
order="$PWD/image/backstop.order"
flags=(--scratch-path "${BACKSTOP_LEAN_SCRATCH:-.build-lean}" -c release --static-swift-stdlib --product backstop
       -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
       -Xlinker "--symbol-ordering-file=$order" -Xlinker --no-warn-symbol-ordering)
binary="$(swift build "${flags[@]}" --show-bin-path)/backstop"
# The order file is a linker input SwiftPM does not track: relink when it changed.
if [ -e "$binary" ] && [ "$order" -nt "$binary" ]; then rm -f "$binary"; fi
swift build "${flags[@]}" >&2
# A stale order still links (unknown names are skipped); say how stale it is.
listed=$(wc -l < "$order")
found=$(nm --defined-only "$binary" | awk 'NR==FNR {want[$0]; next} ($3 in want) {n++; delete want[$3]} END {print n+0}' "$order" -)
echo "build-lean: $found of $listed ordered functions are in the binary (regenerate with hack/gen-order-file.sh when many are missing)" >&2
echo "$binary"
