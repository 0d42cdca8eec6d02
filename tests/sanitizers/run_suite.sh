#!/usr/bin/env bash
# Runs ctest in a sanitizer build directory (docs/testing.md). Every process
# the tests start (the test binaries, the daemon, the fake GitHub) inherits
# the options below and writes its reports under <build>/sanitizer-reports;
# the suite fails when any report was written, even by a daemon whose test
# passed or killed it afterwards, and prints them.
#
#   tests/sanitizers/run_suite.sh <build-dir> [ctest arguments...]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
reports="$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"

export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_odr_violation=2"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1:suppressions=$here/ubsan.supp"
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tsan.supp"

status=0
(cd "$build" && ctest --output-on-failure "$@") || status=$?

shopt -s nullglob
found=("$reports"/*)
if ((${#found[@]})); then
  for report in "${found[@]}"; do
    echo "==== $(basename "$report")"
    cat "$report"
  done
  echo "sanitizers: ${#found[@]} report(s) in $reports" >&2
  status=1
fi
exit "$status"
