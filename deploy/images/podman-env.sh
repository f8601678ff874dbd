# Sourced by the image scripts: Podman with this folder's containers.conf, and the cache folder.
# shellcheck shell=bash
IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$IMAGES_DIR/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$IMAGES_DIR/containers.conf}"
IMAGE_CACHE="${STREAMSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamspace}/images"
# Image names: localhost/streamspace/<name>; tags are content hashes plus "dev".
IMAGE_PREFIX="${IMAGE_PREFIX:-localhost/streamspace}"
mkdir -p "$IMAGE_CACHE"
# Podman, runc and debootstrap from Debian, installed here when missing (as root), so a fresh
# machine needs nothing done by hand.
missing_pkgs=()
command -v podman >/dev/null || missing_pkgs+=(podman)
command -v runc >/dev/null || missing_pkgs+=(runc)
command -v debootstrap >/dev/null || missing_pkgs+=(debootstrap)
command -v newuidmap >/dev/null || missing_pkgs+=(uidmap)
if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing: ${missing_pkgs[*]}; run: sudo apt-get install -y ${missing_pkgs[*]}" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null
fi
