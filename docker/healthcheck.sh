#!/bin/bash
# healthcheck.sh: the containers' health checks (docker-compose.yml).  Exit 0
# when healthy, 1 with a line on stderr when not.
#
#   tripline-healthcheck nginx    GET /api/health through nginx (nginx, the
#                                 FastCGI program and PostgreSQL all answer)
#   tripline-healthcheck cgi      the same request straight to the FastCGI
#                                 socket (cgi-fcgi), without nginx
#   tripline-healthcheck runner   PID 1 is a live tripline-runner and both
#                                 its database sessions are connected
set -uo pipefail

fail() { echo "unhealthy: $*" >&2; exit 1; }

# The status of a response head: nginx's status line, or a FastCGI
# program's Status header (RFC 3875 6.3.3; none means 200).
status_of() {
	local line code=""
	while IFS= read -r line; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case $line in
		HTTP/*)	code=${line#* }; code=${code%% *} ;;
		[Ss]tatus:*) code=${line#*:}; code=${code# }; code=${code%% *} ;;
		esac
	done
	echo "${code:-200}"
}

case ${1:-} in
nginx)
	exec 3<>/dev/tcp/127.0.0.1/8080 || fail "nginx does not accept connections"
	printf 'GET /api/health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
	code=$(timeout 4 cat <&3 | status_of)
	[ "$code" = 200 ] || fail "GET /api/health answered $code"
	;;
cgi)
	sock=${TRIPLINE_SOCKET:-/run/tripline/cgi.sock}
	[ -S "$sock" ] || fail "no socket at $sock"
	# cgi-fcgi sends its whole environment as FastCGI parameters: give it
	# only those nginx's fastcgi_params would send, no passwords.
	code=$(timeout 4 env -i REQUEST_METHOD=GET REQUEST_URI=/api/health \
	    DOCUMENT_URI=/api/health SCRIPT_NAME=/api/health QUERY_STRING= \
	    CONTENT_LENGTH= CONTENT_TYPE= SERVER_PROTOCOL=HTTP/1.1 \
	    GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1 REMOTE_PORT=0 \
	    SERVER_NAME=localhost SERVER_PORT=8080 \
	    cgi-fcgi -bind -connect "$sock" | status_of)
	[ "$code" = 200 ] || fail "FastCGI /api/health answered ${code:-nothing}"
	;;
runner)
	read -r comm < /proc/1/comm || fail "no PID 1"
	[ "$comm" = tripline-runner ] || fail "PID 1 is $comm, not tripline-runner"
	read -r _ _ state _ < /proc/1/stat
	[ "$state" != Z ] || fail "tripline-runner is a zombie"
	# Both of its sessions (work and lease control, jobs/main.c) are up:
	# the sessions of its own role from this container's address.
	n=$(psql -XAtq 2>/dev/null <<-'SQL'
	SELECT count(DISTINCT application_name) FROM pg_stat_activity
	WHERE usename = current_user AND client_addr = inet_client_addr()
	  AND application_name IN ('tripline-runner', 'tripline-runner-control');
	SQL
	) || fail "the database does not answer role ${PGUSER:-?}"
	[ "$n" = 2 ] || fail "tripline-runner has ${n:-no} of its 2 database sessions"
	;;
*)
	echo "usage: $0 nginx|cgi|runner" >&2
	exit 2
	;;
esac
exit 0
