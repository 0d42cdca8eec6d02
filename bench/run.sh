#!/usr/bin/env bash
# github-proxy benchmark (make bench): from one run on one machine, wrk
# against
#   - the fake GitHub directly (full 200s, and conditional GETs → 304s),
#   - github-proxy cache hits (every one revalidated upstream → 304) with the
#     memory and the Redis backend,
#   - nginx proxy_cache with proxy_cache_revalidate in front of the same fake,
# each at two body sizes (a ~2.1 KB issue, a ~6.8 KB repository), then
#   - github-proxy pass-through (a GET the cache bypasses),
#   - github-proxy with one hot URL (concurrent requests coalesced),
# printing requests/s, p50, p99, the ratios to the direct figure, to nginx
# and to the memory backend at the same size, the server's CPU time per
# request (from /proc), and, from the fake's counters, how many upstream
# requests each client request caused and how many of those were 304s (the
# check that the hits really were revalidated); then a verdict per size
# against issue 13's goals, and (ALLOCS=1) the allocation calls per
# revalidated hit. See bench/README.md.
#
#   bench/run.sh [BUILD_DIR]
# Environment (defaults in brackets):
#   DURATION [10s] measured run per scenario, after WARMUP [2s]
#   CONNECTIONS [64], THREADS [2] (wrk -t/-c, the same for every scenario)
#   KEYS [20000] distinct URLs cycled through, per size (see bench/keys.lua)
#   SIZES ["2k 7k"]: the body sizes of the per-size rows (2k: an issue,
#     7k: a repository)
#   ROUNDS [2] times the whole list of scenarios is run (to show variance)
#   MAX_LOAD [1.5], LOAD_WAIT [180]: wait up to LOAD_WAIT s for the 1-minute
#     load average to drop below MAX_LOAD before starting
#   SCENARIOS: a subset of "direct direct304 memory redis redis_tcp redis_tls
#     nginx pass hot" (redis_tcp, redis_tls: no front tier, so every hit
#     reads Redis, over plain TCP and over TLS: issue 14's comparison)
#     (pass and hot run at 7k only, the others once per size)
#   ALLOCS [1]: after the rounds, count allocation calls per revalidated hit
#     (memory backend, each size) with bench/alloc_count.c as LD_PRELOAD
#     (needs cc); ALLOC_KEYS [2000], ALLOC_DURATION [3s]
#   BASELINE: another github-proxy binary (say, the previous commit's build)
#     whose cache-hit rows (memory_base, redis_base) are measured in the same
#     run, next to this build's: how a change is shown not to regress
set -euo pipefail
build_dir="${1:-build}"
duration="${DURATION:-10s}"
warmup="${WARMUP:-2s}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-2}"
keys="${KEYS:-20000}"
sizes="${SIZES:-2k 7k}"
rounds="${ROUNDS:-2}"
max_load="${MAX_LOAD:-1.5}"
load_wait="${LOAD_WAIT:-180}"
allocs="${ALLOCS:-1}"
alloc_keys="${ALLOC_KEYS:-2000}"
alloc_duration="${ALLOC_DURATION:-3s}"
scenarios="${SCENARIOS:-direct direct304 memory redis redis_tcp redis_tls nginx pass hot}"
baseline="${BASELINE:-}"
if [ -n "$baseline" ]; then
  [ -x "$baseline" ] || { echo "BASELINE=$baseline is not an executable"; exit 1; }
  [ -n "${SCENARIOS:-}" ] || scenarios="direct direct304 memory memory_base redis redis_base redis_tcp redis_tls nginx pass hot"
fi
for z in $sizes; do
  case "$z" in 2k|7k) ;; *) echo "SIZES: '$z' is not 2k or 7k"; exit 1 ;; esac
done
bench_dir="$(cd "$(dirname "$0")" && pwd)"

