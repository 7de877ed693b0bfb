# syntax=docker/dockerfile:1
# lambda-cd's image: Alpine + Node (Alpine's LTS `nodejs`) + python3/pip + the CLI as one bundled file.
#   docker build -t lambda-cd .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/lambda-cd:VERSION --push .
# Bases are pinned and overridable. The tests build this same file over a local Debian base
# (RUNTIME_BASE/BUILD_BASE point at it, SYSTEM_PACKAGES="" because it has them already).
ARG ALPINE_VERSION=3.23
ARG BUILD_BASE=node:24-alpine${ALPINE_VERSION}
ARG RUNTIME_BASE=alpine:${ALPINE_VERSION}

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

# --- runtime
FROM ${RUNTIME_BASE}
# nodejs from Alpine's main repository is an LTS line; npm for Node.js functions (package, tests); no compilers.
ARG SYSTEM_PACKAGES="nodejs npm python3 py3-pip ca-certificates"
RUN --mount=type=bind,source=docker/install-system-packages.sh,target=/tmp/install-system-packages.sh \
    sh /tmp/install-system-packages.sh ${SYSTEM_PACKAGES}

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
      org.opencontainers.image.source="${SOURCE}"

WORKDIR /src
ENTRYPOINT ["node", "/usr/local/lib/lambda-cd/entrypoint.mjs"]
CMD ["--help"]
