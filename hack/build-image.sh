#!/usr/bin/env bash
# Builds the Backstop OCI image with buildah, from scratch (no registry or base image is
# reachable): the backstop binary, pg_dump/pg_restore/redis-cli/redis-server, exactly the shared libraries
# their ldd closure names, the CA bundle, time zones and a passwd entry for UID 65532.
#
#   hack/build-image.sh [--binary PATH] [--output FILE] [--rootfs DIR]
#     --binary   a backstop executable (default: the lean release build of hack/build-lean.sh:
#                Swift runtime linked statically, functions ordered by image/backstop.order)
#     --output   the OCI archive to write (default .build-image/backstop.oci.tar)
#     --rootfs   only assemble the root filesystem into DIR (no buildah), for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
binary="" output=".build-image/backstop.oci.tar" rootfs_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --rootfs) rootfs_only=$2; shift 2 ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  binary="$(hack/build-lean.sh)"
fi
pg_bindir="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
# redis-server: a Redis drill loads the restored RDB into a throwaway server inside its Job.
tools=("$pg_bindir/pg_dump" "$pg_bindir/pg_restore" "$(command -v redis-cli)" "$(command -v redis-server)")

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/usr/share"
chmod 1777 "$root/tmp"
install -m 0755 "$binary" "$root/usr/local/bin/backstop"
# Symbols are for debuggers, not for the cluster: about 40 % of a release binary.
strip "$root/usr/local/bin/backstop"
for tool in "${tools[@]}"; do install -m 0755 "$tool" "$root/usr/local/bin/$(basename "$tool")"; done

# Every shared library the binaries load (ldd resolves the whole closure), at the same path.
for exe in "$binary" "${tools[@]}"; do
  ldd "$exe" | awk '/=> \//{print $3} /^\s*\/[^ ]+ \(/{print $1}'
done | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# The loader as the ELF interpreter path names it, also through the /lib64 symlink of the build machine.
interp="$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
mkdir -p "$root$(dirname "$interp")"
[ -e "$root$interp" ] || cp -L "$interp" "$root$interp"

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
printf 'root:x:0:0:root:/root:/sbin/nologin\nbackstop:x:65532:65532:backstop:/tmp:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nbackstop:x:65532:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

if [ -n "$rootfs_only" ]; then
  rm -rf "$rootfs_only"; mkdir -p "$(dirname "$rootfs_only")"
  cp -a "$root" "$rootfs_only"
  echo "build-image: root filesystem in $rootfs_only"
  exit 0
fi

command -v buildah >/dev/null || { echo "build-image: buildah is not installed (hack/install-deps.sh installs it)" >&2; exit 1; }
cp image/Containerfile "$context/Containerfile"
mkdir -p "$(dirname "$output")"
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
tag="localhost/backstop:$(git rev-parse --short HEAD 2>/dev/null || echo dev)"
buildah bud --quiet --network=none --layers=false -f "$context/Containerfile" -t "$tag" "$context" >/dev/null
rm -f "$output"
buildah push --quiet "$tag" "oci-archive:$output:$tag"
buildah rmi "$tag" >/dev/null 2>&1 || true
echo "build-image: $tag -> $output ($(du -h "$output" | cut -f1))"