for tool in wrk nginx redis-server curl ps openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (make deps-test installs it)"; exit 1; }
done
for bin in "$build_dir/github-proxy" "$build_dir/tests/fake_github/fake_github"; do
  [ -x "$bin" ] || { echo "$bin is missing: build first (make build-all)"; exit 1; }
done

work="$(mktemp -d -t github-proxy-bench.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Copies, so that a rebuild during the run does not change what is measured.
mkdir -p "$work/bin"
cp "$build_dir/github-proxy" "$build_dir/tests/fake_github/fake_github" "$work/bin/"
[ -z "$baseline" ] || cp "$baseline" "$work/bin/github-proxy-baseline"

wait_file() { for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.025; done; echo "timeout waiting for $1"; exit 1; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$p" || { echo "$p"; return; }
  done
}
wait_port() { for _ in $(seq 1 400); do port_in_use "$1" && return 0; sleep 0.025; done; echo "timeout waiting for port $1"; exit 1; }
load1() { cut -d' ' -f1 /proc/loadavg; }
forget_pid() {  # stop tracking a pid that has ended
  local alive=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || alive+=("$pid"); done
  pids=("${alive[@]}")
}

# CPU time (user + system, in clock ticks) of the given processes and of
# their children (nginx's workers), from /proc/<pid>/stat.
clk_tck="$(getconf CLK_TCK)"
cpu_ticks() {
  local all=() pid total=0 stat rest child f
  for pid in "$@"; do
    all+=("$pid")
    while read -r child; do [ -n "$child" ] && all+=("$child"); done < <(ps -o pid= --ppid "$pid" 2>/dev/null || true)
  done
  for pid in "${all[@]}"; do
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    rest="${stat##*) }"  # after "pid (comm) ": state is field 3, utime 14, stime 15
    read -r -a f <<<"$rest"
    total=$(( total + f[11] + f[12] ))
  done
  echo "$total"
}

# --- wait for a quiet machine --------------------------------------------------
waited=0
while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }' && [ "$waited" -lt "$load_wait" ]; do
  [ "$waited" -eq 0 ] && echo "load average $(load1) >= $max_load: waiting up to ${load_wait}s for a quieter machine..." >&2
  sleep 10; waited=$((waited + 10))
done

# --- the fake GitHub -----------------------------------------------------------
upstream_token="upstream-bench-token"
"$work/bin/fake_github" --address 127.0.0.1 --port 0 --port-file "$work/fake.port" \
  --core-limit 100000000 --secondary-rest-points 0 --quiet >/dev/null 2>&1 &
fake_pid=$!
pids+=("$fake_pid")
wait_file "$work/fake.port"
fake_port="$(cat "$work/fake.port")"
fake="http://127.0.0.1:$fake_port"

# "requests status_200 status_304" of every token together.
counters() {
  curl -s "$fake/_fake/counters" |
    sed -E 's/.*"total":\{"requests":([0-9]+),"status_200":([0-9]+),"status_304":([0-9]+).*/\1 \2 \3/'
}

# The two bodies: size → keys.lua's BENCH_PATH, and the path of object <repo>.
path_kind() { case "$1" in 2k) echo issue ;; *) echo repo ;; esac; }
object_path() { case "$1" in 2k) echo "/repos/octo-org/repo-$2/issues/1" ;; *) echo "/repos/octo-org/repo-$2" ;; esac; }
size_label() { case "$1" in 2k) echo "2 KB" ;; *) echo "7 KB" ;; esac; }

