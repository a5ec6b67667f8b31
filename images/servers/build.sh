#!/usr/bin/env bash
# Builds deploydeck/postgres:15, deploydeck/redis:7 and deploydeck/nginx:1 from Debian 12 packages, with no registry:
# one root filesystem made by mmdebstrap, loaded with `docker import` as deploydeck/servers-base:12, and a small
# Dockerfile per server on top (images/<server>/). Every image carries the hash of its inputs in the label
# deploydeck.image.hash: one whose hash matches is not built again. See images/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
images="$(dirname "$here")"
# shellcheck source=../rootfs.sh
source "$images/rootfs.sh"

BASE=deploydeck/servers-base:12
SERVERS=(postgres:15 redis:7 nginx:1)
# busybox: wget for nginx's health check (not busybox-static: its wget segfaults in a full system, where it loads the
# NSS modules of glibc). No ca-certificates: none of the three makes TLS connections out.
PACKAGES=postgresql-15,redis-server,nginx-light,busybox
# Left out: documentation, and PostgreSQL's LLVM JIT (libLLVM and z3 are ~130 MB of ~420 MB; without llvmjit.so the
# server runs with jit unavailable, as its documentation allows).
EXCLUDES=(
    '/usr/share/man/*' '/usr/share/doc/*' '/usr/share/info/*' '/usr/share/locale/*' '/usr/share/lintian/*'
    '/usr/lib/*/libLLVM*' '/usr/lib/*/libz3.so*' '/usr/lib/postgresql/15/lib/llvmjit*' '/usr/lib/postgresql/15/lib/bitcode/*'
)
# Drops the cluster postgresql-15's postinst creates (the image's entrypoint makes its own in PGDATA) and apt's logs.
HOOK='rm -rf "$1/etc/postgresql/15/main" "$1/var/lib/postgresql/15" "$1"/var/cache/debconf/*-old "$1"/var/log/apt'
IMPORT=('ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' 'CMD ["/bin/bash"]')

base_hash="$(rootfs_hash)"
image_hash() {
    { echo "$base_hash"; (cd "$images/$1" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum); } | sha256sum | cut -c1-16
}

stale=()
for server in "${SERVERS[@]}"; do
    if [[ "$(image_label "deploydeck/$server")" == "$(image_hash "${server%%:*}")" ]]; then
        say "deploydeck/$server is up to date"
    else
        stale+=("$server")
    fi
done
[[ ${#stale[@]} -gt 0 ]] || exit 0

if [[ "$(image_label "$BASE")" != "$base_hash" ]]; then
    build_rootfs "$BASE" "$base_hash" "the servers' root filesystem"
fi

for server in "${stale[@]}"; do
    # These Dockerfiles need nothing BuildKit has: the classic builder, which every docker CLI still has.
    docker_build "deploydeck/$server" "$(image_hash "${server%%:*}")" "$images/${server%%:*}"
    say "built deploydeck/$server ($(image_size "deploydeck/$server"))"
done
if [[ -n "${REPLACED:-}" ]]; then
    remove_replaced "$REPLACED"
fi
