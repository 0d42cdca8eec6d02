#!/usr/bin/env bash
# GitHub's secondary limits on a fleet-shaped workload (issue 17): a
# simulated CI fleet (bench/fleet.py: JOBS concurrent jobs looping over the
# GETs a CI job makes against a few hot repositories, a write now and then)
# through github-proxy, in front of the fake GitHub enforcing the secondary
# limits per token at scaled-down numbers. Each row is a fresh fake + proxy
# with the same workload and seed; the table shows the upstream requests per
# client request and the points each credential spent per minute (the
# fake's sliding window, sampled every second, next to the proxy's own
# count), and how many secondary-limit answers GitHub (the fake) gave. See
# bench/README.md "Issue 17".
#
#   bench/fleet.sh [BUILD_DIR]
# Environment (defaults in brackets):
#   DURATION [60] seconds of load per row (60: one full secondary-limit minute)
#   JOBS [24] concurrent CI jobs; REPOS [10] hot repositories octo-org/repo-1..N
#   POINTS [300] REST points a minute per token, the fake's
#     --secondary-rest-points and the proxy's rest_points_per_minute alike
#     (GitHub's is 900)
#   CREDENTIALS [2] upstream tokens in the proxy's pool
#   LOAD [3] offered points a minute, in multiples of POINTS (one credential's
#     limit); with a write (5 points) once in WRITE_EVERY [20] requests the
#     offered rate is LOAD × POINTS / 60 / 1.2 client requests a second
#   SEED [17] the jobs' random sequences (the same for every row)
#   ROWS ["fresh strict confirm off"] a subset, in that order:
#     fresh   cache.fresh_under_pressure on (the default)
#     strict  cache.fresh_under_pressure: false (always revalidate)
#     confirm cache.confirm_window: 1s (and fresh under pressure on)
#     off     pool.secondary_limits.rest_points_per_minute: 0 (the proxy does
#             not count points; the fake still enforces POINTS)
#   RESULTS: a file to copy the rows' raw results to (JSON lines: statuses,
#     the proxy's requests by cache label, points per token, the non-2xx
#     answers by status and message), kept after the temp dir is removed
set -euo pipefail
build_dir="${1:-build}"
duration="${DURATION:-60}"
jobs="${JOBS:-24}"
repos="${REPOS:-10}"
points="${POINTS:-300}"
ncred="${CREDENTIALS:-2}"
load="${LOAD:-3}"
write_every="${WRITE_EVERY:-20}"
seed="${SEED:-17}"
rows="${ROWS:-fresh strict confirm off}"
results="${RESULTS:-}"
bench_dir="$(cd "$(dirname "$0")" && pwd)"

for tool in python3 curl sha256sum; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed"; exit 1; }
done
for bin in "$build_dir/github-proxy" "$build_dir/tests/fake_github/fake_github"; do
  [ -x "$bin" ] || { echo "$bin is missing: build first (make build-all)"; exit 1; }
done
for r in $rows; do
  case "$r" in fresh|strict|confirm|off) ;; *) echo "ROWS: '$r' is not fresh, strict, confirm or off"; exit 1 ;; esac
done

work="$(mktemp -d -t github-proxy-fleet.XXXXXX)"
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

