#!/usr/bin/env bash
# End-to-end tests with real clients (Octokit, gh, curl, PyGithub, go-github,
# a headless Chromium) against github-proxy in front of the fake GitHub
# (tests/fake_github).
#
#   tests/e2e/run_e2e.sh [--work-dir DIR] PROXY_BINARY FAKE_BINARY SOURCE_DIR [SUITE...]
#
# SUITE: octokit (Octokit on both URL layouts, pagination, GraphQL, the
# throttling plugin on GitHub's rate limits), octokit-429 (the proxy's own 429:
# client budgets, exhausted credential pool), gh, curl, pygithub (Debian's
# python3-github), go-github (Debian's golang-github-google-go-github-dev),
# status-page (the admin listener's status page in Debian's chromium, its
# /status.json and `github-proxy status`), rate-limit-view (the client's own
# X-RateLimit-* and GET /rate_limit over a pool of three credentials, with
# Octokit and PyGithub), or all (the default).
#
# --work-dir holds the npm packages (installed with `npm ci` from
# tests/e2e/octokit/package-lock.json when missing or when the lock file
# changed) and Go's build cache (go-cache/), and is kept between runs; default
# ${TMPDIR:-/tmp}/github-proxy-e2e-$UID.
# Nothing is written into the source tree. Every run gets its own directory
# under the work dir, removed on success (kept, with the daemons' logs
# printed, on failure, or always when GHP_E2E_KEEP=1).
#
# Every process listens on 127.0.0.1 on a port chosen by the kernel, and is
# stopped by its PID at the end. Exit status: 0 when every suite passed.
# A missing tool (node, npm, gh, curl, openssl, Debian's python3 with
# python3-github, go with go-github v48, chromium) is a failure, not a skip.
#
# Every suite checks that the fake GitHub never saw a proxy token (ghpx_…):
# neither among the tokens it counted nor in any header it logged.
set -euo pipefail

die() {
  echo "run_e2e.sh: $*" >&2
  exit 1
}

work_dir="${TMPDIR:-/tmp}/github-proxy-e2e-$UID"
if [ "${1:-}" = "--work-dir" ]; then
  [ $# -ge 2 ] || die "--work-dir needs a directory"
  work_dir="$2"
  shift 2
fi
[ $# -ge 3 ] || die "usage: run_e2e.sh [--work-dir DIR] PROXY_BINARY FAKE_BINARY SOURCE_DIR [octokit|octokit-429|gh|curl|pygithub|go-github|status-page|rate-limit-view|all]..."
proxy_src="$1"
fake_src="$2"
source_dir="$3"
shift 3
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(all)
if [ "${suites[*]}" = "all" ]; then suites=(octokit octokit-429 gh curl pygithub go-github status-page rate-limit-view); fi
for s in "${suites[@]}"; do
  case "$s" in
    octokit | octokit-429 | gh | curl | pygithub | go-github | status-page | rate-limit-view) ;;
    *) die "unknown suite '$s'" ;;
  esac
done

[ -x "$proxy_src" ] || die "proxy binary '$proxy_src' is not an executable file"
[ -x "$fake_src" ] || die "fake GitHub binary '$fake_src' is not an executable file"
e2e_src="$source_dir/tests/e2e"
[ -f "$e2e_src/octokit/package-lock.json" ] || die "'$source_dir' is not the github-proxy source tree"

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed (needed by the $2 end-to-end tests${3:+; $3})"
}
pygithub_python="${GHP_E2E_PYTHON:-/usr/bin/python3}"
gocode=/usr/share/gocode # Debian's GOPATH of packaged Go sources
go_github_src="$gocode/src/github.com/google/go-github"
for s in "${suites[@]}"; do
  case "$s" in
    octokit | octokit-429 | rate-limit-view)
      need node "$s" "Node.js >= 20"
      need npm "$s"
      node_major="$(node -p 'process.versions.node.split(".")[0]')"
      [ "$node_major" -ge 20 ] || die "Node.js $(node --version) is too old: @octokit/rest needs >= 20"
      ;;& # rate-limit-view needs PyGithub too (below)
    gh) need gh gh "Debian package gh"; need openssl gh; need curl gh ;;
    curl) need curl curl ;;
    pygithub | rate-limit-view)
      # Debian's interpreter: python3-github is installed for it, not for a
      # python3 that PATH may find first (pyenv, a virtualenv).
      [ -x "$pygithub_python" ] || die "'$pygithub_python' is not installed (needed by the $s end-to-end tests; Debian package python3)"
      "$pygithub_python" -c 'import github' 2>/dev/null ||
        die "PyGithub is not importable by $pygithub_python (needed by the $s end-to-end tests; Debian package python3-github)"
      need curl "$s"
      ;;
    go-github)
      need go go-github "Debian package golang-go"
      [ -f "$go_github_src/go.mod" ] && grep -q '^module github.com/google/go-github/v48$' "$go_github_src/go.mod" ||
        die "go-github v48 is not in $go_github_src (needed by the go-github end-to-end tests; Debian package golang-github-google-go-github-dev)"
      need curl go-github
      ;;
    status-page)
      need chromium status-page "Debian package chromium"
      need python3 status-page
      need curl status-page
      ;;
  esac
done
need sha256sum e2e
need flock e2e

# Requests go to 127.0.0.1 only, never through a proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

mkdir -p "$work_dir"
work_dir="$(cd "$work_dir" && pwd)"
run_dir="$(mktemp -d "$work_dir/run.XXXXXX")"

# The binaries are copied: a rebuild during the run cannot swap them.
mkdir -p "$run_dir/bin"
cp "$proxy_src" "$run_dir/bin/github-proxy"
cp "$fake_src" "$run_dir/bin/fake_github"
proxy_bin="$run_dir/bin/github-proxy"
fake_bin="$run_dir/bin/fake_github"

pids=()
logs=()
failed=0

stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

finish() {
  local status=$?
  stop_all
  if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ -n "${GHP_E2E_KEEP:-}" ]; then
    if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
      local log
      for log in "${logs[@]}"; do
        [ -f "$log" ] || continue
        echo "---- $log (last lines) ----" >&2
        tail -n 25 "$log" >&2 || true
      done
    fi
    echo "run_e2e.sh: kept $run_dir" >&2
  else
    rm -rf "$run_dir"
  fi
  [ "$failed" -eq 0 ] || exit 1
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for_file() { # FILE PID NAME
  local file="$1" pid="$2" name="$3"
  for _ in $(seq 1 400); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || die "$name exited before it was ready"
    sleep 0.05
  done
  die "$name: $file did not appear in 20 s"
}

# start_fake NAME [ARGS...] → sets fake_port
start_fake() {
  local name="$1"
  shift
  local port_file="$run_dir/$name.port"
  logs+=("$run_dir/$name.log")
  "$fake_bin" --address 127.0.0.1 --port 0 --port-file "$port_file" --threads 2 --quiet "$@" \
    >"$run_dir/$name.log" 2>&1 &
  pids+=($!)
  wait_for_file "$port_file" "$!" "$name"
  fake_port="$(tr -d '[:space:]' <"$port_file")"
}

