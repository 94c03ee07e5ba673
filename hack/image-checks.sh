#!/usr/bin/env bash
# Builds the image with hack/build-image.sh and checks the OCI archive it writes: the root
# filesystem (extracted from the archive's layers) runs `backstop --version`, `backstop agent
# --help` and `pg_dump --version` in a chroot as UID 65532, the image config runs as that
# non-root user, and the filesystem holds nothing but the binaries, their libraries, the CA
# bundle, time zones and the passwd/group entries.
#
#   hack/image-checks.sh [BINARY]   (default: the debug build's backstop, as the test build makes it;
#                                    the release image uses a static-stdlib release build instead)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-$(swift build --show-bin-path)/backstop}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail=0
check() { # check NAME COMMAND…
  local name=$1; shift
  if out=$("$@" 2>&1); then echo "image-checks: PASS $name"; else echo "image-checks: FAIL $name"; echo "$out" | tail -20 | sed 's/^/    /'; fail=1; fi
}

hack/build-image.sh --binary "$binary" --output "$work/backstop.oci.tar" | sed 's/^/image-checks: /'
mkdir -p "$work/oci" "$work/rootfs"
tar -xf "$work/backstop.oci.tar" -C "$work/oci"
python3 - "$work/oci" "$work/rootfs" > "$work/config.json" <<'PY'
import json, sys, tarfile, os
oci, root = sys.argv[1], sys.argv[2]
def blob(digest): return os.path.join(oci, "blobs", *digest.split(":"))
index = json.load(open(os.path.join(oci, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
for layer in manifest["layers"]:
    with tarfile.open(blob(layer["digest"])) as t:
        t.extractall(root, filter="fully_trusted")
print(open(blob(manifest["config"]["digest"])).read())
PY
root="$work/rootfs"
as_user() { chroot --userspec=65532:65532 "$root" "$@"; }
check "backstop --version (chroot, uid 65532)" sh -c "out=\$(chroot --userspec=65532:65532 '$root' /usr/local/bin/backstop --version) && echo \"\$out\" && [ -n \"\$out\" ]"
check "backstop agent --help" sh -c "chroot --userspec=65532:65532 '$root' /usr/local/bin/backstop agent --help | grep -q 'Run one data-plane step'"
check "pg_dump --version" sh -c "chroot --userspec=65532:65532 '$root' /usr/local/bin/pg_dump --version | grep -q '^pg_dump (PostgreSQL)'"
check "pg_restore, redis-cli and redis-server run" sh -c "chroot '$root' /usr/local/bin/pg_restore --version && chroot '$root' /usr/local/bin/redis-cli --version && chroot '$root' /usr/local/bin/redis-server --version"
check "image config: non-root user, entrypoint backstop" python3 -c "
import json,sys; c=json.load(open('$work/config.json'))['config']
assert c['User']=='65532:65532', c['User']; assert c['Entrypoint']==['/usr/local/bin/backstop'], c['Entrypoint']"
# Nothing of the build machine beyond what the binaries need: every file is one of these.
check "root filesystem holds only the binaries, their libraries and static data" python3 - "$root" <<'PY'
import os, re, sys
root = sys.argv[1]
allowed = [r"usr/local/bin/(backstop|pg_dump|pg_restore|redis-cli|redis-server)", r"(usr/)?lib(64|/x86_64-linux-gnu)?/[^/]+\.so(\.[0-9.]+)?",
           r"opt/swift/usr/lib/swift/linux/[^/]+\.so", r"lib64/ld-linux-x86-64\.so\.2", r"etc/(passwd|group|nsswitch\.conf)",
           r"etc/ssl/certs/ca-certificates\.crt", r"usr/share/zoneinfo/.*"]
bad = []
count = 0
for dirpath, dirs, files in os.walk(root):
    for f in files:
        rel = os.path.relpath(os.path.join(dirpath, f), root)
        count += 1
        if not any(re.fullmatch(p, rel) for p in allowed): bad.append(rel)
if bad: sys.exit("unexpected files: " + ", ".join(sorted(bad)[:20]))
print(f"{count} files, all expected")
PY
if [ $fail -ne 0 ]; then echo "image-checks: FAILED"; exit 1; fi
echo "image-checks: all passed"