# --- Redis ---------------------------------------------------------------------
redis_port="$(free_port)"
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$work/redis" --logfile "$work/redis/redis.log" --daemonize no >/dev/null 2>&1 &
pids+=($!)
wait_port "$redis_port"
# The same Redis build, TLS only (a test CA made here; P-256 keys).
redis_tls_port="$(free_port)"
tls_dir="$work/redis-tls"
mkdir -p "$tls_dir"
(
  cd "$tls_dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
    -keyout ca.key -out ca.pem
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout server.key -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
    -out server.pem
) >/dev/null 2>&1 || { echo "openssl could not make the Redis TLS test certificates"; exit 1; }
redis-server --bind 127.0.0.1 --port 0 --tls-port "$redis_tls_port" --tls-cert-file "$tls_dir/server.pem" \
  --tls-key-file "$tls_dir/server.key" --tls-ca-cert-file "$tls_dir/ca.pem" --tls-auth-clients no \
  --save '' --appendonly no --dir "$tls_dir" --logfile "$tls_dir/redis.log" --daemonize no >/dev/null 2>&1 &
pids+=($!)
wait_port "$redis_tls_port"

# --- github-proxy, one per backend -----------------------------------------------
# Authentication (a registry token) and a scope check on every request;
# metrics are always on; the access log is on, JSON, on stderr, which goes
# to a file ($work/proxy-<name>.log, opened for appending so that run.sh can
# truncate it between rows).
client_token="ghpx_bench_client_token"
cat > "$work/registry.yaml" <<YAML
version: 1
clients:
  - name: bench
    token_sha256: $(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)
    scopes:
      - { method: GET, path: "/repos/octo-org/.*" }
YAML
declare -A proxy_pid=()
# Set by start_proxy (printf -v).
proxy_memory_port="" proxy_redis_port="" proxy_memory_base_port="" proxy_redis_base_port="" proxy_alloc_port=""
proxy_redis_tcp_port="" proxy_redis_tls_port=""
start_proxy() {  # name cache-yaml [binary] [LD_PRELOAD] → sets proxy_${name}_port, proxy_pid[name]
  local name="$1" binary="${3:-$work/bin/github-proxy}" preload="${4:-}"
  # The rows measure the revalidation path against nginx's: every hit asks
  # the fake, so GitHub's secondary limits (900 points a minute) are off on
  # both sides here; bench/fleet.sh measures them. A baseline binary older
  # than them does not know the key.
  local pool_yaml='pool: { secondary_limits: { rest_points_per_minute: 0 } }'
  [ "$binary" = "$work/bin/github-proxy" ] || pool_yaml=""
  cat > "$work/proxy-$name.yaml" <<YAML
listen: { address: 127.0.0.1, port: 0, threads: 2 }
admin: { address: 127.0.0.1, port: 0 }
upstream: { url: "$fake", max_connections_per_host: 512 }
registry: { file: registry.yaml }
cache: $2
$pool_yaml
credentials:
  - { name: bench-pat, type: token, token_env: BENCH_UPSTREAM_TOKEN }
logging: { level: warn, format: json, access_log: true }
YAML
  if [ -n "$preload" ]; then
    LD_PRELOAD="$preload" ALLOC_COUNT_FILE="$work/alloc.counts" BENCH_UPSTREAM_TOKEN="$upstream_token" \
      "$binary" serve --config "$work/proxy-$name.yaml" --ready-file "$work/proxy-$name.ready" \
      >>"$work/proxy-$name.log" 2>&1 &
  else
    BENCH_UPSTREAM_TOKEN="$upstream_token" "$binary" serve --config "$work/proxy-$name.yaml" \
      --ready-file "$work/proxy-$name.ready" >>"$work/proxy-$name.log" 2>&1 &
  fi
  pids+=($!)
  proxy_pid[$name]=$!
  wait_file "$work/proxy-$name.ready"
  printf -v "proxy_${name}_port" '%s' "$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/proxy-$name.ready")"
}
start_proxy memory "{ backend: memory, memory: { max_bytes: 2GiB }, front_tier_bytes: 1GiB }"
start_proxy redis "{ backend: redis, redis: { url: \"redis://127.0.0.1:$redis_port/0\" }, front_tier_bytes: 1GiB }"
# Without the front tier every hit reads Redis: TCP next to TLS.
start_proxy redis_tcp "{ backend: redis, redis: { url: \"redis://127.0.0.1:$redis_port/2\" }, front_tier_bytes: 0 }"
start_proxy redis_tls "{ backend: redis, redis: { url: \"rediss://127.0.0.1:$redis_tls_port/0\", tls: { ca_file: \"$tls_dir/ca.pem\" } }, front_tier_bytes: 0 }"
if [ -n "$baseline" ]; then
  start_proxy memory_base "{ backend: memory, memory: { max_bytes: 2GiB } }" "$work/bin/github-proxy-baseline"
  # Its own Redis database, so that the two builds' entries do not mix.
  start_proxy redis_base "{ backend: redis, redis: { url: \"redis://127.0.0.1:$redis_port/1\" } }" \
    "$work/bin/github-proxy-baseline"
