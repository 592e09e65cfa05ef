#!/usr/bin/env bash
# build-base.sh: make a local debian:bookworm-slim image without a registry.
#
# The project's machines reach the Debian mirror and nothing else, so the
# official image cannot be pulled.  debootstrap's minbase variant (only
# Essential: yes packages plus apt) from the same mirror, slimmed the way the
# official slim image is (no documentation, manual pages or apt lists), is
# imported under the official name so that the Dockerfile stays the one a
# Docker user builds against the real image.
#
#   docker/build-base.sh [--force]
#
# Settings: TRIPLINE_BASE_DIR work directory [/var/tmp/tripline-base],
# DEBIAN_MIRROR [http://deb.debian.org/debian], PODMAN [podman].
# Needs root (debootstrap) and the debootstrap package.
set -euo pipefail

TAG=debian:bookworm-slim
WORK=${TRIPLINE_BASE_DIR:-/var/tmp/tripline-base}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PODMAN=${PODMAN:-podman}

die() { printf 'build-base: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" != --force ] && $PODMAN image exists "$TAG"; then
	echo "build-base: $TAG is present (use --force to rebuild)"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap is not installed"

rootfs=$WORK/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"
echo "build-base: debootstrap --variant=minbase bookworm from $MIRROR"
debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap failed, see $WORK/debootstrap.log"

# The same three suites as the official image, in deb822 form.
rm -f "$rootfs/etc/apt/sources.list"
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# What the official slim image does: keep documentation out of every
# later install, and do not keep downloaded packages or lists.
cat > "$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' > "$rootfs/etc/apt/apt.conf.d/docker-no-languages"
# No services may start while images are built (invoke-rc.d, policy-rc.d).
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"

find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* "$rootfs"/tmp/*
: > "$rootfs/etc/machine-id"
echo localhost > "$rootfs/etc/hostname"

echo "build-base: importing as $TAG"
tar -C "$rootfs" --numeric-owner -c . |
    $PODMAN import --change 'CMD ["bash"]' - "$TAG" >/dev/null
rm -rf "$rootfs"
$PODMAN image ls "$TAG"