sha256_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# start_proxy NAME UPSTREAM_URL LISTEN_EXTRA CLIENT:TOKEN[:SCOPE_PATH]... → sets proxy_port, admin_port
# With SCOPE_PATH (an RE2 regex, no single quote) the client's only scope is
# GET|HEAD on that path; without it the client may send anything anywhere.
# LISTEN_EXTRA, and the caller's variable proxy_admin_extra when set, are
# more lines (each ending in a newline) under listen: and admin:.
# The pool has the one credential upstream-1 (ghp_e2e_upstream_token_1), and
# when the caller's variable proxy_extra_upstream_tokens is set (tokens,
# space-separated) one more per token, upstream-2, upstream-3, … in that
# order, each with its own token_env (a bucket of its own at the fake).
# The caller's variable proxy_client_budgets ("CLIENT=N/h ...") gives those
# clients an upstream_budget.
start_proxy() {
  local name="$1" upstream="$2" listen_extra="$3"
  shift 3
  local registry="$run_dir/$name-registry.yaml" config="$run_dir/$name.yaml" ready="$run_dir/$name.ready"
  local pool_tokens=(ghp_e2e_upstream_token_1) i
  # shellcheck disable=SC2206 # word splitting wanted: a list of tokens
  pool_tokens+=(${proxy_extra_upstream_tokens:-})
  local credentials="" token_env=()
  for i in "${!pool_tokens[@]}"; do
    local env_name="GHP_E2E_UPSTREAM_TOKEN"
    [ "$i" -eq 0 ] || env_name="GHP_E2E_UPSTREAM_TOKEN_$((i + 1))"
    credentials+="  - name: upstream-$((i + 1))
    type: token
    token_env: $env_name
"
    token_env+=("$env_name=${pool_tokens[$i]}")
  done
  {
    echo "version: 1"
    echo "clients:"
    local entry client token scope
    for entry in "$@"; do
      client="${entry%%:*}"
      token="${entry#*:}"
      scope=""
      if [[ "$token" == *:* ]]; then
        scope="${token#*:}"
        token="${token%%:*}"
      fi
      echo "  - name: $client"
      echo "    token_sha256: $(sha256_of "$token")"
      if [ -n "$scope" ]; then
        echo "    scopes:"
        echo "      - method: GET|HEAD"
        echo "        path: '$scope'"
      fi
      local budget
      for budget in ${proxy_client_budgets:-}; do
        if [ "${budget%%=*}" = "$client" ]; then echo "    upstream_budget: ${budget#*=}"; fi
      done
    done
  } >"$registry"
  cat >"$config" <<YAML
listen:
  address: 127.0.0.1
  port: 0
  threads: 2
${listen_extra}admin:
  address: 127.0.0.1
  port: 0
${proxy_admin_extra:-}upstream:
  url: $upstream
  connect_timeout: 2s
  request_timeout: 10s
registry:
  file: $registry
  reload_interval: 1s
credentials:
${credentials}logging:
  level: info
  format: json
YAML
  logs+=("$run_dir/$name.log")
  env "${token_env[@]}" \
    "$proxy_bin" serve --config "$config" --ready-file "$ready" >"$run_dir/$name.log" 2>&1 &
  pids+=($!)
  wait_for_file "$ready" "$!" "$name"
  proxy_port="$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$ready")"
  admin_port="$(sed -n 's/.*"admin_port":\([0-9]*\).*/\1/p' "$ready")"
  [[ -n "$proxy_port" && -n "$admin_port" ]] || die "$name: unreadable ready file: $(cat "$ready")"
}

# metric ADMIN_PORT NAME LABEL=VALUE... → the sum of the matching samples
metric() {
  local port="$1" name="$2"
  shift 2
  curl -sS --max-time 10 "http://127.0.0.1:$port/metrics" | awk -v name="$name" -v want="$*" '
    BEGIN { n = split(want, w, " ") }
    /^#/ || NF < 2 { next }
    {
      brace = index($0, "{")
      metric_name = brace ? substr($0, 1, brace - 1) : $1
      if (metric_name != name) next
      ok = 1
      for (i = 1; i <= n; i++) {
        split(w[i], kv, "=")
        if (index($0, kv[1] "=\"" kv[2] "\"") == 0) ok = 0
      }
      if (ok) total += $NF
    }
    END { printf "%d\n", total }'
}

# eventually_metric EXPECTED ADMIN_PORT NAME LABELS... : counters move once the answer is written
eventually_metric() {
  local expected="$1" value
  shift
  for _ in $(seq 1 60); do
    value="$(metric "$@")"
    [ "$value" -ge "$expected" ] && break
    sleep 0.05
  done
  echo "$value"
}