fi

# --- nginx ---------------------------------------------------------------------
nginx_port="$(free_port)"
mkdir -p "$work/nginx/cache" "$work/nginx/tmp"
user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user root;"
sed -e "s|@WORK@|$work|g" -e "s|@PORT@|$nginx_port|g" -e "s|@UPSTREAM@|127.0.0.1:$fake_port|g" \
    -e "s|@USER@|$user_line|" "$bench_dir/nginx.conf.template" > "$work/nginx/nginx.conf"
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" >"$work/nginx/stdout.log" 2>&1 &
nginx_pid=$!  # the master (daemon off); cpu_ticks adds its workers
pids+=("$nginx_pid")
wait_port "$nginx_port"

# --- checks: each server answers the way its row claims --------------------------
ua="User-Agent: github-proxy-bench"
accept="Accept: application/vnd.github+json"
header_of() {  # url name [curl args...]: the value of response header `name`
  local url="$1" name="$2"; shift 2
  curl -s -o /dev/null -D - -H "$ua" -H "$accept" "$@" "$url" |
    awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$name")" -F': ' 'tolower($1) == n { sub(/\r$/, "", $2); print $2 }'
}
expect() {  # what got wanted
  [[ "$2" == *"$3"* ]] || { echo "check failed: $1: got '$2', want '$3'"; exit 1; }
}
auth=(-H "Authorization: token $client_token")
all_sizes="$(tr ' ' '\n' <<<"$sizes 7k" | sed '/^$/d' | sort -u | tr '\n' ' ')"  # 7k: pass, hot
for z in $all_sizes; do
  check_url="$(object_path "$z" 1)?k=check"
  for name in memory redis redis_tcp redis_tls ${baseline:+memory_base redis_base}; do
    port_var="proxy_${name}_port"; p="http://127.0.0.1:${!port_var}"
    header_of "$p$check_url" Cache-Status "${auth[@]}" >/dev/null
    expect "proxy ($name) repeated GET $check_url" "$(header_of "$p$check_url" Cache-Status "${auth[@]}")" \
      "hit; detail=revalidated"
  done
  # Stored already expired (X-Accel-Expires: @1): the very next GET revalidates.
  expect "nginx first GET $check_url" "$(header_of "http://127.0.0.1:$nginx_port$check_url" X-Cache-Status)" "MISS"
  expect "nginx second GET $check_url" "$(header_of "http://127.0.0.1:$nginx_port$check_url" X-Cache-Status)" \
    "REVALIDATED"
done
expect "proxy pass-through" "$(header_of "http://127.0.0.1:$proxy_memory_port$check_url" Cache-Status \
  "${auth[@]}" -H "X-Requested-With: bench")" "fwd=bypass"
scope_status="$(curl -s -o /dev/null -w '%{http_code}' -H "$ua" "${auth[@]}" "http://127.0.0.1:$proxy_memory_port/orgs/octo-org")"
expect "proxy scope check (GET /orgs/octo-org is outside the client's scope)" "$scope_status" "403"
sleep 0.2
access_lines() {  # file: access log lines in it
  grep -c '"log":"access"' "$1" 2>/dev/null || true
}
[ "$(access_lines "$work/proxy-memory.log")" -gt 0 ] || { echo "check failed: no access log line in $work/proxy-memory.log"; exit 1; }
[ "$(access_lines "$work/nginx/access.log")" -gt 0 ] || { echo "check failed: no access log line in nginx's access.log"; exit 1; }

