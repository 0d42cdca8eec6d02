# github-proxy — the two commands: `make run` and `make test`.
# Both install what is missing (Debian 12 packages, through apt) first.

BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
CONFIG     ?= config/github-proxy.yaml
SUDO       := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# -Werror in CI (CI=true is set there), warnings only on a workstation.
WERROR     := $(if $(filter true 1 yes,$(CI)),ON,OFF)

# What the build needs, and what the tests and benchmarks run against.
BUILD_PACKAGES := build-essential cmake pkg-config ccache \
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev \
  libssl-dev libhiredis-dev prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev \
  libre2-dev zlib1g-dev libjwt-dev libgtest-dev libgmock-dev
TEST_PACKAGES := redis-server wrk curl openssl nginx-light prometheus gh kubectl \
  python3-github golang-go golang-github-google-go-github-dev
# Node.js may come from outside Debian (the e2e tests need node >= 20): only
# a missing command is installed from apt.
TEST_COMMANDS := node:nodejs npm:npm

.PHONY: all deps deps-test configure build build-all run test demo bench clean help

all: build

help:
	@echo "make run    install, build and start the proxy with $(CONFIG)"
	@echo "make test   install, build and run every test"
	@echo "make build  build $(BUILD_DIR)/github-proxy"
	@echo "make demo   start the fake GitHub and the proxy in front of it (no GitHub token needed)"
	@echo "make bench  wrk: pass-through, cache hits (memory, Redis) and nginx proxy_cache_revalidate, side by side"

# A package apt has no candidate for (kubectl comes from Kubernetes' own apt
# repository) is reported, not fatal: the tests that need it fail by name.
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  available=$$(for p in $$missing; do apt-cache show $$p >/dev/null 2>&1 && echo $$p || echo "no apt candidate for $$p" >&2; done); \
	  [ -z "$$available" ] || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$available; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))

deps-test: deps
	$(call install_missing,$(TEST_PACKAGES))
	$(call install_missing,$(foreach c,$(TEST_COMMANDS),$(if $(shell command -v $(word 1,$(subst :, ,$(c)))),,$(word 2,$(subst :, ,$(c))))))

configure:
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DGHP_WERROR=$(WERROR) >/dev/null

build: deps configure
	cmake --build $(BUILD_DIR) -j$(JOBS) --target github-proxy

build-all: deps-test configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	@if [ -z "$$GITHUB_PROXY_BOT_PAT" ]; then \
	  echo "make run: set GITHUB_PROXY_BOT_PAT to a GitHub token for the 'bot-pat' credential"; \
	  echo "          of $(CONFIG), or try 'make demo', which needs no token."; \
	  exit 1; \
	fi
	$(BUILD_DIR)/github-proxy serve --config $(CONFIG)

test: build-all
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

demo: build-all
	scripts/demo.sh $(BUILD_DIR)

bench: build-all
	bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
