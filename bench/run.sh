#!/usr/bin/env bash
# github-proxy benchmark (make bench): from one run on one machine, wrk
# against
#   - the fake GitHub directly (full 200s, and conditional GETs → 304s),
#   - github-proxy pass-through (a GET the cache bypasses),
#   - github-proxy cache hits (every one revalidated upstream → 304) with the
#     memory and the Redis backend,
#   - nginx proxy_cache with proxy_cache_revalidate in front of the same fake,
#   - github-proxy with one hot URL (concurrent requests coalesced),
# printing requests/s, p50, p99, the ratios to the direct figure and to
# nginx, and, from the fake's counters, how many upstream requests each
# client request caused and how many of those were 304s (the check that the
# hits really were revalidated). See bench/README.md.
#
#   bench/run.sh [BUILD_DIR]
# Environment (defaults in brackets):
#   DURATION [10s] measured run per scenario, after WARMUP [2s]
#   CONNECTIONS [32], THREADS [2] (wrk -t/-c, the same for every scenario)
#   KEYS [50000] distinct URLs cycled through (see bench/keys.lua)
#   ROUNDS [2] times the whole list of scenarios is run (to show variance)
#   MAX_LOAD [1.5], LOAD_WAIT [180]: wait up to LOAD_WAIT s for the 1-minute
#     load average to drop below MAX_LOAD before starting
#   SCENARIOS: a subset of "direct direct304 pass memory redis nginx hot"
#   BASELINE: another github-proxy binary (say, the previous commit's build)
#     whose cache-hit rows (memory_base, redis_base) are measured in the same
#     run, next to this build's: how a change is shown not to regress
set -euo pipefail
build_dir="${1:-build}"
duration="${DURATION:-10s}"
warmup="${WARMUP:-2s}"
connections="${CONNECTIONS:-32}"
threads="${THREADS:-2}"
keys="${KEYS:-50000}"
rounds="${ROUNDS:-2}"
max_load="${MAX_LOAD:-1.5}"
load_wait="${LOAD_WAIT:-180}"
scenarios="${SCENARIOS:-direct direct304 pass memory redis nginx hot}"
baseline="${BASELINE:-}"
if [ -n "$baseline" ]; then
  [ -x "$baseline" ] || { echo "BASELINE=$baseline is not an executable"; exit 1; }
  [ -n "${SCENARIOS:-}" ] || scenarios="direct direct304 pass memory memory_base redis redis_base nginx hot"
fi
bench_dir="$(cd "$(dirname "$0")" && pwd)"

for tool in wrk nginx redis-server curl; do
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

# --- wait for a quiet machine --------------------------------------------------
waited=0
while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l >= m) }' && [ "$waited" -lt "$load_wait" ]; do
  [ "$waited" -eq 0 ] && echo "load average $(load1) >= $max_load: waiting up to ${load_wait}s for a quieter machine..." >&2
  sleep 10; waited=$((waited + 10))
done

# --- the fake GitHub -----------------------------------------------------------
upstream_token="upstream-bench-token"
"$work/bin/fake_github" --address 127.0.0.1 --port 0 --port-file "$work/fake.port" \
  --core-limit 100000000 --quiet >/dev/null 2>&1 &
pids+=($!)
wait_file "$work/fake.port"
fake_port="$(cat "$work/fake.port")"
fake="http://127.0.0.1:$fake_port"

# "requests status_200 status_304" of every token together.
counters() {
  curl -s "$fake/_fake/counters" |
    sed -E 's/.*"total":\{"requests":([0-9]+),"status_200":([0-9]+),"status_304":([0-9]+).*/\1 \2 \3/'
}

# --- Redis ---------------------------------------------------------------------
redis_port="$(free_port)"
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$work/redis" --logfile "$work/redis/redis.log" --daemonize no >/dev/null 2>&1 &
pids+=($!)
wait_port "$redis_port"

# --- github-proxy, one per backend -----------------------------------------------
client_token="ghpx_bench_client_token"
cat > "$work/registry.yaml" <<YAML
version: 1
clients:
  - name: bench
    token_sha256: $(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)