wait_file() {  # file pid: wait until the file has content, while pid lives
  for _ in $(seq 1 400); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { echo "process $2 ended before writing $1"; tail -n 20 "$work"/*.log 2>/dev/null; exit 1; }
    sleep 0.025
  done
  echo "timeout waiting for $1"; exit 1
}
stop() {  # pid: end it and stop tracking it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local alive=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || alive+=("$pid"); done
  pids=("${alive[@]}")
}

client_token="ghpx_fleet_client_token"
cat > "$work/registry.yaml" <<YAML
version: 1
clients:
  - name: fleet
    token_sha256: $(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)
YAML
tokens=() cred_yaml="" cred_env=()
for i in $(seq 1 "$ncred"); do
  tokens+=("fleet-upstream-token-$i")
  cred_yaml+="  - { name: fleet-$i, type: token, token_env: FLEET_UPSTREAM_TOKEN_$i }"$'\n'
  cred_env+=("FLEET_UPSTREAM_TOKEN_$i=fleet-upstream-token-$i")
done
token_list="$(IFS=,; echo "${tokens[*]}")"

label_of() {
  case "$1" in
    fresh)   echo "fresh_under_pressure on (default)" ;;
    strict)  echo "fresh_under_pressure off (strict revalidation)" ;;
    confirm) echo "confirm_window 1s" ;;
    off)     echo "secondary limits off in the proxy" ;;
  esac
}
cache_yaml_of() {
  case "$1" in
    strict)  echo "{ backend: memory, fresh_under_pressure: false }" ;;
    confirm) echo "{ backend: memory, confirm_window: 1s }" ;;
    *)       echo "{ backend: memory }" ;;
  esac
}
proxy_points_of() { case "$1" in off) echo 0 ;; *) echo "$points" ;; esac; }

# Offered client requests a second: LOAD × POINTS points a minute, at
# (WRITE_EVERY - 1 + 5) / WRITE_EVERY points a request.
rate="$(awk -v l="$load" -v p="$points" -v w="$write_every" 'BEGIN { printf "%.3f", l * p / 60 / ((w - 1 + 5) / w) }')"

run_row() {  # row
  local row="$1" dir="$work/$1"
  mkdir -p "$dir"
  # A fresh fake: the secondary limits at POINTS (content creation at
  # GitHub's 80 a minute, 500 an hour), a primary limit out of the way.
  "$work/bin/fake_github" --address 127.0.0.1 --port 0 --port-file "$dir/fake.port" \
    --core-limit 100000000 --secondary-rest-points "$points" --quiet >"$dir/fake.log" 2>&1 &
  local fake_pid=$!
  pids+=("$fake_pid")
  wait_file "$dir/fake.port" "$fake_pid"
  local fake="http://127.0.0.1:$(cat "$dir/fake.port")"

  cat > "$dir/proxy.yaml" <<YAML
listen: { address: 127.0.0.1, port: 0, threads: 2 }
admin: { address: 127.0.0.1, port: 0 }
upstream: { url: "$fake" }
registry: { file: $work/registry.yaml }
cache: $(cache_yaml_of "$row")
pool: { secondary_limits: { rest_points_per_minute: $(proxy_points_of "$row") } }
credentials:
$cred_yaml
logging: { level: warn, format: json }
YAML
  env "${cred_env[@]}" "$work/bin/github-proxy" serve --config "$dir/proxy.yaml" \
    --ready-file "$dir/proxy.ready" >"$dir/proxy.log" 2>&1 &
  local proxy_pid=$!
  pids+=("$proxy_pid")
  wait_file "$dir/proxy.ready" "$proxy_pid"
  local port admin_port
  port="$(sed -E 's/.*"port":([0-9]+).*/\1/' "$dir/proxy.ready")"
  admin_port="$(sed -E 's/.*"admin_port":([0-9]+).*/\1/' "$dir/proxy.ready")"

  python3 "$bench_dir/fleet.py" run --label "$(label_of "$row")" --out "$work/results.jsonl" \
    --proxy "http://127.0.0.1:$port" --admin "http://127.0.0.1:$admin_port" --fake "$fake" \
    --client-token "$client_token" --tokens "$token_list" --jobs "$jobs" --duration "$duration" \
    --rate "$rate" --repos "$repos" --write-every "$write_every" --seed "$seed"

  stop "$proxy_pid"
  stop "$fake_pid"
  if grep -q -i -E '"level":"(error|critical)"' "$dir/proxy.log"; then
    echo "  (proxy errors logged in this row:)" >&2
    grep -i -E '"level":"(error|critical)"' "$dir/proxy.log" | sort | uniq -c | sort -rn | head -5 >&2
  fi
}

started_load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "running: $(for r in $rows; do printf '%s; ' "$(label_of "$r")"; done)${duration} s each" >&2
for r in $rows; do run_row "$r"; done

echo
echo "github-proxy fleet benchmark (issue 17): $jobs CI jobs for ${duration} s per row, octo-org/repo-1..$repos,"
echo "GET repo, pulls, pulls/{1-5}, 2 contents files, commits/{1 of 3}, issues; POST issues once in $write_every requests;"
echo "offered $rate requests/s (≈ $load × one credential's $points points a minute); $ncred credentials, memory cache;"
echo "fake and proxy at $points REST points a minute per token (the proxy spends its 90 % share: $(( points * 9 / 10 ))), content creation 80/min, 500/h; seed $seed"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(uname -sr); github-proxy $("$work/bin/github-proxy" --version 2>&1 | head -1 | awk '{print $NF}'); load average before: $started_load"
echo
python3 "$bench_dir/fleet.py" table "$work/results.jsonl"
[ -z "$results" ] || cp "$work/results.jsonl" "$results"
