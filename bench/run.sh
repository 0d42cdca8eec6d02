#!/usr/bin/env bash
# Drives the fake GitHub directly and through github-proxy with wrk, at a few
# concurrencies, and prints requests/s, p50 and p99 latency for both and
# their ratio — all from one run on one machine.
#
#   bench/run.sh [BUILD_DIR]        (make bench)
# Environment: DURATION (default 5s), CONCURRENCY (default "16 64 256"),
#              BENCH_PATH (default /repos/octo-org/repo-1, a ~6 KiB JSON body).
set -euo pipefail
build_dir="${1:-build}"
duration="${DURATION:-5s}"
concurrency="${CONCURRENCY:-16 64 256}"
path="${BENCH_PATH:-/repos/octo-org/repo-1}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

work="$(mktemp -d -t github-proxy-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_file() { for _ in $(seq 1 400); do [ -s "$1" ] && return 0; sleep 0.025; done; echo "timeout waiting for $1"; exit 1; }

"$build_dir/tests/fake_github/fake_github" --address 127.0.0.1 --port 0 --port-file "$work/fake.port" \
  --threads 2 --core-limit 1000000000 --quiet >/dev/null 2>&1 &
pids+=($!)
wait_file "$work/fake.port"
fake_port="$(cat "$work/fake.port")"

client_token="ghpx_bench_client_token"
cat > "$work/registry.yaml" <<YAML
version: 1
clients:
  - name: bench
    token_sha256: $(printf '%s' "$client_token" | sha256sum | cut -d' ' -f1)
YAML
cat > "$work/proxy.yaml" <<YAML
listen: { address: 127.0.0.1, port: 0, threads: 2 }
admin: { address: 127.0.0.1, port: 0 }
upstream: { url: "http://127.0.0.1:$fake_port", max_connections_per_host: 512 }
registry: { file: registry.yaml }
credentials:
  - { name: bench-pat, type: token, token_env: BENCH_UPSTREAM_TOKEN }
logging: { level: warn, format: json, access_log: false }
YAML
BENCH_UPSTREAM_TOKEN=upstream-bench-token "$build_dir/github-proxy" serve --config "$work/proxy.yaml" \
  --ready-file "$work/proxy.ready" >"$work/proxy.log" 2>&1 &
pids+=($!)
wait_file "$work/proxy.ready"
proxy_port="$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/proxy.ready")"

# wrk --latency prints "50%  1.23ms" lines; normalise to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}
run_wrk() {  # port token connections → "rps p50 p99 errors"
  local out
  out="$(wrk -t2 -c"$3" -d"$duration" --latency -H "Authorization: token $2" \
         -H "User-Agent: github-proxy-bench" -H "Accept: application/vnd.github+json" \
         "http://127.0.0.1:$1$path")"
  local rps p50 p99 non2xx errors
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  errors="$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' <<<"$out")"
  echo "$rps $p50 $p99 $(( ${non2xx:-0} + ${errors:-0} ))"
}

# Warm both (connections, caches of the fake's bodies).
run_wrk "$fake_port" upstream-bench-token 8 >/dev/null
run_wrk "$proxy_port" "$client_token" 8 >/dev/null

echo "github-proxy benchmark: GET $path (pass-through: every request goes upstream)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "wrk -t2, $duration per run; fake GitHub 2 threads; proxy 2 threads, access log off"
echo
printf "| connections | direct req/s | direct p50 ms | direct p99 ms | proxy req/s | proxy p50 ms | proxy p99 ms | proxy/direct req/s | errors |\n"
printf "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
for c in $concurrency; do
  read -r d_rps d_p50 d_p99 d_err <<<"$(run_wrk "$fake_port" upstream-bench-token "$c")"
  read -r p_rps p_p50 p_p99 p_err <<<"$(run_wrk "$proxy_port" "$client_token" "$c")"
  ratio="$(awk -v a="$p_rps" -v b="$d_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
  printf "| %s | %.0f | %s | %s | %.0f | %s | %s | %s | %s |\n" \
    "$c" "$d_rps" "$d_p50" "$d_p99" "$p_rps" "$p_p50" "$p_p99" "$ratio" "$((d_err + p_err))"
done
