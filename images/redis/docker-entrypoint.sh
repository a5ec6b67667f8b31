#!/bin/sh
# The official redis image's behaviour on Debian's redis-server: options or a .conf file alone are redis-server's;
# as root, own /data and drop to the redis user; without a config file, protected mode is off (the official image
# builds redis so), since a container's port is reachable only where it is published or on its networks.
set -e

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# Files redis writes (dump.rdb, appendonly) are for redis alone.
um="$(umask)"
if [ "$um" = 0022 ]; then
    umask 0077
fi

if [ "$1" = redis-server ] && { [ $# -eq 1 ] || [ "${2#-}" != "$2" ]; }; then
    # First, so that an option given after it wins.
    shift
    set -- redis-server --protected-mode no "$@"
fi

exec "$@"
