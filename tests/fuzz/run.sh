#!/usr/bin/env bash
# Runs the libFuzzer targets of a GHP_FUZZ=ON build (README.md here).
#
#   tests/fuzz/run.sh <build-dir> regression
#       every target over its committed corpus, each input once, then about
#       FUZZ_REGRESSION_SECONDS (default 12) of new runs per target from a
#       copy of the corpus; the repository is never written.
#   tests/fuzz/run.sh <build-dir> explore <seconds>
#       each target for <seconds> of new runs; new inputs are kept in a
#       temporary corpus whose path is printed (merge them with -merge=1,
#       see README.md).
#
# Exits non-zero when any target crashes, leaks, hits undefined behaviour,
# times out on one input or exceeds its memory limit, after printing the
# reproducer's path and the end of that target's log.
set -uo pipefail

usage() {
  echo "usage: $0 <build-dir> regression | explore <seconds>" >&2
  exit 2
}
(($# >= 2)) || usage
build=$(cd "$1" && pwd) || usage
mode=$2
case "$mode" in
  regression) seconds=${FUZZ_REGRESSION_SECONDS:-12} ;;
  explore) (($# == 3)) || usage; seconds=$3 ;;
  *) usage ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
sanitizers=$(cd "$here/../sanitizers" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ghp-fuzz.XXXXXX")

export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:detect_odr_violation=2"
export LSAN_OPTIONS="suppressions=$sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$sanitizers/ubsan.supp"

# Largest input per target: what the code under test sees in practice, with
# room to cross its limits (the session's heads are limited to 8 KiB there).
max_len() {
  case "$1" in
    path_scope) echo 4096 ;;
    redis_reply) echo 8192 ;;
    session) echo 65536 ;;
    *) echo 16384 ;;
  esac
}

shopt -s nullglob
binaries=("$build"/tests/fuzz/*_fuzzer)
if ((${#binaries[@]} == 0)); then
  echo "no fuzzers in $build/tests/fuzz (build the 'fuzzers' target of a GHP_FUZZ=ON build)" >&2
  exit 2
fi

failed=()
for binary in "${binaries[@]}"; do
  target=$(basename "$binary" _fuzzer)
  seeds="$here/corpus/$target"
  log="$work/$target.log"
  artifacts="$work/artifacts/$target"
  mkdir -p "$artifacts" "$work/corpus"
  options=(-max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2560 -artifact_prefix="$artifacts/"
           -print_final_stats=1)
  [[ -f "$here/dict/$target.dict" ]] && options+=(-dict="$here/dict/$target.dict")

  status=0
  started=$SECONDS
  if [[ "$mode" == regression ]]; then
    # Each committed input once, by name, so a failure names its file.
    inputs=("$seeds"/*)
    if ((${#inputs[@]})); then
      "$binary" "${options[@]}" "${inputs[@]}" >"$log" 2>&1 || status=$?
    fi
  fi
  if ((status == 0)); then
    corpus="$work/corpus/$target"
    mkdir -p "$corpus"
    [[ -d "$seeds" ]] && cp -r "$seeds/." "$corpus/"
    "$binary" "${options[@]}" -max_total_time="$seconds" "$corpus" >>"$log" 2>&1 || status=$?
  fi

  if ((status == 0)); then
    echo "fuzz: $target ok ($((SECONDS - started)) s, $(grep -ho 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$') runs)"
  else
    failed+=("$target")
    echo "==== fuzz: $target FAILED (exit $status); log $log"
    tail -n 60 "$log"
    for reproducer in "$artifacts"/*; do
      echo "fuzz: $target reproducer: $reproducer"
    done
    grep -h "Test unit written to\|^Running: " "$log" | tail -n 3
  fi
done

if [[ "$mode" == explore ]]; then
  echo "fuzz: new inputs are in $work/corpus/<target>; merge one with"
  echo "  $build/tests/fuzz/<target>_fuzzer -merge=1 $here/corpus/<target> $work/corpus/<target>"
fi
if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (logs and reproducers in $work)" >&2
  exit 1
fi
[[ "$mode" == regression ]] && rm -rf "$work"
exit 0
