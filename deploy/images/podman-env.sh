# Sourced by the image scripts: Podman with this folder's containers.conf, and the cache folder.
# shellcheck shell=bash
IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$IMAGES_DIR/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$IMAGES_DIR/containers.conf}"
IMAGE_CACHE="${STREAMSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamspace}/images"
# Image names: localhost/streamspace/<name>; tags are content hashes plus "dev".
IMAGE_PREFIX="${IMAGE_PREFIX:-localhost/streamspace}"
mkdir -p "$IMAGE_CACHE"
command -v podman >/dev/null || {
  echo "podman is needed to build images: apt-get install -y podman debootstrap runc uidmap" >&2
  exit 1
}
