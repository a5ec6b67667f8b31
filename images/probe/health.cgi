#!/bin/sh
# busybox httpd sends a CGI's output as is when it starts with a status line.
if [ -f /run/probe/ready ]; then code=$(cat /run/probe/status); else code=503; fi
case "$code" in
    2*) reason="OK" ;;
    503) reason="Service Unavailable" ;;
    *) reason="Error" ;;
esac
printf 'HTTP/1.0 %s %s\r\nContent-Type: text/plain\r\n\r\nstatus %s\n' "$code" "$reason" "$code"
