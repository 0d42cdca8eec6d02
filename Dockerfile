# syntax=docker/dockerfile:1
# Multi-stage build of github-proxy on Debian 12 (bookworm).
#
#   docker build -t github-proxy .
#   docker run --read-only -p 8080:8080 \
#     -v /srv/github-proxy/registry:/etc/github-proxy/registry:ro \
#     -v /srv/github-proxy/secrets:/etc/github-proxy/secrets:ro \
#     github-proxy
#
# The image's config is config/container.yaml, at /etc/github-proxy/config.yaml.
# It reads two mounted directories, which the image does not contain:
#   registry/registry.yaml   the client registry (github-proxy new-token makes entries)
#   secrets/bot-pat          the GitHub token, readable by uid 10001
# Without them the proxy refuses to start; there is no example registry to
# fall back to (its token is public). Other settings: GITHUB_PROXY_* variables
# (github-proxy --help), or mount another config over config.yaml.
# The admin listener (9090: /metrics, /healthz, /readyz) binds every
# interface of the container so that probes and scrapers can reach it; it is
# not published above. Publish it only to the monitoring network.
#
# Base images are pinned by digest (the multi-platform index of the tag, on
# 2026-08-24: debian:bookworm-20260824 and debian:bookworm-20260824-slim) so
# that a rebuild gets the same bytes. The pin does not follow Debian's
# security updates by itself: update it deliberately, with the digest
#   docker buildx imagetools inspect debian:bookworm-slim   (and debian:bookworm)
# prints, then `make test` (tests/deploy/check_image.sh checks this file).

FROM debian:bookworm@sha256:6ebd97fa83deb272194a2cf015b3d26a4d538e9ad3a7a79d544c8af5b0a01443 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev \
      libssl-dev libhiredis-dev prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev \
      libre2-dev zlib1g-dev libjwt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build needs (.dockerignore sends nothing else).
COPY CMakeLists.txt ./
COPY include include
COPY src src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGHP_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target github-proxy \
 && strip build/github-proxy

FROM debian:bookworm-slim@sha256:88200866dfff7ea7f5cbcb6ec7c8a701889efe6fe859fe64d6990e4b07ea4171 AS runtime
LABEL org.opencontainers.image.title="github-proxy" \
      org.opencontainers.image.description="Caching, credential-pooling proxy for the GitHub API" \
      org.opencontainers.image.licenses="Apache-2.0"
# Exactly the packages of the shared libraries the binary links (ldd, so
# libjansson4 and libb64-0d of libjwt0 too), less those bookworm-slim has
# (libc6, libgcc-s1, libstdc++6, zlib1g), plus CA certificates for GitHub.
# tests/deploy/check_image.sh compares this list with the built binary.
# No curl or shell tool for the HEALTHCHECK: the binary probes itself.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libssl3 libhiredis0.14 libprometheus-cpp-core1.0 libyaml-cpp0.7 libspdlog1.10 \
      libfmt9 libre2-9 libjwt0 libjansson4 libb64-0d libboost-json1.81.0 libboost-url1.81.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 github-proxy \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin github-proxy
COPY --from=build /src/build/github-proxy /usr/local/bin/github-proxy
# Fail the build, not the first start, when a runtime library is missing.
RUN if ldd /usr/local/bin/github-proxy | grep 'not found'; then exit 1; fi \
 && /usr/local/bin/github-proxy --version
COPY config/container.yaml /etc/github-proxy/config.yaml
# Nothing is written at run time: the image works with --read-only (Kubernetes:
# readOnlyRootFilesystem). Logs go to stderr.
USER 10001:10001
EXPOSE 8080 9090
# Liveness of the admin listener, probed from inside the container (0.0.0.0
# is probed as 127.0.0.1) within 2s. It reads the same config as CMD: if you
# start another config, give the HEALTHCHECK the same --config. Kubernetes
# ignores HEALTHCHECK and uses the probes in deploy/kubernetes/base instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/github-proxy", "healthcheck", "--config", "/etc/github-proxy/config.yaml"]
ENTRYPOINT ["/usr/local/bin/github-proxy"]
CMD ["serve", "--config", "/etc/github-proxy/config.yaml"]