checks=0
check_failed=0
pass() { checks=$((checks + 1)); echo "ok   $*"; }
fail() { checks=$((checks + 1)); check_failed=$((check_failed + 1)); echo "FAIL $*" >&2; }
expect_eq() { # WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
expect_match() { # WHAT REGEX TEXT
  if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1: '$3' does not match /$2/"; fi
}
expect_contains() { # WHAT STRING TEXT
  if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: '$2' not in '${3:0:600}'"; fi
}
expect_lacks() { # WHAT STRING TEXT
  if [[ "$3" != *"$2"* ]]; then pass "$1"; else fail "$1: '$2' found in '${3:0:600}'"; fi
}

# header NAME FILE → the value of the (last) header NAME in a curl -D dump
header() { { grep -i "^$1:" "$2" || true; } | tail -n 1 | cut -d: -f2- | sed -e 's/^ *//' -e 's/\r$//'; }

# expect_no_proxy_token SUITE FAKE_PORT UPSTREAM_TOKENS PROXY_TOKEN...
# The fake GitHub counted requests of the upstream credentials only
# (UPSTREAM_TOKENS: one token, or several separated by spaces), and no
# proxy token (nor anything shaped like one, ghpx_…) is among the tokens it
# counted or in any header of the requests it logged (its last 1000).
expect_no_proxy_token() {
  local suite="$1" port="$2" upstream="$3"
  shift 3
  local counters requests token leaked=""
  counters="$(curl -sS --max-time 10 "http://127.0.0.1:$port/_fake/counters" 2>&1)" || true
  requests="$(curl -sS --max-time 10 "http://127.0.0.1:$port/_fake/requests" 2>&1)" || true
  if [[ "$counters" != *'"tokens"'* || "$requests" != '['* ]]; then
    fail "$suite: cannot read the fake GitHub's counters and request log: $counters ${requests:0:200}"
    return
  fi
  for token in "$@"; do
    if [[ "$counters$requests" == *"$token"* ]]; then leaked+=" $token"; fi
  done
  if [[ "$counters$requests" == *ghpx_* ]]; then leaked+=" (a ghpx_ token)"; fi
  # The accounts it counted: {"tokens":{"<token>":{"requests":…},…},"total":{…},…}.
  local accounts account stray=""
  accounts="$(grep -o '"[^"]*":{"requests"' <<<"${counters%%,\"total\":*}" | cut -d'"' -f2 | sort -u | tr '\n' ' ')"
  for account in $accounts; do
    [[ " $upstream " == *" $account "* ]] || stray+=" $account"
  done
  if [ -n "$leaked" ]; then
    fail "$suite: proxy tokens reached the fake GitHub:$leaked"
  elif [ -z "$accounts" ] || [ -n "$stray" ]; then
    fail "$suite: the fake GitHub counted requests of '$accounts', expected only the upstream credentials $upstream"
  else
    pass "$suite: the fake GitHub saw only the upstream credentials, never a proxy token"
  fi
}

# ---- octokit ----------------------------------------------------------------

node_deps() {
  local deps="$work_dir/octokit-deps"
  mkdir -p "$deps"
  (
    flock 9
    local want have=""
    want="$(sha256sum "$e2e_src/octokit/package-lock.json" | cut -d' ' -f1)"
    [ -f "$deps/.lock-sha256" ] && have="$(cat "$deps/.lock-sha256")"
    if [ ! -d "$deps/node_modules" ] || [ "$want" != "$have" ]; then
      echo "run_e2e.sh: npm ci into $deps"
      rm -rf "$deps/node_modules" "$deps/.lock-sha256"
      cp "$e2e_src/octokit/package.json" "$e2e_src/octokit/package-lock.json" "$deps/"
      (cd "$deps" && npm ci --no-audit --no-fund --loglevel=error) ||
        die "npm ci failed in $deps (the npm registry must be reachable the first time)"
      echo "$want" >"$deps/.lock-sha256"
    fi
  ) 9>"$work_dir/octokit-deps.lock"
  octokit_deps="$deps"
}

run_node_suite() { # SUITE FILE
  node_deps
  local dir="$run_dir/$1"
  mkdir -p "$dir"
  cp "$e2e_src"/octokit/*.mjs "$e2e_src/octokit/package.json" "$dir/"
  ln -s "$octokit_deps/node_modules" "$dir/node_modules"
  echo "== $1: node --test $2"
  if (cd "$dir" && GHP_E2E_PROXY_BINARY="$proxy_bin" GHP_E2E_FAKE_BINARY="$fake_bin" TMPDIR="$dir" \
    node --test --test-reporter=spec "$2"); then
    echo "== $1: passed"
  else
    echo "== $1: FAILED" >&2
    failed=1
  fi
}

# ---- gh -----------------------------------------------------------------------

make_test_pki() { # DIR: ca.pem, server.pem, server.key for localhost and 127.0.0.1
  local dir="$1"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 \
    -subj "/CN=github-proxy e2e test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >/dev/null 2>&1 || die "openssl: cannot make the test CA"
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=localhost" >/dev/null 2>&1 || die "openssl: cannot make the server key"
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/server.pem" -days 2 -extfile "$dir/server.ext" >/dev/null 2>&1 ||
    die "openssl: cannot sign the server certificate"
}

# gh with nothing from the caller's environment or ~/.config/gh.
run_gh() { # CONFIG_DIR HOST TOKEN [ENV=VALUE...] -- ARGS...
  local config_dir="$1" host="$2" token="$3"
  shift 3
  local extra=()
  while [ "$1" != "--" ]; do extra+=("$1"); shift; done
  shift
  env -u GH_TOKEN -u GITHUB_TOKEN -u GH_ENTERPRISE_TOKEN -u GITHUB_ENTERPRISE_TOKEN -u GH_REPO \
    -u GH_DEBUG -u DEBUG -u GH_PAGER -u PAGER \
    GH_CONFIG_DIR="$config_dir" GH_HOST="$host" GH_ENTERPRISE_TOKEN="$token" \
    GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1 NO_COLOR=1 GH_PAGER=cat \
    "${extra[@]}" timeout 60 gh "$@"
}

gh_suite() {
  echo "== gh: $(gh --version | head -n 1)"
  local dir="$run_dir/gh"
  mkdir -p "$dir"
  # A Unix socket path must fit in sun_path (108 bytes).
  local sock="$dir/proxy.sock"
  if [ ${#sock} -gt 100 ]; then
    sock="$(mktemp -d /tmp/ghp-e2e.XXXXXX)/proxy.sock"
  fi
  make_test_pki "$dir"
  start_fake gh-fake
  local unix_token="ghpx_e2e_gh_unix_token_0001" tls_token="ghpx_e2e_gh_tls_token_0002"
  local scoped_token="ghpx_e2e_gh_scoped_token_0003"
  start_proxy gh-proxy "http://127.0.0.1:$fake_port" \
    "  tls: { cert_file: $dir/server.pem, key_file: $dir/server.key }
  unix_socket: $sock
" "gh-unix:$unix_token" "gh-tls:$tls_token" "gh-scoped:$scoped_token:/repos/octo-org/repo-0(/.*)?"
  local log="$run_dir/gh-proxy.log" out

  # 1. http_unix_socket: gh dials the proxy's Unix socket for an enterprise host.
  mkdir -p "$dir/config-unix"
  printf 'http_unix_socket: %s\n' "$sock" >"$dir/config-unix/config.yml"
  local host="github-proxy.e2e.test"
  local gh_unix=(run_gh "$dir/config-unix" "$host" "$unix_token" --)

  if out="$("${gh_unix[@]}" api repos/octo-org/repo-0 2>"$dir/err")"; then
    expect_match "gh (unix socket) api repos/octo-org/repo-0: JSON object" '^\{.*"full_name":"octo-org/repo-0"' "$out"
  else
    fail "gh (unix socket) api repos/octo-org/repo-0: $(cat "$dir/err")"
  fi
  if out="$("${gh_unix[@]}" api repos/octo-org/repo-0 --jq '[.id, .full_name, .owner.login] | @tsv' 2>"$dir/err")"; then
    expect_eq "gh (unix socket) api repos/octo-org/repo-0 --jq: parsed fields" $'1000\tocto-org/repo-0\tocto-org' "$out"
  else
    fail "gh (unix socket) api --jq: $(cat "$dir/err")"
  fi
  if out="$("${gh_unix[@]}" api -i repos/octo-org/repo-0 2>"$dir/err")"; then
    expect_match "gh (unix socket) api -i: Cache-Status from the proxy" $'Cache-Status: github-proxy' "$out"
  else
    fail "gh (unix socket) api -i: $(cat "$dir/err")"
  fi
  local before
  before="$(metric "$admin_port" github_proxy_requests_total client=gh-unix method=GET code=200)"
  if "${gh_unix[@]}" api --paginate repos/octo-org/repo-0/issues --jq '.[].number' >"$dir/issues-unix" 2>"$dir/err"; then
    expect_eq "gh (unix socket) api --paginate: 250 issues" 250 "$(wc -l <"$dir/issues-unix" | tr -d ' ')"
    expect_eq "gh (unix socket) api --paginate: 250 distinct numbers" 250 "$(sort -un "$dir/issues-unix" | wc -l | tr -d ' ')"
    expect_eq "gh (unix socket) api --paginate: newest first" "250 1" "$(head -n 1 "$dir/issues-unix") $(tail -n 1 "$dir/issues-unix")"
  else
    fail "gh (unix socket) api --paginate: $(cat "$dir/err")"
  fi
  expect_eq "gh (unix socket) paginate: 3 requests counted for client gh-unix" 3 \
    "$(($(eventually_metric $((before + 3)) "$admin_port" github_proxy_requests_total client=gh-unix method=GET code=200) - before))"
  # The Link comes back in the name form of the request (not GitHub's
  # /repositories/1000/… form), so a client scoped by name can follow it.
  expect_eq "gh (unix socket) paginate: pages 2 and 3 followed the rewritten Link (name form) through the proxy" 2 \
    "$(grep '"client":"gh-unix"' "$log" | grep -c '"path":"/api/v3/repos/octo-org/repo-0/issues?per_page=&page="' || true)"
  if out="$("${gh_unix[@]}" api graphql -f query='{ viewer { login } }' --jq .data.viewer.login 2>"$dir/err")"; then
    expect_eq "gh (unix socket) api graphql: viewer.login" octocat "$out"
  else
    fail "gh (unix socket) api graphql: $(cat "$dir/err")"
  fi
  expect_eq "gh (unix socket): GraphQL went to /api/graphql" 1 \
    "$(grep '"client":"gh-unix"' "$log" | grep -c '"path":"/api/graphql"' || true)"

  # 1b. A client scoped to the one repository paginates within its scope.
  local gh_scoped=(run_gh "$dir/config-unix" "$host" "$scoped_token" --)
  if "${gh_scoped[@]}" api repos/octo-org/repo-1 >/dev/null 2>"$dir/err"; then
    fail "gh (scoped client) api repos/octo-org/repo-1, outside its scope, succeeded"
  else
    expect_match "gh (scoped client) api repos/octo-org/repo-1, outside its scope: 403" 'HTTP 403' "$(tr '\n' ' ' <"$dir/err")"
  fi
  if "${gh_scoped[@]}" api --paginate repos/octo-org/repo-0/issues --jq '.[].number' >"$dir/issues-scoped" 2>"$dir/err"; then
    expect_eq "gh (scoped client) api --paginate: 250 distinct issues" 250 "$(sort -un "$dir/issues-scoped" | wc -l | tr -d ' ')"
  else
    fail "gh (scoped client) api --paginate: $(tr '\n' ' ' <"$dir/err")"
  fi
  expect_eq "gh (scoped client) paginate: pages 2 and 3 requested in the name form, within the scope" 2 \
    "$(grep '"client":"gh-scoped"' "$log" | grep -c '"path":"/api/v3/repos/octo-org/repo-0/issues?per_page=&page="' || true)"

  # 2. TLS listener with a test CA: gh's own https client, GH_HOST=localhost:PORT.
  mkdir -p "$dir/config-tls"
  : >"$dir/config-tls/config.yml"
  local gh_tls=(run_gh "$dir/config-tls" "localhost:$proxy_port" "$tls_token" SSL_CERT_FILE="$dir/ca.pem" --)
  if out="$("${gh_tls[@]}" api repos/octo-org/repo-0 --jq .full_name 2>"$dir/err")"; then
    expect_eq "gh (TLS) api repos/octo-org/repo-0" octo-org/repo-0 "$out"
  else
    fail "gh (TLS) api repos/octo-org/repo-0: $(cat "$dir/err")"
  fi
  before="$(metric "$admin_port" github_proxy_requests_total client=gh-tls method=GET code=200)"
  if "${gh_tls[@]}" api --paginate repos/octo-org/repo-0/issues --jq '.[].number' >"$dir/issues-tls" 2>"$dir/err"; then
    expect_eq "gh (TLS) api --paginate: 250 distinct issues" 250 "$(sort -un "$dir/issues-tls" | wc -l | tr -d ' ')"
  else
    fail "gh (TLS) api --paginate: $(cat "$dir/err")"
  fi
  expect_eq "gh (TLS) paginate: 3 requests counted for client gh-tls" 3 \
    "$(($(eventually_metric $((before + 3)) "$admin_port" github_proxy_requests_total client=gh-tls method=GET code=200) - before))"

  # 3. A wrong token is refused by the proxy, and gh says so.
  if "${gh_unix[@]/$unix_token/ghpx_e2e_wrong_token}" api repos/octo-org/repo-0 >/dev/null 2>"$dir/err"; then
    fail "gh with an unknown proxy token succeeded"
  else
    expect_match "gh with an unknown proxy token: 401 Bad credentials" 'Bad credentials.*401|401.*Bad credentials' "$(tr '\n' ' ' <"$dir/err")"
  fi

  expect_no_proxy_token gh "$fake_port" ghp_e2e_upstream_token_1 "$unix_token" "$tls_token" "$scoped_token"
  [[ "$sock" == "$dir/"* ]] || rm -rf "$(dirname "$sock")"
}

# ---- curl ---------------------------------------------------------------------

curl_suite() {
  echo "== curl: $(curl --version | head -n 1 | cut -d' ' -f1-2)"
  local dir="$run_dir/curl"
  mkdir -p "$dir"
  start_fake curl-fake
  local token="ghpx_e2e_curl_token_0001" scoped_token="ghpx_e2e_curl_scoped_token_0002"
  start_proxy curl-proxy "http://127.0.0.1:$fake_port" "" "curl:$token" \
    "curl-scoped:$scoped_token:/repos/octo-org/repo-0(/.*)?"
  local base="http://127.0.0.1:$proxy_port" code etag last_modified
  local c=(curl -sS --max-time 20 -A github-proxy-e2e/1)

  # Basic auth, the token as the password (as git and many CI tools send it).
  code="$("${c[@]}" -u "x:$token" -D "$dir/h1" -o "$dir/b1" -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl -u x:TOKEN → 200" 200 "$code"
  expect_match "curl -u x:TOKEN: the repository" '"full_name": ?"octo-org/repo-0"' "$(cat "$dir/b1")"
  etag="$(header ETag "$dir/h1")"
  last_modified="$(header Last-Modified "$dir/h1")"
  expect_match "curl: strong ETag" '^"[0-9a-f]{64}"$' "$etag"
  expect_match "curl: Cache-Status from the proxy" '^github-proxy' "$(header Cache-Status "$dir/h1")"

  # Other forms of the same token.
  code="$("${c[@]}" -u "$token:" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl -u TOKEN: (token as the user name) → 200" 200 "$code"
  code="$("${c[@]}" -u "$token:x-oauth-basic" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl -u TOKEN:x-oauth-basic → 200" 200 "$code"
  code="$("${c[@]}" -H "Authorization: Bearer $token" -o /dev/null -w '%{http_code}' "$base/api/v3/repos/octo-org/repo-0")"
  expect_eq "curl Authorization: Bearer, /api/v3 layout → 200" 200 "$code"
  code="$("${c[@]}" -u "x:ghpx_e2e_wrong_token" -o "$dir/b401" -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl -u x:WRONG → 401" 401 "$code"
  expect_match "curl -u x:WRONG: GitHub-shaped body" '"message": ?"Bad credentials"' "$(cat "$dir/b401")"
  code="$("${c[@]}" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl without a token → 401" 401 "$code"

  # Conditional requests with the validators of the first answer.
  local counted
  counted="$(metric "$admin_port" github_proxy_requests_total client=curl code=304)"
  code="$("${c[@]}" -u "x:$token" -H "If-None-Match: $etag" -D "$dir/h2" -o /dev/null \
    -w '%{http_code} %{size_download}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl If-None-Match: ETAG → 304, empty body" "304 0" "$code"
  expect_eq "curl 304: same ETag" "$etag" "$(header ETag "$dir/h2")"
  code="$("${c[@]}" -u "x:$token" -H "If-None-Match: \"0000\", $etag" -o /dev/null \
    -w '%{http_code} %{size_download}' "$base/api/v3/repos/octo-org/repo-0")"
  expect_eq "curl If-None-Match: list, /api/v3 layout → 304" "304 0" "$code"
  code="$("${c[@]}" -u "x:$token" -H "If-Modified-Since: $last_modified" -o /dev/null \
    -w '%{http_code} %{size_download}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl If-Modified-Since: Last-Modified → 304" "304 0" "$code"
  code="$("${c[@]}" -u "x:$token" -H 'If-None-Match: "not-the-etag"' -o "$dir/b3" \
    -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl If-None-Match: another ETag → 200" 200 "$code"
  expect_eq "curl If-None-Match: another ETag: the same body" "$(sha256sum <"$dir/b1")" "$(sha256sum <"$dir/b3")"
  expect_eq "curl: the 304s are counted for client curl" 3 \
    "$(($(eventually_metric $((counted + 3)) "$admin_port" github_proxy_requests_total client=curl code=304) - counted))"

  # gzip: weak ETag; a conditional request with it is a 304 too.
  code="$("${c[@]}" --compressed -u "x:$token" -D "$dir/h4" -o "$dir/b4" -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl --compressed → 200" 200 "$code"
  local weak
  weak="$(header ETag "$dir/h4")"
  if [ "$(header Content-Encoding "$dir/h4")" = "gzip" ]; then
    expect_match "curl --compressed: weak ETag" '^W/"[0-9a-f]{64}"$' "$weak"
  fi
  expect_eq "curl --compressed: the same document" "$(sha256sum <"$dir/b1")" "$(sha256sum <"$dir/b4")"
  code="$("${c[@]}" --compressed -u "x:$token" -H "If-None-Match: $weak" -o /dev/null \
    -w '%{http_code} %{size_download}' "$base/repos/octo-org/repo-0")"
  expect_eq "curl --compressed If-None-Match: W/ETAG → 304, empty body" "304 0" "$code"

  # URLs in the body: GitHub's API origin becomes the proxy, in the layout
  # the client used; html_url (https://github.com/…) is left alone.
  local prefix layout body
  for prefix in "" /api/v3; do
    layout="${prefix:-/}"
    code="$("${c[@]}" -u "x:$token" -D "$dir/hu" -o "$dir/bu" -w '%{http_code} %{size_download}' \
      "$base$prefix/repos/octo-org/repo-0")"
    body="$(cat "$dir/bu")"
    expect_eq "curl body URLs ($layout layout): repository → 200, Content-Length = bytes received" \
      "200 $(header Content-Length "$dir/hu")" "$code"
    expect_contains "curl body URLs ($layout layout): url on the proxy" \
      "\"url\":\"$base$prefix/repos/octo-org/repo-0\"" "$body"
    expect_contains "curl body URLs ($layout layout): issues_url template on the proxy" \
      "\"issues_url\":\"$base$prefix/repos/octo-org/repo-0/issues{/number}\"" "$body"
    expect_contains "curl body URLs ($layout layout): html_url untouched" \
      '"html_url":"https://github.com/octo-org/repo-0"' "$body"
    expect_lacks "curl body URLs ($layout layout): the fake GitHub's origin appears nowhere" \
      "127.0.0.1:$fake_port" "$body"
  done

  # A client scoped to the one repository follows Link: rel="next" by hand
  # through every page: the links name /repos/octo-org/repo-0/issues as
  # requested (not /repositories/1000/issues), so they stay in its scope.
  code="$("${c[@]}" -u "x:$scoped_token" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-1")"
  expect_eq "curl (scoped client) repos/octo-org/repo-1, outside its scope → 403" 403 "$code"
  local url pages issues codes nexts
  for prefix in "" /api/v3; do
    layout="${prefix:-/}"
    url="$base$prefix/repos/octo-org/repo-0/issues?per_page=100"
    pages=0 issues=0 codes="" nexts=""
    while [ -n "$url" ] && [ "$pages" -lt 10 ]; do
      code="$("${c[@]}" -u "x:$scoped_token" -D "$dir/hp" -o "$dir/bp" -w '%{http_code}' "$url")"
      pages=$((pages + 1))
      codes+=" $code"
      [ "$code" = 200 ] || break
      issues=$((issues + $(grep -o '"repository_url":' "$dir/bp" | wc -l)))
      url="$(header Link "$dir/hp" | grep -o '<[^>]*>; rel="next"' | sed -e 's/^<//' -e 's/>.*//' || true)"
      [ -z "$url" ] || nexts+=" $url"
    done
    expect_eq "curl (scoped client, $layout layout) Link rel=next by hand: 3 pages, all 200" " 200 200 200" "$codes"
    expect_eq "curl (scoped client, $layout layout) Link rel=next by hand: 250 issues" 250 "$issues"
    expect_eq "curl (scoped client, $layout layout) Link rel=next: the name form, on the proxy" \
      " $base$prefix/repos/octo-org/repo-0/issues?per_page=100&page=2 $base$prefix/repos/octo-org/repo-0/issues?per_page=100&page=3" \
      "$nexts"
  done

  expect_no_proxy_token curl "$fake_port" ghp_e2e_upstream_token_1 "$token" "$scoped_token"
}

# ---- status page ----------------------------------------------------------------

# Debian's chromium, headless, with nothing from the caller's profile: HOME
# and the profile live in DIR. --no-sandbox: Chromium refuses to start as
# root without it ("Running as root without --no-sandbox is not supported"),
# and CI runs as root. --disable-dev-shm-usage: a container's /dev/shm may be
# 64 MB, too small for it (Debian's launcher adds the flag itself only when
# its own check, /etc/chromium.d/dev-shm, works).
run_chromium() { # DIR ARGS...
  local dir="$1"
  shift
  mkdir -p "$dir/home"
  env HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config" XDG_CACHE_HOME="$dir/home/.cache" \
    timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --user-data-dir="$dir/profile" "$@"
}

# field FILE KEY → the value of KEY in status_fields.py's output FILE;
# count_field FILE KEY → the same, 0 when absent
field() { awk -v k="$2=" 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$1"; }
count_field() { local v; v="$(field "$@")"; [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0; }

# expect_fields WHAT FILE KEY=EXPECTED...
expect_fields() {
  local what="$1" file="$2" pair
  shift 2
  for pair in "$@"; do
    expect_eq "$what ${pair%%=*} = ${pair#*=}" "${pair#*=}" "$(field "$file" "${pair%%=*}")"
  done
}

# render::span of src/status/render.cc, for the expected text of a tile
span_text() {
  local s="$1"
  if [ "$s" -lt 60 ]; then echo "$s s"
  elif [ "$s" -lt 3600 ]; then
    if [ $((s % 60)) -eq 0 ]; then echo "$((s / 60)) min"; else echo "$((s / 60)) min $((s % 60)) s"; fi
  elif [ $((s % 3600 / 60)) -eq 0 ]; then echo "$((s / 3600)) h"
  else echo "$((s / 3600)) h $((s % 3600 / 60)) min"; fi
}

# The status page of the admin listener (docs/contract.md §8 "Status page")
# after a known sequence of requests, as Chromium renders it, as
# /status.json, and as `github-proxy status` prints it. The expected numbers
# come from the contract, not from the page:
#   status-a (no scopes): 4 GETs of repo-0 (a miss, then 3 hits that GitHub
#     confirms with a free 304, §6 "Always revalidate"), then a GET with the
#     ETag in If-None-Match (the entry confirmed upstream again, a 304 to
#     the client).
#   status-b (GET|HEAD /repos/octo-org/repo-1 only): 3 GETs of repo-1 (a
#     miss, 2 hits), 1 GET of repo-0 outside its scope (403).
#   an unknown token: 1 GET (401).
# Demand on one token (§8 "Demand without the proxy"): every request of a
# known client, the 403 included, except the 304 to status-a's own
# conditional request: 4 + 4 = 8 core credits. Against one_token_limit 5 that
# is 1 outage in which GitHub would have refused 8 - 5 = 3 requests.
status_page_suite() {
  echo "== status-page: $(chromium --version 2>/dev/null | head -n 1)"
  local dir="$run_dir/status-page"
  mkdir -p "$dir"
  start_fake status-fake
  local token_a="ghpx_e2e_status_a_token_0001" token_b="ghpx_e2e_status_b_token_0002"
  local unknown="ghpx_e2e_status_unknown_token_0003" upstream_token="ghp_e2e_upstream_token_1"
  local limit=5
  local proxy_admin_extra="  one_token_limit: $limit
"
  start_proxy status-proxy "http://127.0.0.1:$fake_port" "" "status-a:$token_a" \
    "status-b:$token_b:/repos/octo-org/repo-1"
  local base="http://127.0.0.1:$proxy_port" admin="http://127.0.0.1:$admin_port"
  local c=(curl -sS --max-time 20 -A github-proxy-e2e/1)
  local started code codes statuses etag i
  started="$(date +%s)"

  # The sequence; each answer is checked, so that a wrong number on the page
  # is the page's and not the premise's.
  codes="" statuses=""
  for i in 1 2 3 4; do
    code="$("${c[@]}" -u "x:$token_a" -D "$dir/ha$i" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-0")"
    codes+=" $code"
    statuses+="$(header Cache-Status "$dir/ha$i" | sed 's/^github-proxy; //');"
  done
  expect_eq "status-a: 4 GETs of repo-0 → 200" " 200 200 200 200" "$codes"
  expect_eq "status-a: a miss, then 3 revalidated hits" \
    "fwd=miss; stored;hit; detail=revalidated;hit; detail=revalidated;hit; detail=revalidated;" "$statuses"
  etag="$(header ETag "$dir/ha1")"
  code="$("${c[@]}" -u "x:$token_a" -H "If-None-Match: $etag" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "status-a: its own conditional request → 304" 304 "$code"
  codes="" statuses=""
  for i in 1 2 3; do
    code="$("${c[@]}" -u "x:$token_b" -D "$dir/hb$i" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-1")"
    codes+=" $code"
    statuses+="$(header Cache-Status "$dir/hb$i" | sed 's/^github-proxy; //');"
  done
  expect_eq "status-b: 3 GETs of repo-1 → 200" " 200 200 200" "$codes"
  expect_eq "status-b: a miss, then 2 revalidated hits" \
    "fwd=miss; stored;hit; detail=revalidated;hit; detail=revalidated;" "$statuses"
  code="$("${c[@]}" -u "x:$token_b" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "status-b: repo-0, outside its scope → 403" 403 "$code"
  code="$("${c[@]}" -u "x:$unknown" -o /dev/null -w '%{http_code}' "$base/repos/octo-org/repo-0")"
  expect_eq "an unknown token → 401" 401 "$code"

  # Counters move once each answer is written: wait (bounded) until the
  # report has all 10 requests and the 8 credits of demand.
  local requests demand
  for _ in $(seq 1 100); do
    "${c[@]}" -o "$dir/status.json" "$admin/status.json" || true
    python3 "$e2e_src/status_page/status_fields.py" json "$dir/status.json" >"$dir/json.fields" 2>/dev/null || true
    requests=$(($(count_field "$dir/json.fields" clients.status-a.requests) + $(count_field "$dir/json.fields" clients.status-b.requests) +
      $(count_field "$dir/json.fields" clients.unauthenticated.requests)))
    demand="$(count_field "$dir/json.fields" one_token.demand)"
    [ "$requests" = 10 ] && [ "$demand" = 8 ] && break
    sleep 0.05
  done
  local settled
  settled="$(date +%s)"

  # The page as a browser renders it.
  if run_chromium "$dir/chromium" --dump-dom "$admin/" >"$dir/page.html" 2>"$dir/chromium.log" &&
    grep -q 'data-client=' "$dir/page.html"; then
    pass "status-page: chromium --headless rendered $admin/"
  else
    fail "status-page: chromium --dump-dom $admin/ failed: $(grep -v -i dbus "$dir/chromium.log" | tail -n 5)"
  fi
  python3 "$e2e_src/status_page/status_fields.py" html "$dir/page.html" >"$dir/html.fields"
  "${c[@]}" -o "$dir/status.json" "$admin/status.json"
  python3 "$e2e_src/status_page/status_fields.py" json "$dir/status.json" >"$dir/json.fields"

  # Per client. Spent: the two misses, the only answers that cost a credit
  # (an upstream 304 is free, credentials/budget.h). Saved: each upstream
  # 304 (§8 metrics table), so status-a's conditional request counts too.
  local expected=(
    clients.status-a.requests=5 clients.status-a.credits_spent=1 clients.status-a.credits_saved=4
    clients.status-a.demand=4 clients.status-a.budget=none clients.status-a.rejected_last_hour=0
    clients.status-b.requests=4 clients.status-b.credits_spent=1 clients.status-b.credits_saved=2
    clients.status-b.demand=4 clients.status-b.rejected_last_hour=1
    clients.unauthenticated.requests=1 clients.unauthenticated.credits_spent=0
    clients.unauthenticated.demand=0 clients.unauthenticated.rejected_last_hour=1
    # One token of 5 credits an hour against 8 of demand.
    "one-token.limit_per_hour=$limit" one-token.demand=8 one-token.window_demand=8
    one-token.outages=1 one-token.refused=$((8 - limit))
    one-token.outages.1.demand=8 one-token.outages.1.refused=$((8 - limit))
    # Hits (revalidated) over cacheable requests: (3 + 1 + 2) / (6 + 2 misses).
    cache.hit_ratio=75.0% cache.hits=6 cache.backend_health=healthy cache.backend_errors=0
    cache.memory.entries=2
    # Two credits spent of the fake's 5000 an hour.
    credentials.upstream-1.core.state=ok "credentials.upstream-1.core.remaining=4,998 / 5,000"
    # No script, no style sheet, no image: nothing loaded from anywhere.
    page.tags.script=0 page.tags.link=0 page.tags.img=0 page.tags.iframe=0 page.external_refs=0
  )
  expect_fields "status page (chromium):" "$dir/html.fields" "${expected[@]}"
  expect_eq "status page (chromium): the client rows, in registry order, then unauthenticated" \
    "status-a status-b unauthenticated" "$(grep -o '^clients\.[^.]*\.name=' "$dir/html.fields" | cut -d. -f2 | tr '\n' ' ' | sed 's/ $//')"

  expect_fields "/status.json:" "$dir/json.fields" \
    clients.status-a.requests=5 clients.status-a.credits_spent=1 clients.status-a.credits_saved=4 \
    clients.status-a.demand=4 clients.status-a.rejected_last_hour=0 clients.status-a.registered=true \
    clients.status-b.requests=4 clients.status-b.credits_spent=1 clients.status-b.credits_saved=2 \
    clients.status-b.demand=4 clients.status-b.rejected_last_hour=1 \
    clients.unauthenticated.requests=1 clients.unauthenticated.demand=0 \
    clients.unauthenticated.rejected_last_hour=1 clients.unauthenticated.registered=false \
    one_token.limit_per_hour=$limit one_token.demand=8 one_token.windows=1 one_token.outages=1 \
    one_token.refused=$((8 - limit)) one_token.current_window.demand=8 \
    cache.hits=6 cache.cacheable=8 cache.hit_ratio=0.75 cache.healthy=true cache.stores.memory.entries=2 \
    credentials.upstream-1.state=ok credentials.upstream-1.resources.core.remaining=4998 \
    credentials.upstream-1.resources.core.limit=5000

  # The token ran out in this window's first seconds: from then to the
  # window's reset, an hour after it opened (docs/github-api.md §3), it
  # stayed empty. The replay is fed about every second, so both ends are
  # known to the second within the time the sequence took.
  local exhausted start reset
  exhausted="$(field "$dir/json.fields" one_token.exhausted_seconds)"
  start="$(field "$dir/json.fields" one_token.current_window.start)"
  reset="$(field "$dir/json.fields" one_token.current_window.reset)"
  if [[ "$exhausted" =~ ^[0-9]+$ ]] && [ "$exhausted" -le 3600 ] &&
    [ "$exhausted" -ge $((3600 - (settled - started) - 2)) ]; then
    pass "/status.json: the token empty for ${exhausted} s of the hour"
  else
    fail "/status.json: exhausted_seconds '$exhausted' is not within $((settled - started + 2)) s of 3600"
  fi
  if [[ "$start" =~ ^[0-9]+$ ]] && [ "$start" -ge $((started - 1)) ] && [ "$start" -le $((settled + 1)) ] &&
    [ "$reset" = $((start + 3600)) ]; then
    pass "/status.json: the window opened with the first request and resets an hour later"
  else
    fail "/status.json: window $start … $reset, the requests were sent from $started to $settled"
  fi
  expect_eq "/status.json: the outage listed, ongoing" "8 $((8 - limit)) true" \
    "$(field "$dir/json.fields" one_token.recent_outages.1.demand) $(field "$dir/json.fields" one_token.recent_outages.1.refused) $(field "$dir/json.fields" one_token.recent_outages.1.ongoing)"
  if [[ "$exhausted" =~ ^[0-9]+$ ]]; then
    expect_eq "status page (chromium): the exhausted tile" "$(span_text "$exhausted")" "$(field "$dir/html.fields" one-token.exhausted)"
  fi

  # `/status` is the same page; `/` and /status.json are never cached.
  code="$("${c[@]}" -o "$dir/raw.html" -D "$dir/h-status" -w '%{http_code} %{content_type}' "$admin/status")"
  expect_eq "/status → 200 HTML" "200 text/html; charset=utf-8" "$code"
  expect_contains "/status: the same page" '<tr data-client="status-b">' "$(cat "$dir/raw.html")"
  expect_eq "/status: Cache-Control" no-store "$(header Cache-Control "$dir/h-status")"

  # The terminal table.
  local out
  if out="$("$proxy_bin" status --admin "$admin" 2>"$dir/status.err")"; then
    pass "github-proxy status --admin $admin: exit 0"
  else
    fail "github-proxy status --admin $admin: exit $?: $(cat "$dir/status.err")"
  fi
  printf '%s\n' "$out" >"$dir/table.txt"
  expect_match "github-proxy status: the one-token line" \
    "demand 8 credits, outages avoided 1, token empty for [^,]+, requests GitHub would have refused $((8 - limit))" "$out"
  # client, requests, spent, saved, demand, budget used, rejected 1h
  expect_match "github-proxy status: status-a" $'(^|\n)status-a +5 +1 +4 +4 +- +0\n' "$out"
  expect_match "github-proxy status: status-b" $'(^|\n)status-b +4 +1 +2 +4 +- +1\n' "$out"
  expect_match "github-proxy status: unauthenticated" $'(^|\n)unauthenticated +1 +0 +0 +0 +- +1\n' "$out"
  expect_contains "github-proxy status: the cache line" "hit ratio 75.0% (6 of 8 cacheable)" "$out"

  # What the upstream saw agrees: the credits spent are its 200s, the
  # credits saved its 304s.
  local counters
  counters="$(curl -sS --max-time 10 "http://127.0.0.1:$fake_port/_fake/counters")"
  expect_match "the fake GitHub: 2 credits and 6 free 304s for the upstream credential" \
    "\"$upstream_token\":\\{\"requests\":8,\"status_200\":2,\"status_304\":6,\"credits\":2," "$counters"

  # No secret anywhere (§8: "Neither shows a token, a key or a path").
  local where secret
  local secrets=("status-a's token|$token_a" "status-b's token|$token_b" "the unknown token|$unknown"
    "the upstream token|$upstream_token" "anything shaped like a proxy token|ghpx_"
    "status-a's token_sha256|$(sha256_of "$token_a")" "status-b's token_sha256|$(sha256_of "$token_b")"
    "a request path|octo-org/repo")
  for where in page.html raw.html status.json table.txt; do
    for secret in "${secrets[@]}"; do
      expect_lacks "$where: no ${secret%%|*}" "${secret#*|}" "$(cat "$dir/$where")"
    done
  done

  expect_no_proxy_token status-page "$fake_port" "$upstream_token" "$token_a" "$token_b" "$unknown"
}

# ---- PyGithub and go-github -----------------------------------------------------

# For each upstream layout (api.github.com; GHES, fake_github --ghes): a fake
# GitHub, a proxy in front of it with two clients, CLIENT (no scopes) and
# CLIENT-scoped (GET|HEAD /repos/octo-org/repo-0(/.*)? only), then RUNNER...
# with the GHP_E2E_* environment the test programs read; then the fake GitHub
# must not have seen either proxy token.
run_against_both_layouts() { # SUITE CLIENT RUNNER...
  local suite="$1" who="$2"
  shift 2
  local token="ghpx_e2e_${who//-/_}_token_0001" scoped="ghpx_e2e_${who//-/_}_scoped_token_0002"
  local layout upstream
  for layout in github ghes; do
    if [ "$layout" = ghes ]; then
      start_fake "$suite-fake-ghes" --ghes
      upstream="http://127.0.0.1:$fake_port/api/v3"
    else
      start_fake "$suite-fake"
      upstream="http://127.0.0.1:$fake_port"
    fi
    start_proxy "$suite-proxy-$layout" "$upstream" "" "$who:$token" \
      "$who-scoped:$scoped:/repos/octo-org/repo-0(/.*)?"
    echo "-- $suite: proxy http://127.0.0.1:$proxy_port, upstream $upstream ($layout layout)"
    if env GHP_E2E_PROXY_ORIGIN="http://127.0.0.1:$proxy_port" GHP_E2E_ADMIN_ORIGIN="http://127.0.0.1:$admin_port" \
      GHP_E2E_FAKE_ORIGIN="http://127.0.0.1:$fake_port" GHP_E2E_UPSTREAM="$layout" \
      GHP_E2E_CLIENT="$who" GHP_E2E_TOKEN="$token" GHP_E2E_SCOPED_CLIENT="$who-scoped" GHP_E2E_SCOPED_TOKEN="$scoped" \
      timeout 120 "$@"; then
      pass "$suite (upstream $layout layout): every test passed"
    else
      fail "$suite (upstream $layout layout): some tests failed (see above)"
    fi
    expect_no_proxy_token "$suite (upstream $layout layout)" "$fake_port" ghp_e2e_upstream_token_1 "$token" "$scoped"
    stop_all
  done
}

pygithub_suite() {
  local version
  version="$("$pygithub_python" -c 'from importlib.metadata import version; print(version("PyGithub"))' 2>/dev/null || echo '?')"
  echo "== pygithub: PyGithub $version, $("$pygithub_python" --version 2>&1) ($pygithub_python)"
  local dir="$run_dir/pygithub"
  mkdir -p "$dir"
  cp "$e2e_src/pygithub/test_pygithub.py" "$e2e_src/pygithub/e2e_support.py" "$dir/"
  run_against_both_layouts pygithub pygithub \
    env -u PYTHONPATH -u PYTHONHOME -u PYTHONSTARTUP PYTHONDONTWRITEBYTECODE=1 \
    "$pygithub_python" -s "$dir/test_pygithub.py"
}

# The test binary is built offline in GOPATH mode from Debian's packaged
# sources (the copy's go.mod makes Go map …/go-github/v48/github to them), into
# the run directory; Go's build cache is kept in the work directory.
go_github_suite() {
  echo "== go-github: $(go version) with go-github v48 from $go_github_src"
  local dir="$run_dir/go-github"
  local pkg="$dir/gopath/src/ghpe2e"
  mkdir -p "$pkg" "$work_dir/go-cache"
  cp "$e2e_src"/go_github/*.go "$e2e_src/go_github/go.mod" "$pkg/"
  if (cd "$pkg" && env -u GOFLAGS -u GOBIN GOENV=off GO111MODULE=off GOPATH="$dir/gopath:$gocode" \
    GOCACHE="$work_dir/go-cache" GOPROXY=off GOTOOLCHAIN=local \
    timeout 300 go test -c -o "$dir/go_github.test" .) >"$dir/build.log" 2>&1; then
    pass "go-github: go test -c built offline against Debian's go-github v48"
  else
    fail "go-github: go test -c failed: $(tail -n 30 "$dir/build.log")"
    return
  fi
  run_against_both_layouts go-github go-github "$dir/go_github.test" -test.v -test.timeout 100s
}

# ---- rate-limit-view ----------------------------------------------------------

# The PyGithub half of the suite (the Octokit half is
# octokit/rate_limit_view.test.mjs): a fake GitHub and a proxy in front of it
# with three upstream credentials, whose core buckets the test sets (4000, 20
# and 0 of 5000 left), a client without a budget and one with
# upstream_budget 5/h; then pygithub/test_rate_limit_view.py.
rate_limit_view_pygithub_suite() {
  echo "== rate-limit-view (pygithub): PyGithub $("$pygithub_python" -c 'from importlib.metadata import version; print(version("PyGithub"))' 2>/dev/null || echo '?')"
  local dir="$run_dir/rate-limit-view-pygithub"
  mkdir -p "$dir"
  cp "$e2e_src/pygithub/test_rate_limit_view.py" "$e2e_src/pygithub/e2e_support.py" "$dir/"
  local token="ghpx_e2e_rlv_pygithub_token_0001" budget_token="ghpx_e2e_rlv_pygithub_budget_token_0002"
  local budget=5
  local upstream_tokens="ghp_e2e_upstream_token_1 ghp_e2e_upstream_token_2 ghp_e2e_upstream_token_3"
  start_fake rate-limit-view-fake
  # upstream-1 is always ghp_e2e_upstream_token_1; the other two come after it.
  local proxy_extra_upstream_tokens="${upstream_tokens#* }" proxy_client_budgets="rlv-pygithub-budget=$budget/h"
  start_proxy rate-limit-view-proxy "http://127.0.0.1:$fake_port" "" \
    "rlv-pygithub:$token" "rlv-pygithub-budget:$budget_token"
  echo "-- rate-limit-view (pygithub): proxy http://127.0.0.1:$proxy_port, 3 credentials"
  if env -u PYTHONPATH -u PYTHONHOME -u PYTHONSTARTUP PYTHONDONTWRITEBYTECODE=1 \
    GHP_E2E_PROXY_ORIGIN="http://127.0.0.1:$proxy_port" GHP_E2E_ADMIN_ORIGIN="http://127.0.0.1:$admin_port" \
    GHP_E2E_FAKE_ORIGIN="http://127.0.0.1:$fake_port" GHP_E2E_CLIENT=rlv-pygithub GHP_E2E_TOKEN="$token" \
    GHP_E2E_BUDGET_CLIENT=rlv-pygithub-budget GHP_E2E_BUDGET_TOKEN="$budget_token" GHP_E2E_BUDGET="$budget" \
    GHP_E2E_UPSTREAM_TOKENS="$upstream_tokens" \
    timeout 120 "$pygithub_python" -s "$dir/test_rate_limit_view.py"; then
    pass "rate-limit-view (pygithub): every test passed"
  else
    fail "rate-limit-view (pygithub): some tests failed (see above)"
  fi
  expect_no_proxy_token "rate-limit-view (pygithub)" "$fake_port" "$upstream_tokens" "$token" "$budget_token"
}

run_shell_suite() { # NAME FUNCTION
  checks=0
  check_failed=0
  "$2"
  echo "== $1: $((checks - check_failed)) passed, $check_failed failed"
  [ "$check_failed" -eq 0 ] || failed=1
  stop_all
}

for s in "${suites[@]}"; do
  case "$s" in
    octokit) run_node_suite octokit octokit.test.mjs ;;
    octokit-429) run_node_suite octokit-429 proxy_429.test.mjs ;;
    gh) run_shell_suite gh gh_suite ;;
    curl) run_shell_suite curl curl_suite ;;
    pygithub) run_shell_suite pygithub pygithub_suite ;;
    go-github) run_shell_suite go-github go_github_suite ;;
    status-page) run_shell_suite status-page status_page_suite ;;
    rate-limit-view)
      run_node_suite rate-limit-view rate_limit_view.test.mjs
      run_shell_suite rate-limit-view-pygithub rate_limit_view_pygithub_suite
      ;;
  esac
done
