#!/usr/bin/env bash
# Builds deploydeck/probe:latest (v1) and :v2 with `docker import` of a busybox root filesystem: no registry needed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ ! -x /bin/busybox ]]; then
    echo "==> installing busybox-static (the probe image is made of it)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi

hash="$(cat "$here/probe.sh" "$here/health.cgi" "$here/build.sh" /bin/busybox | sha256sum | cut -c1-16)"
for version in v1 v2; do
    tag="latest"; [[ "$version" == v2 ]] && tag="v2"
    image="deploydeck/probe:$tag"
    current="$(docker image inspect -f '{{ index .Config.Labels "deploydeck.probe.hash" }}' "$image" 2>/dev/null || true)"
    if [[ "$current" == "$hash" ]]; then
        echo "==> $image is up to date"
        continue
    fi
    root="$(mktemp -d)"
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root"/{bin,www/cgi-bin,run,tmp,proc,sys,dev,etc}
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
    done
    install -m 0755 "$here/probe.sh" "$root/probe.sh"
    install -m 0755 "$here/health.cgi" "$root/www/cgi-bin/health"
    echo "$version" > "$root/VERSION"
    echo "root:x:0:0:root:/:/bin/sh" > "$root/etc/passwd"
    tar -C "$root" -c . | docker import \
        --change 'ENTRYPOINT ["/bin/sh", "/probe.sh"]' \
        --change 'EXPOSE 8080' \
        --change 'ENV PATH=/bin' \
        --change "LABEL deploydeck.probe.hash=$hash deploydeck.probe.version=$version" \
        - "$image" >/dev/null
    rm -rf "$root"
    trap - EXIT
    echo "==> built $image ($version)"
done