# The ETag the fake gives each object for these request headers (for the
# direct conditional row), and the body sizes.
declare -A body_bytes=()
for z in $all_sizes; do
  for i in $(seq 0 99); do
    echo "$i $(header_of "$fake$(object_path "$z" "$i")" ETag -H "Authorization: token $upstream_token")"
  done > "$work/etags-$z"
  body_bytes[$z]="$(curl -s -o /dev/null -w '%{size_download}' -H "$ua" -H "$accept" \
    -H "Authorization: token $upstream_token" "$fake$(object_path "$z" 1)")"
done

# --- wrk -----------------------------------------------------------------------
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "%s", v }'
}
# wrk_run duration port token nkeys size etags extra-headers [start] → wrk's
# output (wrk -t$threads -c$connections: callers may override both locally)
wrk_run() {
  local auth=()
  [ -n "$3" ] && auth=(-H "Authorization: token $3")
  # `exec`: run in a subshell, the subshell becomes wrk (its $! is wrk's pid).
  exec env BENCH_KEYS="$4" BENCH_PATH="$(path_kind "$5")" BENCH_THREADS="$threads" BENCH_ETAGS="$6" \
    BENCH_HEADERS="$7" BENCH_START="${8:-0}" \
    wrk -t"$threads" -c"$connections" -d"$1" --latency -s "$bench_dir/keys.lua" \
      "${auth[@]}" -H "$ua" -H "$accept" "http://127.0.0.1:$2/"
}

# Fill a cache with every URL of a size once (each miss is one upstream 200),
# so that the measured runs only see revalidations.
prefill() {  # port token size [nkeys]
  local before after start=$SECONDS n="${4:-$keys}"
  read -r _ before _ <<<"$(counters)"
  (wrk_run 600s "$1" "$2" "$n" "$3" "" "") >/dev/null &
  local wrk_pid=$!
  pids+=("$wrk_pid")
  while :; do
    read -r _ after _ <<<"$(counters)"
    [ $((after - before)) -ge "$n" ] && break
    [ $((SECONDS - start)) -gt 590 ] && { echo "prefill of port $1 did not finish" >&2; break; }
    sleep 0.2
  done
  # wrk's SIGINT only ends the run when the main thread gets it; its
  # report is not needed here.
  kill "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" 2>/dev/null || true
  forget_pid "$wrk_pid"
}

