#!/bin/sh
# Builds the local base image the container test uses instead of node:*-alpine, which cannot be
# pulled where no registry is reachable: Debian bookworm (debootstrap minbase) with python3,
# python3-pip and ca-certificates, plus this machine's `node` binary copied in.
#
#   docker/build-test-base.sh     prints two image names, one a line, building them only when missing:
#                                 the runtime base, and the build base (the same plus this machine's npm)
#
# Fast when it has run before: the image is kept in podman's store, and the root filesystem
# tarball is cached (LAMBDA_CD_TEST_BASE_CACHE, default /var/cache/lambda-cd-test-base as root,
# ~/.cache/lambda-cd-test-base otherwise), so a fresh podman store only re-imports it (seconds).
# Progress goes to stderr; stdout is only the image names.
set -eu

node_bin=$(command -v node)
node_version=$(node -p 'process.versions.node')
arch=$(uname -m)
# The tags name everything a base is made of: a new node, npm or recipe makes a new base.
rootfs_recipe=2
build_recipe=1
tag="bookworm-py3-node${node_version}-${arch}-r${rootfs_recipe}"
image="localhost/lambda-cd-test-base:${tag}"
build_image="localhost/lambda-cd-test-base:${tag}-npm$(npm --version)-b${build_recipe}"
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/lambda-cd-test-base; else default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-cd-test-base"; fi
cache="${LAMBDA_CD_TEST_BASE_CACHE:-$default_cache}"
tarball="$cache/$tag.tar"

if podman image exists "$image"; then :
elif [ -s "$tarball" ]; then
  echo "build-test-base: importing $tarball as $image" >&2
  podman import --quiet "$tarball" "$image" >/dev/null
else
  command -v debootstrap >/dev/null || { echo "build-test-base: debootstrap is not installed (apt-get install -y debootstrap)" >&2; exit 3; }
  mkdir -p "$cache"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "build-test-base: debootstrap bookworm into $rootfs (about a minute, once)" >&2
  debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # node's shared libraries (libc, libstdc++, libm, libgcc_s) are all in minbase.
  cp "$node_bin" "$rootfs/usr/local/bin/node"
  tar -C "$rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  find "$cache" -maxdepth 1 -name '*.tar' ! -name "$tag.tar" -delete   # older recipes
  echo "build-test-base: importing $tarball as $image" >&2
  podman import --quiet "$tarball" "$image" >/dev/null
fi

# The build stage runs `npm ci`; node:*-alpine has npm, our runtime base deliberately has not.
# npm there uses the CA bundle and npm cache that a build may mount at the usual paths
# (podman build -v /etc/ssl/certs/ca-certificates.crt:...:ro -v ~/.npm:/var/cache/npm), so it
# needs no download when this machine's cache has the lockfile's packages.
if ! podman image exists "$build_image"; then
  echo "build-test-base: adding $npm_dir as $build_image" >&2
  printf '%s\n' "FROM $image" 'COPY . /usr/local/lib/node_modules/npm' \
    'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx' \
    'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_cache=/var/cache/npm' |
    podman build --quiet --network none -t "$build_image" -f - "$npm_dir" >/dev/null
fi
echo "$image"
echo "$build_image"
