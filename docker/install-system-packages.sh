#!/bin/sh
# Installs the image's system packages with whichever package manager the base has, and keeps no
# package cache. No arguments: nothing to install (a base that already has them, as in the tests).
#   install-system-packages.sh nodejs python3 py3-pip ca-certificates        (Alpine, the default)
#   install-system-packages.sh python3 python3-pip ca-certificates           (a Debian/Ubuntu base)
#   PYTHON_VERSION=3.12 install-system-packages.sh nodejs python3 py3-pip ca-certificates
#       (a python:3.12 base, a Python variant): python3 and pip are left out, the base has its own
set -eu
if [ -n "${PYTHON_VERSION:-}" ]; then
  wanted=""
  for package in "$@"; do
    case "$package" in python3|py3-pip|python3-pip) ;; *) wanted="$wanted $package" ;; esac
  done
  # shellcheck disable=SC2086 # word splitting wanted: package names have no spaces
  set -- $wanted
fi
[ "$#" -gt 0 ] || exit 0
if command -v apk >/dev/null; then
  apk add --no-cache "$@"
elif command -v apt-get >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  rm -rf /var/lib/apt/lists/*
else
  echo "install-system-packages: no apk or apt-get in this base; install $* yourself" >&2
  exit 1
fi
