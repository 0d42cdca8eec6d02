# github-proxy — the two commands: `make run` and `make test`.
# Both install what is missing (Debian 12 packages, through apt) first.

BUILD_DIR  ?= build
BUILD_TYPE ?= Release
ASAN_DIR   ?= build-asan
TSAN_DIR   ?= build-tsan
FUZZ_DIR   ?= build-fuzz
# Seconds of new fuzzing per target: a bounded run in `make test`, longer in `make fuzz`.
FUZZ_SECONDS ?= 600
JOBS       ?= $(shell nproc)
CONFIG     ?= config/github-proxy.yaml
SUDO       := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
, := ,
# -Werror in CI (CI=true is set there), warnings only on a workstation.
WERROR     := $(if $(filter true 1 yes,$(CI)),ON,OFF)

# What the build needs, and what the tests and benchmarks run against.
BUILD_PACKAGES := build-essential cmake pkg-config ccache \
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev \
  libssl-dev libhiredis-dev prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev \
  libre2-dev zlib1g-dev libjwt-dev libgtest-dev libgmock-dev
TEST_PACKAGES := clang libclang-rt-14-dev redis-server redis-sentinel wrk curl openssl nginx-light prometheus gh kubectl \
  python3-github golang-go golang-github-google-go-github-dev chromium
# Node.js may come from outside Debian (the e2e tests need node >= 20): only
# a missing command is installed from apt.
TEST_COMMANDS := node:nodejs npm:npm

.PHONY: all deps deps-test configure build build-all run test test-release test-asan test-tsan test-fuzz fuzz demo bench clean help

all: build

help:
	@echo "make run    install, build and start the proxy with $(CONFIG)"
	@echo "make test   install, build and run every test: Release, ASan+UBSan, TSan, the fuzz regression"
	@echo "make test-release | test-asan | test-tsan | test-fuzz   one part of it"
	@echo "make fuzz   every libFuzzer target for FUZZ_SECONDS each (default 600)"
	@echo "make build  build $(BUILD_DIR)/github-proxy"
	@echo "make demo   build and start the fake GitHub and the proxy in front of it, with its status page (no GitHub token needed)"
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

test: test-release test-asan test-tsan test-fuzz

test-release: build-all
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# The sanitizer builds (docs/testing.md), each configuration in a directory
# of its own at -O1, one ccache for all. ASan+UBSan builds the daemon, the
# fake GitHub and both test binaries and runs the unit and integration suites.
# TSan builds the daemon and the unit tests whose subject is concurrency, and
# runs those, then the concurrency-heavy integration tests of the Release
# harness against the TSan daemon.
TSAN_UNIT_SOURCES := /(auth/registry_(store|reloader)|cache/(cache|memory)_store_conformance|credentials/(pool|selection|secret_watcher|installation_token|rsa_test_keys)|proxy/(flight_table|pipeline)|redis/redis_(connection|store_conformance|topologies)|upstream/connection_pool)(_test)?\.cc$$
TSAN_INTEGRATION_TESTS := Isolation|Pool\.|Shutdown|Cache\.|CacheRevalidation|SecretRotation|Registry\.|redis_topologies

# $(1) directory, $(2) sanitizers, $(3) targets, $(4) more cmake arguments
define sanitizer_build
	@cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=Sanitize -DGHP_SANITIZE=$(2) -DGHP_WERROR=$(WERROR) $(4) >/dev/null
	cmake --build $(1) -j$(JOBS) --target $(3)
endef

test-asan: deps-test
	$(call sanitizer_build,$(ASAN_DIR),address$(,)undefined,github-proxy fake_github unit_tests integration_tests)
	tests/sanitizers/run_suite.sh $(ASAN_DIR) -j$(JOBS) --timeout 600 -L 'unit|integration'

test-tsan: build-all
	$(call sanitizer_build,$(TSAN_DIR),thread,github-proxy unit_tests,-DGHP_UNIT_TESTS_MATCHING='$(TSAN_UNIT_SOURCES)')
	tests/sanitizers/run_suite.sh $(TSAN_DIR) -j$(JOBS) --timeout 600 -L unit
	GHP_TEST_PROXY_BINARY=$(abspath $(TSAN_DIR))/github-proxy \
	  tests/sanitizers/run_suite.sh $(BUILD_DIR) -j$(JOBS) --timeout 600 -L integration -R '$(TSAN_INTEGRATION_TESTS)'

# The demo needs the daemon and the fake GitHub, not the tests.
demo: deps configure
	cmake --build $(BUILD_DIR) -j$(JOBS) --target github-proxy fake_github
	scripts/demo.sh $(BUILD_DIR)

bench: build-all
	bench/run.sh $(BUILD_DIR)

# libFuzzer targets (tests/fuzz/README.md): clang, ASan+UBSan, one directory.
define fuzz_build
	@CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Sanitize -DGHP_SANITIZE=address$(,)undefined \
	  -DGHP_FUZZ=ON -DGHP_BUILD_TESTS=OFF -DGHP_WERROR=$(WERROR) >/dev/null
	cmake --build $(FUZZ_DIR) -j$(JOBS) --target fuzzers
endef

# Every target over its committed corpus, then a bounded number of new runs.
test-fuzz: deps-test
	$(call fuzz_build)
	tests/fuzz/run.sh $(FUZZ_DIR) regression

fuzz: deps-test
	$(call fuzz_build)
	tests/fuzz/run.sh $(FUZZ_DIR) explore $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR)