YAML
start_proxy() {  # name cache-yaml [binary] → sets proxy_${name}_port
  local name="$1" binary="${3:-$work/bin/github-proxy}"
  cat > "$work/proxy-$name.yaml" <<YAML
listen: { address: 127.0.0.1, port: 0, threads: 2 }
admin: { address: 127.0.0.1, port: 0 }
upstream: { url: "$fake", max_connections_per_host: 512 }
registry: { file: registry.yaml }
cache: $2
credentials:
  - { name: bench-pat, type: token, token_env: BENCH_UPSTREAM_TOKEN }
logging: { level: warn, format: json, access_log: false }
YAML
  BENCH_UPSTREAM_TOKEN="$upstream_token" "$binary" serve --config "$work/proxy-$name.yaml" \
    --ready-file "$work/proxy-$name.ready" >"$work/proxy-$name.log" 2>&1 &
  pids+=($!)
  wait_file "$work/proxy-$name.ready"
  printf -v "proxy_${name}_port" '%s' "$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/proxy-$name.ready")"
}
start_proxy memory "{ backend: memory, memory: { max_bytes: 2GiB } }"
start_proxy redis "{ backend: redis, redis: { url: \"redis://127.0.0.1:$redis_port/0\" } }"
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
pids+=($!)
wait_port "$nginx_port"

# --- checks: each server answers the way its row claims --------------------------
ua="User-Agent: github-proxy-bench"
accept="Accept: application/vnd.github+json"
header_of() {  # url name [curl args...]: the value of response header `name`
  local url="$1" name="$2"; shift 2
  curl -s -o /dev/null -D - -H "$ua" -H "$accept" "$@" "$url" |
    awk -v n="$(tr 'A-Z' 'a-z' <<<"$name")" -F': ' 'tolower($1) == n { sub(/\r$/, "", $2); print $2 }'
}
expect() {  # what got wanted
  [[ "$2" == *"$3"* ]] || { echo "check failed: $1: got '$2', want '$3'"; exit 1; }
}
check_url="/repos/octo-org/repo-1?k=check"
for name in memory redis ${baseline:+memory_base redis_base}; do
  port_var="proxy_${name}_port"; p="http://127.0.0.1:${!port_var}"
  header_of "$p$check_url" Cache-Status -H "Authorization: token $client_token" >/dev/null
  expect "proxy ($name) repeated GET" "$(header_of "$p$check_url" Cache-Status -H "Authorization: token $client_token")" \
    "hit; detail=revalidated"
done
expect "proxy pass-through" "$(header_of "http://127.0.0.1:$proxy_memory_port$check_url" Cache-Status \
  -H "Authorization: token $client_token" -H "X-Requested-With: bench")" "fwd=bypass"
expect "nginx first GET" "$(header_of "http://127.0.0.1:$nginx_port$check_url" X-Cache-Status)" "MISS"
sleep 2.2  # past the 1 s validity
expect "nginx GET after 2 s" "$(header_of "http://127.0.0.1:$nginx_port$check_url" X-Cache-Status)" "REVALIDATED"

# The ETag the fake gives each repo for these request headers (for the
# direct conditional row).
for i in $(seq 0 99); do
  echo "$i $(header_of "$fake/repos/octo-org/repo-$i" ETag -H "Authorization: token $upstream_token")"
done > "$work/etags"

# --- wrk -----------------------------------------------------------------------
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "%s", v }'
}
# wrk_run duration port token nkeys etags extra-headers [start] → wrk's output
wrk_run() {
  local auth=()
  [ -n "$3" ] && auth=(-H "Authorization: token $3")
  # `exec`: run in a subshell, the subshell becomes wrk (its $! is wrk's pid).
  exec env BENCH_KEYS="$4" BENCH_THREADS="$threads" BENCH_ETAGS="$5" BENCH_HEADERS="$6" BENCH_START="${7:-0}" \
    wrk -t"$threads" -c"$connections" -d"$1" --latency -s "$bench_dir/keys.lua" \
      "${auth[@]}" -H "$ua" -H "$accept" "http://127.0.0.1:$2/"
}

# Fill a cache with every URL once (each miss is one upstream 200), so that
# the measured runs only see revalidations.
prefill() {  # port token
  local before after start=$SECONDS
  read -r _ before _ <<<"$(counters)"
  (wrk_run 600s "$1" "$2" "$keys" "" "") >/dev/null &
  local wrk_pid=$!
  pids+=("$wrk_pid")
  while :; do
    read -r _ after _ <<<"$(counters)"
    [ $((after - before)) -ge "$keys" ] && break
    [ $((SECONDS - start)) -gt 590 ] && { echo "prefill of port $1 did not finish" >&2; break; }
    sleep 0.2
  done
  # wrk's SIGINT only ends the run when the main thread gets it; its
  # report is not needed here.
  kill "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" 2>/dev/null || true
  local alive=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$wrk_pid" ] || alive+=("$pid"); done
  pids=("${alive[@]}")
}

