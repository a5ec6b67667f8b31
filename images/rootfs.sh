# Shared by the image builders: a Debian 12 root filesystem made by mmdebstrap and loaded with `docker import`,
# cached by the hash of its inputs in the label deploydeck.image.hash. Sourced, not run. The caller sets:
#   PACKAGES (comma-separated), EXCLUDES (dpkg path-exclude globs), HOOK (mmdebstrap customize hook, "$1" = root),
#   IMPORT (docker import --change lines).

say() { printf '==> %s\n' "$*"; }

# The host's own apt sources (a machine behind a mirror builds from that mirror).
apt_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -s "$f" ]] && printf '%s\n' "$f"
    done
    return 0
}

image_label() { docker image inspect -f '{{ index .Config.Labels "deploydeck.image.hash" }}' "$1" 2>/dev/null || true; }

# What goes into the root filesystem and where its packages come from.
rootfs_hash() {
    local f
    {
        printf '%s\n' "$PACKAGES" "${EXCLUDES[@]}" "$HOOK" "${IMPORT[@]}"
        while IFS= read -r f; do cat "$f"; done < <(apt_sources)
    } | sha256sum | cut -c1-16
}

# build_rootfs IMAGE HASH WHAT: mmdebstrap --variant=essential plus PACKAGES, then docker import as IMAGE. Sets
# REPLACED to the image it replaces: the caller drops it (remove_replaced) once the images built on it are rebuilt.
build_rootfs() {
    local image="$1" hash="$2" what="$3" root log started p sources opts=() changes=()
    REPLACED="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
    if ! command -v mmdebstrap >/dev/null 2>&1; then
        [[ $EUID -eq 0 ]] || { echo "deploydeck: mmdebstrap is missing and this is not root: apt-get install mmdebstrap" >&2; return 1; }
        say "installing mmdebstrap (local images' root filesystems are made with it)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
    fi
    mapfile -t sources < <(apt_sources)
    for p in "${EXCLUDES[@]}"; do opts+=("--dpkgopt=path-exclude=$p"); done
    changes=(--change "LABEL deploydeck.image.hash=$hash")
    for p in "${IMPORT[@]}"; do changes+=(--change "$p"); done
    root="$(mktemp -d /var/tmp/deploydeck-rootfs.XXXXXX)"
    log="$root.log"
    # shellcheck disable=SC2064 # the paths are fixed now
    trap "rm -rf '$root' '$log'" EXIT

    started=$SECONDS
    say "making $what with mmdebstrap (Debian 12 essential + ${PACKAGES//,/, })"
    if ! mmdebstrap --variant=essential --include="$PACKAGES" "${opts[@]}" --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --customize-hook="$HOOK" bookworm "$root" "${sources[@]}" >"$log" 2>&1; then
        tail -30 "$log" >&2
        echo "deploydeck: mmdebstrap failed (above)" >&2
        return 1
    fi
    say "importing $image ($(du -sm "$root" | cut -f1) MB; mmdebstrap took $((SECONDS - started)) s)"
    started=$SECONDS
    tar -C "$root" --numeric-owner --exclude='./dev/*' -c . | docker import "${changes[@]}" - "$image" >/dev/null
    say "imported $image in $((SECONDS - started)) s"
    rm -rf "$root" "$log"
    trap - EXIT
}

# remove_replaced ID: an image just replaced, with the untagged images built on it (the classic builder keeps every step
# of a build as an image, as its cache): they would pile up with every rebuild. Tagged ones and those in use stay.
remove_replaced() {
    local old="$1" id parent tags ids descendants=() frontier next i
    declare -A parent_of=() untagged=()
    mapfile -t ids < <(docker image ls -a -q --no-trunc)
    while read -r id parent tags; do
        parent_of[$id]="$parent"
        [[ "$tags" == "[]" ]] && untagged[$id]=1
    done < <(docker image inspect -f '{{.Id}} {{.Parent}} {{.RepoTags}}' "${ids[@]}" 2>/dev/null)
    frontier=("$old")
    while [[ ${#frontier[@]} -gt 0 ]]; do
        next=()
        for id in "${!parent_of[@]}"; do
            for i in "${frontier[@]}"; do
                if [[ "${parent_of[$id]}" == "$i" ]]; then
                    descendants=("$id" "${descendants[@]}")
                    next+=("$id")
                fi
            done
        done
        frontier=("${next[@]}")
    done
    # Deepest first; removing an untagged image also removes its untagged parents that nothing else uses.
    for id in "${descendants[@]}" "$old"; do
        [[ -n "${untagged[$id]:-}" ]] && docker image rm "$id" >/dev/null 2>&1 || true
    done
}

# docker_build IMAGE HASH CONTEXT [docker build options...]: the classic builder, labelled with HASH; drops the image
# it replaces when nothing else holds it.
docker_build() {
    local image="$1" hash="$2" context="$3" old out
    shift 3
    old="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
    # --force-rm: a failed step leaves no container behind either.
    if ! out="$(DOCKER_BUILDKIT=0 docker build --force-rm --label "deploydeck.image.hash=$hash" -t "$image" "$@" "$context" 2>&1)"; then
        printf '%s\n' "$out" >&2
        echo "deploydeck: building $image failed (above)" >&2
        return 1
    fi
    if [[ -n "$old" && "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ]]; then
        remove_replaced "$old"
    fi
}

image_size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
