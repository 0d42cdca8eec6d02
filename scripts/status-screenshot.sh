#!/usr/bin/env bash
# The README's picture of the status page (docs/images/status-page.png) and
# the `github-proxy status` sample next to it, made again the same way:
# the fake GitHub and the proxy as `make demo` runs them (scripts/demo.sh),
# four clients sending a known mix of requests, and one shared token of 60
# credits an hour (admin.one_token_limit) so that the page shows an outage
# the proxy avoided; then a screenshot by Debian's headless chromium.
#
#   scripts/status-screenshot.sh [BUILD_DIR] [OUTPUT]
#
# BUILD_DIR holds github-proxy and tests/fake_github/fake_github (default
# build: `make demo` builds both); OUTPUT defaults to
# docs/images/status-page.png. Needs curl, python3 and chromium. Ports are
# chosen by the kernel, and both processes are stopped by their PID.
set -euo pipefail
build_dir="$(cd "${1:-build}" && pwd)"
out="${2:-docs/images/status-page.png}"
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
for tool in curl python3 chromium; do
  command -v "$tool" >/dev/null || { echo "status-screenshot.sh: $tool is not installed" >&2; exit 1; }
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

work="$(mktemp -d -t github-proxy-screenshot.XXXXXX)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_for_file() { # FILE PID
  for _ in $(seq 1 200); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "status-screenshot.sh: a process exited early (logs in $work)" >&2; exit 1; }
    sleep 0.05
  done
  echo "status-screenshot.sh: $1 did not appear in 10 s" >&2
  exit 1
}

"$build_dir/tests/fake_github/fake_github" --address 127.0.0.1 --port 0 \
  --port-file "$work/fake.port" --quiet >"$work/fake.log" 2>&1 &
pids+=($!)
wait_for_file "$work/fake.port" "$!"
fake_port="$(tr -d '[:space:]' <"$work/fake.port")"

# Four clients, as a registry might hold them (docs/contract.md §4).
declare -A token=(
  [ci-checks]=ghpx_screenshot_ci_checks_local_only
  [release-bot]=ghpx_screenshot_release_bot_local_only
  [nightly-report]=ghpx_screenshot_nightly_report_local_only
  [docs-sync]=ghpx_screenshot_docs_sync_local_only
)
hash() { printf '%s' "${token[$1]}" | "$build_dir/github-proxy" hash-token; }
cat >"$work/registry.yaml" <<YAML
version: 1
clients:
  - name: ci-checks
    token_sha256: $(hash ci-checks)
  - name: release-bot
    token_sha256: $(hash release-bot)
    scopes:
      - method: GET
        path: /repos/octo-org/.*
    upstream_budget: 20/h
  - name: nightly-report
    token_sha256: $(hash nightly-report)
    scopes:
      - method: GET
        path: /orgs/octo-org(/.*)?
  - name: docs-sync
    token_sha256: $(hash docs-sync)
    scopes:
      - method: GET
        path: /repos/octo-org/repo-3/contents/.*
YAML
cat >"$work/github-proxy.yaml" <<YAML
listen: { address: 127.0.0.1, port: 0 }
admin: { address: 127.0.0.1, port: 0, one_token_limit: 60 }
upstream: { url: "http://127.0.0.1:$fake_port" }
registry: { file: registry.yaml, reload_interval: 2s }
cache: { backend: memory }
credentials:
  - name: demo-pat
    type: token
    token_env: GITHUB_PROXY_DEMO_PAT
logging: { level: warn, format: text, access_log: false }
YAML
GITHUB_PROXY_DEMO_PAT="fake-upstream-token" \
  "$build_dir/github-proxy" serve --config "$work/github-proxy.yaml" --ready-file "$work/ready" \
  >"$work/proxy.log" 2>&1 &
pids+=($!)
wait_for_file "$work/ready" "$!"
port="$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/ready")"
admin_port="$(sed -n 's/.*"admin_port":\([0-9]*\).*/\1/p' "$work/ready")"
admin="http://127.0.0.1:$admin_port"

# as CLIENT PATH...: one curl, one connection, every path in turn.
sent=0
as() {
  local client="$1" p args=()
  shift
  for p in "$@"; do args+=(-o /dev/null "http://127.0.0.1:$port$p"); done
  curl -sS --max-time 60 -H "Authorization: token ${token[$client]}" -w '%{http_code}\n' "${args[@]}" >>"$work/codes"
  sent=$((sent + $#))
}

# ci-checks polls ten repositories and their first page of issues, six
# times over: the first round misses, the others are revalidated hits.
ci=()
for r in 0 1 2 3 4; do ci+=("/repos/octo-org/repo-$r" "/repos/octo-org/repo-$r/issues?per_page=100"); done
for _ in 1 2 3 4 5 6; do as ci-checks "${ci[@]}"; done
# release-bot reads five repositories' issues three times (its budget: 20
# credits an hour, of which the misses spend 5).
for _ in 1 2 3; do
  as release-bot /repos/octo-org/repo-{5,6,7,8,9}/issues
done
# nightly-report walks the organisation's repositories, and once asks for a
# repository outside its scope (403).
for _ in 1 2 3; do as nightly-report /orgs/octo-org "/orgs/octo-org/repos?per_page=100"; done
as nightly-report /repos/octo-org/repo-0
# docs-sync reads one file over and over, and twice strays from its scope.
for _ in 1 2 3 4 5 6 7 8; do as docs-sync /repos/octo-org/repo-3/contents/README.md; done
as docs-sync /repos/octo-org/repo-4/contents/README.md /repos/octo-org/repo-3/issues

# Counters move once each answer is written: wait (bounded) for all of it.
demand=0
for _ in $(seq 1 200); do
  demand="$(curl -sS --max-time 5 "$admin/status.json" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["one_token"]["demand"])' 2>/dev/null || echo 0)"
  [ "$demand" -ge "$sent" ] && break
  sleep 0.05
done
echo "status-screenshot.sh: $sent requests ($(sort "$work/codes" | uniq -c | awk '{printf "%s%s × %s", sep, $1, $2; sep=", "}')), demand $demand" >&2

mkdir -p "$work/chromium/home"
env HOME="$work/chromium/home" XDG_CONFIG_HOME="$work/chromium/home/.config" XDG_CACHE_HOME="$work/chromium/home/.cache" \
  timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --user-data-dir="$work/chromium/profile" --hide-scrollbars --window-size=1200,960 \
  --screenshot="$out" "$admin/" >"$work/chromium.log" 2>&1 ||
  { echo "status-screenshot.sh: chromium failed:" >&2; grep -v -i dbus "$work/chromium.log" | tail -n 5 >&2; exit 1; }
echo "status-screenshot.sh: wrote $out ($(wc -c <"$out") bytes)" >&2

# The same numbers as a terminal shows them, for the README's sample.
"$build_dir/github-proxy" status --admin "$admin"