scenario_label() {
  case "$1" in
    direct)    echo "a) fake GitHub direct, 200 (baseline)" ;;
    direct304) echo "a') fake GitHub direct, conditional GET → 304" ;;
    pass)      echo "b) proxy pass-through (cache bypassed)" ;;
    memory)    echo "c) proxy hit, memory backend (upstream 304)" ;;
    redis)     echo "d) proxy hit, Redis backend (upstream 304)" ;;
    nginx)     echo "e) nginx proxy_cache_revalidate (upstream 304)" ;;
    hot)       echo "f) proxy hit, memory, one hot URL (coalesced)" ;;
    memory_base) echo "c0) BASELINE build: proxy hit, memory backend" ;;
    redis_base)  echo "d0) BASELINE build: proxy hit, Redis backend" ;;
  esac
}
run_scenario() {  # name → "rps p50 p99 errors requests up_requests up_304"
  local port token="" n="$keys" etags="" extra=""
  case "$1" in
    direct)    port=$fake_port; token=$upstream_token ;;
    direct304) port=$fake_port; token=$upstream_token; etags="$work/etags" ;;
    pass)      port=$proxy_memory_port; token=$client_token; extra="X-Requested-With: github-proxy-bench" ;;
    memory)    port=$proxy_memory_port; token=$client_token ;;
    redis)     port=$proxy_redis_port; token=$client_token ;;
    nginx)     port=$nginx_port ;;
    hot)       port=$proxy_memory_port; token=$client_token; n=1 ;;
    memory_base) port=$proxy_memory_base_port; token=$client_token ;;
    redis_base)  port=$proxy_redis_base_port; token=$client_token ;;
  esac
  local c0 c1 out warm start
  warm="$(wrk_run "$warmup" "$port" "$token" "$n" "$etags" "$extra")"
  # The measured run goes on where the warm-up stopped (see keys.lua).
  start=$(( $(awk '/requests in/ {print $1}' <<<"$warm") / threads ))
  c0="$(counters)"
  out="$(wrk_run "$duration" "$port" "$token" "$n" "$etags" "$extra" "$start")"
  c1="$(counters)"
  local rps p50 p99 requests non2xx errors
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  errors="$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' <<<"$out")"
  local r0 r1 s0 s1
  read -r r0 _ s0 <<<"$c0"
  read -r r1 _ s1 <<<"$c1"
  echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${errors:-0} )) $requests $((r1 - r0)) $((s1 - s0))"
}

# --- the run -------------------------------------------------------------------
has() { [[ " $scenarios " == *" $1 "* ]]; }
started_load="$(uptime)"  # before this benchmark puts any load on the machine
has memory && prefill "$proxy_memory_port" "$client_token"
has redis && prefill "$proxy_redis_port" "$client_token"
has memory_base && prefill "$proxy_memory_base_port" "$client_token"
has redis_base && prefill "$proxy_redis_base_port" "$client_token"
has nginx && prefill "$nginx_port" ""

echo "github-proxy benchmark: GET /repos/octo-org/repo-<k mod 100>?k=<k>, $keys distinct URLs cycled (~6.8 KB JSON body)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "wrk -t$threads -c$connections, ${warmup} warm-up + ${duration} measured per scenario; fake GitHub 2 threads;"
echo "github-proxy $("$work/bin/github-proxy" --version 2>&1 | head -1 | awk '{print $NF}'), 2 threads, access log off; $(nginx -v 2>&1 | sed 's/.*version: //'), 2 workers, access log off; redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/')"
[ -z "$baseline" ] || echo "BASELINE (rows c0, d0): $baseline"
echo "load average before the run (others' work only): ${started_load#*load average: }"
echo "(the load averages of each round include the benchmark's own 3-4 busy processes)"
echo

for round in $(seq 1 "$rounds"); do
  load_before="$(uptime)"
  declare -A result=()
  for s in $scenarios; do result[$s]="$(run_scenario "$s")"; done
  load_after="$(uptime)"
  direct_rps="$(cut -d' ' -f1 <<<"${result[direct]:-0}")"
  nginx_rps="$(cut -d' ' -f1 <<<"${result[nginx]:-0}")"
  echo "Round $round of $rounds — load average before: ${load_before#*load average: }; after: ${load_after#*load average: }"
  echo
  echo "| scenario | req/s | p50 ms | p99 ms | ÷ direct | ÷ nginx | upstream req per client req | upstream 304s | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for s in $scenarios; do
    read -r rps p50 p99 errs requests up up304 <<<"${result[$s]}"
    awk -v label="$(scenario_label "$s")" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v d="$direct_rps" \
        -v n="$nginx_rps" -v req="$requests" -v up="$up" -v up304="$up304" -v errs="$errs" 'BEGIN {
      printf "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", label, rps, p50, p99,
        (d > 0 ? sprintf("%.2f", rps / d) : "–"), (n > 0 ? sprintf("%.2f", rps / n) : "–"),
        (req > 0 ? sprintf("%.2f", up / req) : "–"), (up > 0 ? sprintf("%.1f%%", 100 * up304 / up) : "–"), errs }'
  done
  echo
  unset result
done
