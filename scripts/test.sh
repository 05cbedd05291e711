#!/usr/bin/env bash
# Second quick-start command: install what is missing, build, run the whole test suite.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build (Clang) in build-sanitize/,
#                               with the libFuzzer targets of tests/fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=false
[ "${1:-}" = "--sanitize" ] && sanitize=true
if $sanitize; then scripts/install-deps.sh --fuzz; else scripts/install-deps.sh --tests; fi
scripts/fetch-test-data.sh || echo "note: optional test data could not be fetched; the tests that need it will say so"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if $sanitize; then
  dir=build-sanitize
  # Clang: a second compiler over the same code, and a third cheaper than GCC to build with the
  # sanitizers; the libFuzzer targets come in the same build (scripts/fuzz.sh --build
  # build-sanitize). -O1 and line tables only: the reports keep file:line, the build is much cheaper.
  # The example programs and the causalqwen command are thin command lines over the library entry
  # points the suite runs here (tests/reliability drives them on the bad-input corpus); they run
  # in the Release build.
  cmake -S . -B "$dir" "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCAUSALQWEN_SANITIZE=ON -DCAUSALQWEN_FUZZ=ON \
    -DCAUSALQWEN_BUILD_TESTS=ON -DCAUSALQWEN_BUILD_EXAMPLES=OFF -DCAUSALQWEN_BUILD_COMMAND=OFF \
    -DCAUSALQWEN_BUILD_BENCHMARKS=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build
  cmake -S . -B "$dir" "${launcher[@]}" -DCMAKE_BUILD_TYPE=Release -DCAUSALQWEN_SANITIZE=OFF -DCAUSALQWEN_BUILD_TESTS=ON \
    -DCAUSALQWEN_BUILD_EXAMPLES=ON -DCAUSALQWEN_BUILD_BENCHMARKS=ON -DCAUSALQWEN_PYTHON=ON
fi
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"