scenario_label() {
  case "$1" in
    direct)    echo "a) fake GitHub direct, 200 (baseline)" ;;
    direct304) echo "a') fake GitHub direct, conditional GET → 304" ;;
    memory)    echo "c) proxy hit, memory backend (upstream 304)" ;;
    redis)     echo "d) proxy hit, Redis backend (upstream 304)" ;;
    redis_tcp) echo "d') proxy hit, Redis read every hit (no front tier), TCP" ;;
    redis_tls) echo "d'') proxy hit, Redis read every hit (no front tier), TLS" ;;
    nginx)     echo "e) nginx proxy_cache_revalidate (upstream 304)" ;;
    pass)      echo "b) proxy pass-through (cache bypassed)" ;;
    hot)       echo "f) proxy hit, memory, one hot URL (coalesced)" ;;
    memory_base) echo "c0) BASELINE build: proxy hit, memory backend" ;;
    redis_base)  echo "d0) BASELINE build: proxy hit, Redis backend" ;;
  esac
}
# run_scenario name size → "rps p50 p99 errors requests up_requests up_304
#   cpu_us_per_request access_log_lines"
run_scenario() {
  local port token="" n="$keys" etags="" extra="" cpu_pids=() log=""
  case "$1" in
    direct)    port=$fake_port; token=$upstream_token; cpu_pids=("$fake_pid") ;;
    direct304) port=$fake_port; token=$upstream_token; etags="$work/etags-$2"; cpu_pids=("$fake_pid") ;;
    nginx)     port=$nginx_port; cpu_pids=("$nginx_pid"); log="$work/nginx/access.log" ;;
    pass)      port=$proxy_memory_port; token=$client_token; extra="X-Requested-With: github-proxy-bench" ;;
    hot)       port=$proxy_memory_port; token=$client_token; n=1 ;;
    memory|redis|memory_base|redis_base|redis_tcp|redis_tls)
      local port_var="proxy_${1}_port"; port=${!port_var}; token=$client_token ;;
  esac
  case "$1" in
    pass|hot) cpu_pids=("${proxy_pid[memory]}"); log="$work/proxy-memory.log" ;;
    memory|redis|memory_base|redis_base|redis_tcp|redis_tls) cpu_pids=("${proxy_pid[$1]}"); log="$work/proxy-$1.log" ;;
  esac
  local c0 c1 out warm start t0 t1
  warm="$(wrk_run "$warmup" "$port" "$token" "$n" "$2" "$etags" "$extra")"
  # The measured run goes on where the warm-up stopped (see keys.lua).
  start=$(( $(awk '/requests in/ {print $1}' <<<"$warm") / threads ))
  [ -z "$log" ] || : > "$log"  # the access log lines of the measured run only
  c0="$(counters)"
  t0="$(cpu_ticks "${cpu_pids[@]}")"
  out="$(wrk_run "$duration" "$port" "$token" "$n" "$2" "$etags" "$extra" "$start")"
  t1="$(cpu_ticks "${cpu_pids[@]}")"
  c1="$(counters)"
  local rps p50 p99 requests non2xx errors lines="-"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  errors="$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' <<<"$out")"
  if [ -n "$log" ]; then sleep 0.1; lines="$(access_lines "$log")"; fi
  local r0 r1 s0 s1
  read -r r0 _ s0 <<<"$c0"
  read -r r1 _ s1 <<<"$c1"
  echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${errors:-0} )) $requests $((r1 - r0)) $((s1 - s0))" \
    "$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v req="$requests" 'BEGIN { printf "%.1f", (req > 0 ? t / hz * 1e6 / req : 0) }')" \
    "$lines"
}

# The rows, "scenario:size": the per-size scenarios size by size, then the
# pass-through and hot-URL rows (7 KB repository URLs).
has() { [[ " $scenarios " == *" $1 "* ]]; }
rows=()
for z in $sizes; do
  for s in $scenarios; do
    case "$s" in pass|hot) ;; *) rows+=("$s:$z") ;; esac
  done
done
has pass && rows+=("pass:7k")
has hot && rows+=("hot:7k")

# --- the run -------------------------------------------------------------------
started_load="$(uptime)"  # before this benchmark puts any load on the machine
for z in $sizes; do
  has memory && prefill "$proxy_memory_port" "$client_token" "$z"
  has redis && prefill "$proxy_redis_port" "$client_token" "$z"
  has redis_tcp && prefill "$proxy_redis_tcp_port" "$client_token" "$z"
  has redis_tls && prefill "$proxy_redis_tls_port" "$client_token" "$z"
  has memory_base && prefill "$proxy_memory_base_port" "$client_token" "$z"
  has redis_base && prefill "$proxy_redis_base_port" "$client_token" "$z"
  has nginx && prefill "$nginx_port" "" "$z"
done

echo "github-proxy benchmark: $keys distinct URLs cycled per body size, each a GET of"
for z in $sizes; do
  echo "  $(size_label "$z"): $(object_path "$z" "<k mod 100>")?k=<k> (${body_bytes[$z]} bytes of JSON)"
