#!/usr/bin/env bash
# Local bases for DeployDeck's own image, so that the Dockerfile builds with no registry (README.md, Production):
#   deploydeck/dotnet-deps:12          Debian 12 with what a self-contained .NET app needs, and the user app (1654)
#   deploydeck/deploydeck-build:local  that, plus Web and Worker published self-contained by this machine's SDK in /out
# Each is rebuilt only when its inputs change (label deploydeck.image.hash). With a TAG, the image itself is then
# built from them:  docker build --build-arg BUILD_IMAGE=… --build-arg RUNTIME_IMAGE=… -t TAG .
# Usage: images/deploydeck/build.sh [TAG]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=../rootfs.sh
source "$here/../rootfs.sh"

DEPS=deploydeck/dotnet-deps:12
BUILD=deploydeck/deploydeck-build:local
# As Microsoft's runtime-deps image, without libicu (DeployDeck runs with InvariantGlobalization), with libgssapi-krb5-2
# (Npgsql looks for it at every start, and prints an error without it). The essential set brings bash and find, which
# docker-compose.yml's health checks use.
PACKAGES=ca-certificates,libc6,libgcc-s1,libgssapi-krb5-2,libssl3,libstdc++6,tzdata,zlib1g,usr-is-merged
# Left out: documentation, and glibc's iconv modules (8 MB; .NET does its own encodings).
EXCLUDES=('/usr/share/man/*' '/usr/share/doc/*' '/usr/share/info/*' '/usr/share/locale/*' '/usr/share/lintian/*'
    '/usr/lib/*/gconv/*')
# The user app, as in Microsoft's images. The essential set's init-system-helpers got usrmerge, and with it all of perl
# (50 MB), before usr-is-merged could stand in: purged once usr-is-merged is there.
HOOK='echo "app:x:1654:1654:app:/home/app:/usr/sbin/nologin" >> "$1/etc/passwd"; echo "app:x:1654:" >> "$1/etc/group";
mkdir -m 700 "$1/home/app"; chown 1654:1654 "$1/home/app";
chroot "$1" dpkg --purge usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl perl-modules-5.36 libperl5.36;
rm -rf "$1"/var/cache/debconf/*-old "$1"/var/log/apt'
IMPORT=('ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin APP_UID=1654 DOTNET_RUNNING_IN_CONTAINER=true'
    'CMD ["/bin/bash"]')

deps_hash="$(rootfs_hash)"
if [[ "$(image_label "$DEPS")" == "$deps_hash" ]]; then
    say "$DEPS is up to date"
else
    build_rootfs "$DEPS" "$deps_hash" "the .NET runtime's dependencies"
    say "built $DEPS ($(image_size "$DEPS"))"
fi

# What the publish reads: the sources as they are on disk (committed or not), the SDK, and the base it lands on.
sources_hash() {
    local files=(src global.json Directory.Build.props Directory.Packages.props .editorconfig images/deploydeck/publish.sh)
    {
        echo "$deps_hash"
        (cd "$repo" && dotnet --version)
        if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
            git -C "$repo" ls-files -z -c -o --exclude-standard -- "${files[@]}" | (cd "$repo" && xargs -0 -r sha256sum)
        else
            (cd "$repo" && find "${files[@]}" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        fi
    } | sha256sum | cut -c1-16
}

build_hash="$(sources_hash)"
if [[ "$(image_label "$BUILD")" == "$build_hash" ]]; then
    say "$BUILD is up to date"
else
    work="$(mktemp -d /var/tmp/deploydeck-publish.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    started=$SECONDS
    say "publishing Web and Worker self-contained for linux-x64 (.NET SDK $(cd "$repo" && dotnet --version); about 2 minutes)"
    # An artifacts folder of its own, kept for the next publish: the checkout's bin/ and obj/ (and the tests running
    # from them) are left alone.
    if ! "$here/publish.sh" "$repo" "$work/out" --artifacts-path "$repo/.deploydeck/publish" >"$work/publish.log" 2>&1; then
        cat "$work/publish.log" >&2
        echo "deploydeck: dotnet publish failed (above)" >&2
        exit 1
    fi
    say "published in $((SECONDS - started)) s: $(cat "$work/out/PUBLISHED")"
    printf 'FROM %s\nCOPY . /out/\n' "$DEPS" | docker_build "$BUILD" "$build_hash" "$work/out" -f -
    rm -rf "$work"
    trap - EXIT
    say "built $BUILD ($(image_size "$BUILD"))"
fi

if [[ $# -gt 0 ]]; then
    tag="$1"
    image_hash="$( { echo "$build_hash"; cat "$repo/Dockerfile" "$repo/.dockerignore"; } | sha256sum | cut -c1-16)"
    if [[ "$(image_label "$tag")" == "$image_hash" ]]; then
        say "$tag is up to date"
    else
        say "building $tag: docker build --build-arg BUILD_IMAGE=$BUILD --build-arg RUNTIME_IMAGE=$DEPS -t $tag ."
        docker_build "$tag" "$image_hash" "$repo" --build-arg "BUILD_IMAGE=$BUILD" --build-arg "RUNTIME_IMAGE=$DEPS"
        say "built $tag ($(image_size "$tag"))"
    fi
fi
if [[ -n "${REPLACED:-}" ]]; then
    remove_replaced "$REPLACED"
fi
