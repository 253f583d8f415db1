#!/usr/bin/env bash
# Builds the container image of packaging/Containerfile from a static godepot binary:
#   packaging/build-image.sh BINARY [TAG]
# with podman, buildah or docker, whichever is found first (Docker image format, so that the
# HEALTHCHECK is kept: the OCI format has none).
set -euo pipefail
binary=${1:?usage: packaging/build-image.sh BINARY [TAG]}
tag=${2:-godepot:latest}
here=$(cd "$(dirname "$0")" && pwd)
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "error: $ca is missing (Debian: ca-certificates)" >&2; exit 1; }
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
install -m 0755 "$binary" "$context/godepot"
install -m 0644 "$ca" "$context/ca-certificates.crt"
install -d -m 0700 "$context/data"
if command -v podman >/dev/null 2>&1; then
    podman build --format docker -f "$here/Containerfile" -t "$tag" "$context"
elif command -v buildah >/dev/null 2>&1; then
    # vfs storage: no fuse-overlayfs or kernel overlay needed (CI runs in a container).
    buildah --storage-driver "${STORAGE_DRIVER:-vfs}" build --format docker \
        -f "$here/Containerfile" -t "$tag" "$context"
elif command -v docker >/dev/null 2>&1; then
    docker build -f "$here/Containerfile" -t "$tag" "$context"
else
    echo "error: no container tool (podman, buildah or docker) on PATH" >&2
    exit 1
fi