done
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "wrk -t$threads -c$connections, ${warmup} warm-up + ${duration} measured per scenario; fake GitHub 2 threads;"
echo "github-proxy $("$work/bin/github-proxy" --version 2>&1 | head -1 | awk '{print $NF}'), 2 threads, token + scope check, metrics, JSON access log to a file;"
echo "$(nginx -v 2>&1 | sed 's/.*version: //'), 2 workers, JSON access log to a file, entries stored expired (X-Accel-Expires: @1); redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/')"
[ -z "$baseline" ] || echo "BASELINE (rows c0, d0): $baseline"
echo "load average before the run (others' work only): ${started_load#*load average: }"
echo "(the load averages of each round include the benchmark's own 3-4 busy processes)"
echo "CPU µs/req: the server under test's user+system CPU time (nginx: master and workers; a, a': the fake) ÷ wrk's requests"
echo

for round in $(seq 1 "$rounds"); do
  load_before="$(uptime)"
  declare -A result=()
  for row in "${rows[@]}"; do result[$row]="$(run_scenario "${row%%:*}" "${row##*:}")"; done
  load_after="$(uptime)"
  echo "Round $round of $rounds — load average before: ${load_before#*load average: }; after: ${load_after#*load average: }"
  echo
  echo "| scenario | body | req/s | p50 ms | p99 ms | ÷ direct | ÷ nginx | ÷ memory | CPU µs/req | upstream req per client req | upstream 304s | errors |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  log_notes=()
  for row in "${rows[@]}"; do
    s="${row%%:*}"; z="${row##*:}"
    read -r rps p50 p99 errs requests up up304 cpu lines <<<"${result[$row]}"
    direct_rps="$(cut -d' ' -f1 <<<"${result[direct:$z]:-0}")"
    nginx_rps="$(cut -d' ' -f1 <<<"${result[nginx:$z]:-0}")"
    memory_rps="$(cut -d' ' -f1 <<<"${result[memory:$z]:-0}")"
    awk -v label="$(scenario_label "$s")" -v size="$(size_label "$z")" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
        -v d="$direct_rps" -v n="$nginx_rps" -v m="$memory_rps" -v cpu="$cpu" -v req="$requests" -v up="$up" \
        -v up304="$up304" -v errs="$errs" 'BEGIN {
      printf "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label, size, rps, p50, p99,
        (d > 0 ? sprintf("%.2f", rps / d) : "–"), (n > 0 ? sprintf("%.2f", rps / n) : "–"),
        (m > 0 ? sprintf("%.2f", rps / m) : "–"), cpu,
        (req > 0 ? sprintf("%.2f", up / req) : "–"), (up > 0 ? sprintf("%.1f%%", 100 * up304 / up) : "–"), errs }'
    if [ "$lines" != "-" ] && [ "$lines" -lt "$requests" ]; then
      log_notes+=("$(scenario_label "$s") $(size_label "$z"): only $lines access log lines for $requests requests")
    fi
  done
  echo
  for note in "${log_notes[@]}"; do echo "WARNING: $note"; done
  # Issue 13's goals, per size: memory ≥ 1.3× nginx with p99 ≤ nginx's;
  # Redis ≥ 0.9× memory.
  for z in $sizes; do
    if [ -z "${result[memory:$z]:-}" ] || [ -z "${result[nginx:$z]:-}" ]; then continue; fi
    awk -v size="$(size_label "$z")" -v m="${result[memory:$z]}" -v n="${result[nginx:$z]}" \
        -v r="${result[redis:$z]:-}" 'BEGIN {
      split(m, M, " "); split(n, N, " "); split(r, R, " ")
      ratio = M[1] / N[1]; ok1 = ratio >= 1.3; ok2 = M[3] + 0 <= N[3] + 0
      line = sprintf("verdict %s: memory %.2f× nginx (goal ≥ 1.30: %s), p99 %s ms vs nginx %s ms (goal ≤: %s)",
        size, ratio, ok1 ? "met" : "NOT met", M[3], N[3], ok2 ? "met" : "NOT met")
      ok = ok1 && ok2
      if (r != "") {
        rr = R[1] / M[1]; ok3 = rr >= 0.9; ok = ok && ok3
        line = line sprintf("; Redis %.2f× memory (goal ≥ 0.90: %s), p99 %s ms", rr, ok3 ? "met" : "NOT met", R[3])
      }
      print line " → " (ok ? "GOAL MET" : "goal not met") }'
  done
  # Issue 14: the Redis-backed hit path over TLS next to plain TCP.
  for z in $sizes; do
    if [ -z "${result[redis_tcp:$z]:-}" ] || [ -z "${result[redis_tls:$z]:-}" ]; then continue; fi
    awk -v size="$(size_label "$z")" -v t="${result[redis_tcp:$z]}" -v s="${result[redis_tls:$z]}" 'BEGIN {
      split(t, T, " "); split(s, S, " ")
      printf "Redis over TLS %s: %.2f× TCP req/s, p99 %s ms vs %s ms, CPU %s vs %s µs/req\n",
        size, S[1] / T[1], S[3], T[3], S[8], T[8] }'
  done
  echo
  unset result
