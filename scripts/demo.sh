#!/usr/bin/env bash
# make demo: the fake GitHub and the proxy in front of it, so a newcomer can
# curl through the proxy without a GitHub token. Ctrl-C stops both.
set -euo pipefail
build_dir="${1:-build}"
port="${DEMO_PORT:-8080}"
admin_port="${DEMO_ADMIN_PORT:-9090}"
work="$(mktemp -d -t github-proxy-demo.XXXXXX)"
fake_pid=""
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$build_dir/tests/fake_github/fake_github" --address 127.0.0.1 --port 0 \
  --port-file "$work/fake.port" --quiet &
fake_pid=$!
for _ in $(seq 1 100); do [ -s "$work/fake.port" ] && break; sleep 0.05; done
fake_port="$(cat "$work/fake.port")"

demo_token="ghpx_demo_token_for_local_use_only"
token_hash="$(printf '%s' "$demo_token" | "$build_dir/github-proxy" hash-token)"
cat > "$work/registry.yaml" <<YAML
version: 1
clients:
  - name: demo
    token_sha256: ${token_hash#sha256:}
YAML
cat > "$work/github-proxy.yaml" <<YAML
listen: { address: 127.0.0.1, port: $port }
admin: { address: 127.0.0.1, port: $admin_port }
upstream: { url: "http://127.0.0.1:$fake_port" }
registry: { file: registry.yaml, reload_interval: 2s }
cache: { backend: memory }
credentials:
  - name: demo-pat
    type: token
    token_env: GITHUB_PROXY_DEMO_PAT
logging: { level: info, format: text }
YAML
export GITHUB_PROXY_DEMO_PAT="fake-upstream-token"

cat <<MSG

  The fake GitHub listens on 127.0.0.1:$fake_port; the proxy on 127.0.0.1:$port.
  Try, in another terminal:

    curl -i -H 'Authorization: token $demo_token' \\
      'http://127.0.0.1:$port/repos/octo-org/repo-0/issues?per_page=5'
    curl -s http://127.0.0.1:$admin_port/metrics | grep github_proxy_requests_total

  The Link header points back at the proxy.

  What the proxy saw and saved: open the status page in a browser,

    http://127.0.0.1:$admin_port/

  or print it in a terminal:

    $build_dir/github-proxy status --admin http://127.0.0.1:$admin_port

  Ctrl-C stops both.

MSG
"$build_dir/github-proxy" serve --config "$work/github-proxy.yaml"
