#!/usr/bin/env bash
# Second quick-start command: install what is missing, build, run the whole test suite.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fetch-test-data.sh || echo "note: optional test data could not be fetched; the tests that need it will say so"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-sanitize
  # -O1 and line tables only: the sanitizers' reports keep file:line, the build is much cheaper.
  cmake -S . -B "$dir" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DCAUSALQWEN_SANITIZE=ON -DCAUSALQWEN_BUILD_TESTS=ON -DCAUSALQWEN_BUILD_EXAMPLES=ON -DCAUSALQWEN_BUILD_BENCHMARKS=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build
  cmake -S . -B "$dir" "${launcher[@]}" -DCMAKE_BUILD_TYPE=Release -DCAUSALQWEN_SANITIZE=OFF -DCAUSALQWEN_BUILD_TESTS=ON \
    -DCAUSALQWEN_BUILD_EXAMPLES=ON -DCAUSALQWEN_BUILD_BENCHMARKS=ON
fi
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"