done

# --- allocations per revalidated hit ---------------------------------------------
# A separate memory-backend proxy with bench/alloc_count.c preloaded: it
# counts every allocation call (malloc, calloc, realloc, the aligned ones;
# operator new goes through malloc) and writes the count on SIGUSR2. Per
# size: fill ALLOC_KEYS URLs, then count before and after ALLOC_DURATION of
# wrk (-t1 -c8) over them; the hits are the fake's upstream 304s between the
# two counts (exact: each hit is one revalidation). What the process did
# besides (8 connections accepted, timers) is in the count too, spread over
# thousands of hits.
alloc_count() {  # → the count, after asking the preloaded proxy for it
  local before
  before="$(wc -l < "$work/alloc.counts")"
  kill -USR2 "${proxy_pid[alloc]}"
  for _ in $(seq 1 200); do
    [ "$(wc -l < "$work/alloc.counts")" -gt "$before" ] && break
    sleep 0.01
  done
  tail -n 1 "$work/alloc.counts"
}
if [ "$allocs" = 1 ]; then
  if ! command -v cc >/dev/null || ! cc -O2 -shared -fPIC -o "$work/alloc_count.so" "$bench_dir/alloc_count.c"; then
    echo "allocations per hit: not measured (cc could not build bench/alloc_count.c)"
  else
    : > "$work/alloc.counts"
    start_proxy alloc "{ backend: memory, memory: { max_bytes: 1GiB }, front_tier_bytes: 1GiB }" "$work/bin/github-proxy" "$work/alloc_count.so"
    for z in $sizes; do
      (
        threads=1 connections=8
        prefill "$proxy_alloc_port" "$client_token" "$z" "$alloc_keys"
        sleep 0.3
        a0="$(alloc_count)"; c0="$(counters)"
        out="$(wrk_run "$alloc_duration" "$proxy_alloc_port" "$client_token" "$alloc_keys" "$z" "" "")"
        sleep 0.3
        a1="$(alloc_count)"; c1="$(counters)"
        read -r r0 _ s0 <<<"$c0"; read -r r1 _ s1 <<<"$c1"
        requests="$(awk '/requests in/ {print $1}' <<<"$out")"
        awk -v size="$(size_label "$z")" -v a=$((a1 - a0)) -v hits=$((s1 - s0)) -v up=$((r1 - r0)) -v req="$requests" 'BEGIN {
          printf "allocations per hit (%s, memory backend, revalidated): %.1f (%d allocation calls over %d hits; %d client requests, %d upstream requests)\n",
            size, (hits > 0 ? a / hits : 0), a, hits, req, up }'
      )
    done
    kill "${proxy_pid[alloc]}" 2>/dev/null || true
    wait "${proxy_pid[alloc]}" 2>/dev/null || true
    forget_pid "${proxy_pid[alloc]}"
  fi
  echo
fi
