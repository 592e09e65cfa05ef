#!/usr/bin/env bash
# install-deps.sh: install the Debian 12 packages tripline needs, only those
# missing; does nothing (and needs no root) when everything is present.
#
#   scripts/install-deps.sh          build + run (make up)
#   scripts/install-deps.sh test     also what make test needs
#   scripts/install-deps.sh bench    also what make bench needs
#
# Installing postgresql-15 or nginx on Debian would normally create and start
# the system's own cluster and web server.  tripline runs private instances
# under var/, so while installing we tell Debian not to start any service
# (policy-rc.d, see /usr/share/doc/init-system-helpers/README.policy-rc.d)
# and not to create the "main" cluster (postgresql-common createcluster.conf),
# and disable at boot the services the install enabled (below).
set -euo pipefail

build=(gcc make libc6-dev libfcgi-dev libpq-dev libcsv-dev libjson-c-dev libssl-dev
       postgresql-15 postgresql-client-15 nginx-light curl ca-certificates util-linux openssl)
test=(python3 python3-yaml clang libclang-rt-14-dev procps chromium libfcgi-bin)
bench=(wrk gnuplot-nox)

want=("${build[@]}")
case "${1:-}" in
test)	want+=("${test[@]}") ;;
bench)	want+=("${test[@]}" "${bench[@]}") ;;
"")	;;
*)	echo "usage: $0 [test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$s" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=sudo
fi

made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
	$sudo chmod 755 /usr/sbin/policy-rc.d
	made_policy=1
fi
trap '[ $made_policy -eq 1 ] && $sudo rm -f /usr/sbin/policy-rc.d' EXIT
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	$sudo mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
fi

# Debian also enables an installed package's service (deb-systemd-helper),
# so the system's nginx and PostgreSQL would start at the next boot: a
# unit this install enabled is disabled again; one enabled before is the
# machine's own, left as it was.  systemctl reads and changes the unit
# links without a running systemd (a container).
units=(nginx.service postgresql.service)
enabled_before=()
if command -v systemctl >/dev/null; then
	for u in "${units[@]}"; do
		systemctl is-enabled --quiet "$u" 2>/dev/null && enabled_before+=("$u")
	done
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

if command -v systemctl >/dev/null; then
	for u in "${units[@]}"; do
		case " ${enabled_before[*]} " in *" $u "*) continue ;; esac
		if systemctl is-enabled --quiet "$u" 2>/dev/null; then
			$sudo systemctl disable --quiet "$u" 2>/dev/null ||
			    echo "note: could not disable $u; it may start at boot" >&2
		fi
	done
fi
