#!/usr/bin/env bash
# Runs each libFuzzer target of tests/fuzz for the given time on a copy of its seed corpus
# (tests/fuzz/corpus is never written), with its dictionary and an input length large enough for
# real headers. Exits non-zero when any target reports a crash, leak, timeout, out-of-memory or
# sanitizer error; its input and log stay under <build>/runs/<name>/.
#   scripts/fuzz.sh [--build DIR] [seconds-per-target] [name...]
#     (default 60 s, every tests/fuzz/fuzz_<name>.cpp)
# Without --build it configures build-fuzz/ with Clang; with --build it uses a build that already
# has the targets (CAUSALQWEN_FUZZ=ON), such as the sanitizer build of scripts/test.sh --sanitize.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=
if [ "${1:-}" = "--build" ]; then
  dir=${2:?"--build needs a build directory"}
  shift 2
  [ -f "$dir/CMakeCache.txt" ] && grep -q '^CAUSALQWEN_FUZZ:BOOL=ON' "$dir/CMakeCache.txt" ||
    { echo "fuzz.sh: $dir is not a build configured with -DCAUSALQWEN_FUZZ=ON" >&2; exit 1; }
fi
seconds=${1:-60}
[ $# -gt 0 ] && shift
if [ -z "$dir" ]; then
  scripts/install-deps.sh --fuzz
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  dir=build-fuzz
  # -O1 keeps the sanitizers' reports readable.
  cmake -S . -B "$dir" "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCAUSALQWEN_FUZZ=ON -DCAUSALQWEN_NATIVE=OFF \
    -DCAUSALQWEN_BUILD_TESTS=OFF -DCAUSALQWEN_BUILD_EXAMPLES=OFF -DCAUSALQWEN_BUILD_BENCHMARKS=OFF >/dev/null
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for source in tests/fuzz/fuzz_*.cpp; do
    name=$(basename "$source" .cpp)
    names+=("${name#fuzz_}")
  done
fi
cmake --build "$dir" -j"$(nproc)" --target "${names[@]/#/fuzz_}"

# Headers of real files reach far past libFuzzer's 4 KB default (a 30 KB .npy shape list, a
# 144 KB GGUF seed); short inputs never reach the bugs that live there.
max_len_of() {
  case "$1" in
    gguf) echo 262144 ;;
    safetensors | head_checkpoint | knowledge_delta | checkpoint | npy | tokenizer_json) echo 131072 ;;
    *) echo 65536 ;;
  esac
}

# One target's run; its verdict goes to $dir/runs/<name>/verdict (FAILED on the first line when it failed).
fuzz_one() {
  local name=$1 run="$dir/runs/$1" max_len status=0 scratch executions
  rm -rf "$run"
  mkdir -p "$run/artifacts"
  cp -r "tests/fuzz/corpus/$name" "$run/corpus"
  max_len=$(max_len_of "$name")
  # The inputs the targets write for path-only loaders, in memory where /dev/shm exists.
  scratch=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/causalqwen-fuzz.XXXXXX")
  CAUSALQWEN_FUZZ_SCRATCH="$scratch" "$dir/tests/fuzz/fuzz_$name" "$run/corpus" -dict="tests/fuzz/dict/$name.dict" -max_len="$max_len" \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_total_time="$seconds" \
    -artifact_prefix="$run/artifacts/" -print_final_stats=1 >"$run/log" 2>&1 || status=$?
  rm -rf "$scratch"
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -1)
  if [ "$status" -ne 0 ] || grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$run/log"; then
    { echo "FAILED fuzz_$name: after ${executions:-?} executions (max_len $max_len); log and input in $run"
      grep -E "ERROR:|runtime error:|SUMMARY:|Test unit written" "$run/log" | head -5 || true; } >"$run/verdict"
  else
    echo "fuzz_$name: ${executions:-?} executions in ${seconds} s (max_len $max_len), no finding" >"$run/verdict"
  fi
}

# As many targets at once as there are cores: each run is one single-threaded process.
jobs=$(nproc)
for name in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$name" &
done
wait

failed=()
for name in "${names[@]}"; do
  cat "$dir/runs/$name/verdict"
  head -1 "$dir/runs/$name/verdict" | grep -q '^FAILED' && failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}"
  exit 1
fi
