# syntax=docker/dockerfile:1
# lambda-cd's image: Alpine + Node (Alpine's LTS `nodejs`) + python3/pip + the CLI as one bundled file.
#   docker build -t lambda-cd .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/lambda-cd:VERSION --push .
# Bases are pinned and overridable. The tests build this same file over a local Debian base
# (RUNTIME_BASE/BUILD_BASE point at it, SYSTEM_PACKAGES="" because it has them already).
#
# Python variants (<version>-python3.12, ...): PYTHON_VERSION=3.12 builds on the official
# python:3.12-slim-<DEBIAN_RELEASE> (glibc, so unit tests load the manylinux wheels that ship) with
# Debian's nodejs; the base's own Python is the one tests run on (the build checks its version).
#   docker build --build-arg PYTHON_VERSION=3.12 -t lambda-cd:0.1.0-python3.12 .
ARG ALPINE_VERSION=3.23
ARG PYTHON_VERSION=
ARG DEBIAN_RELEASE=trixie
ARG BUILD_BASE=node:24-alpine${ALPINE_VERSION}
ARG RUNTIME_BASE=${PYTHON_VERSION:+python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}}

# --- build: npm ci + bundle, from the checkout alone. The bundle is plain JavaScript, so this stage
# runs on the build machine's platform even in a multi-architecture build (no emulation).
FROM --platform=$BUILDPLATFORM ${BUILD_BASE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc, which the bundle does not need (esbuild compiles TS).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund --ignore-scripts --prefer-offline
COPY . .
# python/: the 2018 helper library stage files import (lib/bundled-python.ts finds it beside the bundle).
RUN node docker/bundle.mjs /out/lambda-cd.mjs && cp docker/entrypoint.mjs /out/ && cp -R python /out/python

# --- runtime: Alpine unless PYTHON_VERSION (or RUNTIME_BASE) says otherwise
FROM ${RUNTIME_BASE:-alpine:${ALPINE_VERSION}}
# nodejs from Alpine's main repository (Debian's in a Python variant) is an LTS line; npm for Node.js functions (package, tests); no compilers.
# With PYTHON_VERSION the script leaves out the distribution's python3/pip: the base's Python is the one.
ARG PYTHON_VERSION
ARG SYSTEM_PACKAGES="nodejs npm python3 py3-pip ca-certificates"
RUN --mount=type=bind,source=docker/install-system-packages.sh,target=/tmp/install-system-packages.sh \
    PYTHON_VERSION="${PYTHON_VERSION}" sh /tmp/install-system-packages.sh ${SYSTEM_PACKAGES}
# A variant must carry the Python it is named after, and a Node.js lambda-cd runs on (engines: >= 20).
RUN --mount=type=bind,source=docker/check-runtime.sh,target=/tmp/check-runtime.sh \
    sh /tmp/check-runtime.sh "${PYTHON_VERSION}"

COPY --from=build /out/ /usr/local/lib/lambda-cd/
# Declared before the RUN below so that their values are part of its cache key (podman/buildah
# otherwise reuse a cached LABEL step with the values of an earlier build).
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=""
# `lambda-cd` on PATH for CodeBuild (which replaces ENTRYPOINT and runs commands under sh as root);
# `python` for buildspecs written for the 2018 system.
# Node >= 22.1 keeps V8's compiled code for the 1 MB bundle in NODE_COMPILE_CACHE; filling it here
# spares every command the parse (older Node ignores the variable).
ENV NODE_COMPILE_CACHE=/usr/local/lib/lambda-cd/compile-cache
RUN ln -s ../lib/lambda-cd/lambda-cd.mjs /usr/local/bin/lambda-cd \
    && { command -v python >/dev/null || ln -s "$(command -v python3)" /usr/local/bin/python; } \
    && node /usr/local/lib/lambda-cd/entrypoint.mjs --help >/dev/null \
    && lambda-cd --version

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    NO_UPDATE_NOTIFIER=1

LABEL org.opencontainers.image.title="lambda-cd" \
      org.opencontainers.image.description="Runners that test, package, template and integration-test Python AWS Lambda functions in CodeBuild/CodePipeline" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      io.lambda-cd.python-version="${PYTHON_VERSION}"

WORKDIR /src
ENTRYPOINT ["node", "/usr/local/lib/lambda-cd/entrypoint.mjs"]
CMD ["--help"]
