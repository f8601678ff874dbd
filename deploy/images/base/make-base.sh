#!/usr/bin/env bash
# The base every StreamSpace image starts from, made here because no registry is reachable:
# `debootstrap --variant=minbase` of Debian bookworm from the machine's own apt mirror, slimmed
# (no docs, man pages, locales or apt lists; dpkg keeps them out of later installs too; no
# recommends), then `podman import`ed. The rootfs tarball is cached by a hash of this script and
# the mirror, so a fresh Podman storage re-imports it instead of bootstrapping again.
# Prints the image reference. Needs root (debootstrap chroots).
# Usage: make-base.sh [--print-ref]   (--print-ref: the reference only; exit 3 if not built)
set -euo pipefail
# shellcheck source=../podman-env.sh
source "$(dirname "$0")/../podman-env.sh"
SUITE=bookworm

# The mirror the machine's apt uses (deb822 or one-line format), so the base matches the host.
mirror_of() { # $1: a regexp the URI must not match (e.g. -security), or empty for security
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
  cat "${files[@]}" 2>/dev/null |
    grep -oE '(URIs:\s*|^deb\s+(\[[^]]*\]\s+)?)https?://[^ ]+debian[^ ]*' |
    grep -oE 'https?://[^ ]+' | grep -E "$1" | head -1
}
MIRROR="${DEBIAN_MIRROR:-$(mirror_of '/debian/?$' || true)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY="${DEBIAN_SECURITY_MIRROR:-$(mirror_of 'debian-security' || true)}"
SECURITY="${SECURITY:-http://deb.debian.org/debian-security}"

key="$( (cat "$0"; echo "$SUITE $MIRROR $SECURITY") | sha256sum | cut -c1-16)"
ref="$IMAGE_PREFIX/debian-base:$SUITE-$key"
tarball="$IMAGE_CACHE/base-$SUITE-$key.tar"
log() { printf '[base] %s\n' "$*" >&2; }

if podman image exists "$ref"; then echo "$ref"; exit 0; fi
if [ "${1:-}" = "--print-ref" ]; then echo "base image $ref is not built" >&2; exit 3; fi

if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is needed: apt-get install -y debootstrap" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
  work="$(mktemp -d "$IMAGE_CACHE/base-work.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  root="$work/rootfs"
  log "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/dpkg/dpkg.cfg.d/90-streamspace-slim" <<'DPKG'
# Images carry no documentation, manual pages or translations.
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
DPKG
  cat >"$root/etc/apt/apt.conf.d/90-streamspace-slim" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  rm -rf "$root"/usr/share/{man,info,locale,lintian}/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/*
  : >"$root/etc/machine-id"
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
log "importing $tarball as $ref"
podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$ref" >/dev/null
echo "$ref"
