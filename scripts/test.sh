#!/usr/bin/env bash
# Second quick-start command: install what is missing, build, run the whole test suite.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-test-data.sh || echo "note: optional test data could not be fetched; the tests that need it will say so"
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-sanitize
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAUSALQWEN_SANITIZE=ON -DCAUSALQWEN_BUILD_TESTS=ON \
    -DCAUSALQWEN_BUILD_EXAMPLES=ON -DCAUSALQWEN_BUILD_BENCHMARKS=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCAUSALQWEN_SANITIZE=OFF -DCAUSALQWEN_BUILD_TESTS=ON \
    -DCAUSALQWEN_BUILD_EXAMPLES=ON -DCAUSALQWEN_BUILD_BENCHMARKS=ON
fi
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"
