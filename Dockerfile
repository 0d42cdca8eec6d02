# syntax=docker/dockerfile:1
# Multi-stage build of github-proxy on Debian 12 (bookworm).
#   docker build -t github-proxy .
#   docker run --read-only -p 8080:8080 \
#     -v $PWD/config:/etc/github-proxy:ro -e GITHUB_PROXY_BOT_PAT=... github-proxy
# The admin listener (9090: /metrics, /healthz, /readyz) binds loopback in
# config/github-proxy.yaml; to scrape it from outside the container, add
#   -e GITHUB_PROXY_ADMIN_ADDRESS=0.0.0.0 -p 9090:9090

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev \
      libssl-dev libhiredis-dev prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev \
      libre2-dev zlib1g-dev libjwt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY include include
COPY src src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGHP_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target github-proxy \
 && strip build/github-proxy

FROM debian:bookworm-slim AS runtime
LABEL org.opencontainers.image.title="github-proxy" \
      org.opencontainers.image.description="Caching, credential-pooling proxy for the GitHub API" \
      org.opencontainers.image.licenses="Apache-2.0"
# Only the shared libraries the binary links, CA certificates for GitHub, and
# curl for the HEALTHCHECK (the binary has no probe subcommand).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl \
      libssl3 libhiredis0.14 libprometheus-cpp-core1.0 libyaml-cpp0.7 libspdlog1.10 \
      libfmt9 libre2-9 zlib1g libjwt0 libboost-json1.81.0 libboost-url1.81.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 github-proxy \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin github-proxy
COPY --from=build /src/build/github-proxy /usr/local/bin/github-proxy
# Fail the build, not the first start, when a runtime library is missing.
RUN if ldd /usr/local/bin/github-proxy | grep 'not found'; then exit 1; fi \
 && /usr/local/bin/github-proxy --version
COPY config/github-proxy.yaml /etc/github-proxy/github-proxy.yaml
COPY config/registry.example.yaml /etc/github-proxy/registry.example.yaml
# Nothing is written at run time: the image works with --read-only (Kubernetes:
# readOnlyRootFilesystem). Logs go to stderr.
USER 10001:10001
EXPOSE 8080 9090
# Liveness of the admin listener (admin.port, 9090 by default). Kubernetes
# ignores HEALTHCHECK and uses the probes in deploy/kubernetes/base instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS --max-time 2 http://127.0.0.1:9090/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/github-proxy"]
CMD ["serve", "--config", "/etc/github-proxy/github-proxy.yaml"]
