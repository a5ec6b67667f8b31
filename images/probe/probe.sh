#!/bin/sh
# DeployDeck's probe service: a tiny HTTP server whose behaviour (slow start, health status, crash,
# memory hog, error logs) is chosen by environment variables. See README.md beside this file.
PORT="${PROBE_PORT:-8080}"
DELAY="${PROBE_START_DELAY:-0}"
STATUS="${PROBE_HEALTH_STATUS:-200}"
VERSION="${PROBE_VERSION:-$(cat /VERSION)}"
ALLOC_MB="${PROBE_ALLOC_MB:-0}"
ALLOC_AFTER="${PROBE_ALLOC_AFTER:-0}"
EXIT_AFTER="${PROBE_EXIT_AFTER:-}"
EXIT_CODE="${PROBE_EXIT_CODE:-1}"
ERROR_EVERY="${PROBE_ERROR_EVERY:-}"

mkdir -p /run/probe /www
rm -f /run/probe/ready /www/health
echo "$STATUS" > /run/probe/status
echo "probe $VERSION on $(hostname)" > /www/index.html

httpd -f -p "$PORT" -h /www &
HTTPD=$!
SLEEPER=""
# PID 1 ignores signals it has no handler for: stop promptly on `docker stop`.
trap 'kill $HTTPD $SLEEPER 2>/dev/null; echo "INFO probe stopping"; exit 0' TERM INT

echo "INFO probe $VERSION listening on :$PORT (start delay ${DELAY}s, health status $STATUS)"
t=0
HOG=""
while :; do
    if [ "$t" -ge "$DELAY" ] && [ ! -f /run/probe/ready ]; then
        touch /run/probe/ready
        # /health is a plain file: 200 when healthy, 404 otherwise. /cgi-bin/health gives the real status code.
        [ "$STATUS" = "200" ] && echo ok > /www/health
        echo "INFO probe ready after ${t}s"
    fi
    if [ "$ALLOC_MB" -gt 0 ] && [ "$t" -ge "$ALLOC_AFTER" ] && [ -z "$HOG" ]; then
        echo "INFO allocating ${ALLOC_MB} MB"
        HOG=$(head -c $((ALLOC_MB * 1048576)) /dev/zero | tr '\0' 'x')
        echo "INFO holding ${#HOG} bytes"
    fi
    if [ -n "$EXIT_AFTER" ] && [ "$t" -ge "$EXIT_AFTER" ]; then
        echo "INFO probe exiting with code $EXIT_CODE after ${t}s"
        kill $HTTPD 2>/dev/null
        exit "$EXIT_CODE"
    fi
    if [ -n "$ERROR_EVERY" ] && [ "$t" -gt 0 ] && [ $((t % ERROR_EVERY)) -eq 0 ]; then
        echo "ERROR probe failure simulated"
    fi
    sleep 1 &
    SLEEPER=$!
    wait $SLEEPER
    t=$((t + 1))
done
