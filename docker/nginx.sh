#!/bin/sh
# nginx.sh: entrypoint of the nginx image.  Fills in nginx/nginx.conf.in (the
# template scripts/stack.sh uses) from the environment and runs nginx in the
# foreground.
#
# The master process stays root only to open the logs on the container's
# stdout/stderr; the workers, which serve requests and connect to the FastCGI
# socket, run as tripline (uid 10001, the owner of the socket).
#
# Environment:
#   TRIPLINE_SOCKET      FastCGI socket [/run/tripline/cgi.sock]
#   TRIPLINE_MAX_UPLOAD  largest upload in bytes [4294967296]
#   TRIPLINE_SUBMIT_RATE, TRIPLINE_SUBMIT_BURST  POSTs per second per client [20, 200]
#   TRIPLINE_UPLOAD_CONN uploads at once per client address [4]
set -eu

VAR=/var/lib/tripline-nginx
CONF=$VAR/nginx.conf

mkdir -p "$VAR/run" "$VAR/log" \
    "$VAR/nginx/client_body" "$VAR/nginx/proxy" "$VAR/nginx/fastcgi" \
    "$VAR/nginx/uwsgi" "$VAR/nginx/scgi" /usr/share/tripline/nginx/www
chown -R tripline:tripline "$VAR/nginx"
# The container's log is its stdout and stderr.
ln -sf /dev/stdout "$VAR/log/nginx-access.log"
ln -sf /dev/stderr "$VAR/log/nginx-error.log"

# Only digits reach the numeric fields, so no value can add a directive.
for v in "${TRIPLINE_MAX_UPLOAD:-4294967296}" "${TRIPLINE_SUBMIT_RATE:-20}" \
    "${TRIPLINE_SUBMIT_BURST:-200}" "${TRIPLINE_UPLOAD_CONN:-4}"; do
	case $v in
	''|*[!0-9]*) echo "nginx: not a number: \"$v\"" >&2; exit 1 ;;
	esac
done
SOCKET=${TRIPLINE_SOCKET:-/run/tripline/cgi.sock}
case $SOCKET in
*[!A-Za-z0-9/._-]*) echo "nginx: bad socket path: \"$SOCKET\"" >&2; exit 1 ;;
esac

sed -e "s|@VAR@|$VAR|g" -e "s|@HOST@|0.0.0.0|g" -e "s|@PORT@|8080|g" \
    -e "s|@SOCKET@|$SOCKET|g" -e "s|@WWW@|/usr/share/tripline/nginx/www|g" \
    -e "s|@MAX_BODY@|${TRIPLINE_MAX_UPLOAD:-4294967296}|g" \
    -e "s|@SUBMIT_RATE@|${TRIPLINE_SUBMIT_RATE:-20}|g" \
    -e "s|@SUBMIT_BURST@|${TRIPLINE_SUBMIT_BURST:-200}|g" \
    -e "s|@UPLOAD_CONN@|${TRIPLINE_UPLOAD_CONN:-4}|g" \
    /usr/share/tripline/nginx/nginx.conf.in > "$CONF"
# A field added to the template must be added here too (and in stack.sh).
if grep -v '^[[:space:]]*#' "$CONF" | grep -q '@[A-Z_]*@'; then
	echo "nginx: nginx.conf.in has a field this entrypoint does not fill:" >&2
	grep -v '^[[:space:]]*#' "$CONF" | grep -o '@[A-Z_]*@' | sort -u >&2
	exit 1
fi

exec nginx -e stderr -c "$CONF" -g 'daemon off; user tripline tripline;'
