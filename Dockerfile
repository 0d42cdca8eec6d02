# syntax=docker/dockerfile:1
# Multi-stage build of github-proxy on Debian 12 (bookworm).
#   docker build -t github-proxy .
#   docker run --read-only -p 8080:8080 -p 9090:9090 \
#     -v $PWD/config:/etc/github-proxy:ro -e GITHUB_PROXY_BOT_PAT=... github-proxy

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
# Only the shared libraries the binary links, and CA certificates for GitHub.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl \
      libssl3 libhiredis0.14 libprometheus-cpp-core1.0 libyaml-cpp0.7 libspdlog1.10 \
      libfmt9 libre2-9 zlib1g libjwt0 libboost-json1.81.0 libboost-url1.81.0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin github-proxy
COPY --from=build /src/build/github-proxy /usr/local/bin/github-proxy
COPY config/github-proxy.yaml /etc/github-proxy/github-proxy.yaml
COPY config/registry.example.yaml /etc/github-proxy/registry.example.yaml
USER 10001:10001
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9090/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/github-proxy"]
CMD ["serve", "--config", "/etc/github-proxy/github-proxy.yaml"]
