#!/usr/bin/env bash
# Runs the programs on every case of the bad-input corpus (tests/data/bad/MANIFEST) and checks
# that each one fails the way docs/reliability.md promises: exit code 1 (not a signal, not a
# hang), a stderr line naming the bad file, within a few seconds and a bounded address space.
#
#   run_bad_inputs.sh <folder of qwen_forward, tokenize, fusion_verify> <corpus folder>
#
# CAUSALQWEN_BAD_INPUT_MEMORY_KB bounds the address space (ulimit -v; default 4 GiB); 0 turns the
# bound off (sanitizer builds reserve terabytes of shadow address space).
set -u
bin=$1
corpus=$2
memory_kb=${CAUSALQWEN_BAD_INPUT_MEMORY_KB:-4194304}
seconds=10
good=$corpus/good
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

command_for() {  # kind path -> the program's argument list, one per line
  case $1 in
    model) printf '%s\n' "$bin/qwen_forward" --model "$2" --tokens 1,2 ;;
    tokenizer) printf '%s\n' "$bin/tokenize" --tokenizer "$2" --input "$good/hello.txt" ;;
    text) printf '%s\n' "$bin/tokenize" --tokenizer "$good/tokenizer.json" --input "$2" ;;
    head) printf '%s\n' "$bin/fusion_verify" --head "$2" --delta "$good/delta.safetensors" --features "$good/features.npy" ;;
    delta) printf '%s\n' "$bin/fusion_verify" --head "$good/head.safetensors" --delta "$2" --features "$good/features.npy" ;;
    features) printf '%s\n' "$bin/fusion_verify" --head "$good/head.safetensors" --delta "$good/delta.safetensors" --features "$2" ;;
    *) echo "unknown kind '$1'" >&2; return 1 ;;
  esac
}

run() {  # kind path -> sets rc, took (seconds), writes $scratch/err
  local -a argv
  mapfile -t argv < <(command_for "$1" "$2")
  local start=$(date +%s.%N)
  (
    if [ "$memory_kb" != 0 ]; then ulimit -v "$memory_kb"; fi
    exec timeout -s KILL "$((seconds * 3))" "${argv[@]}"
  ) > "$scratch/out" 2> "$scratch/err" < /dev/null
  rc=$?
  took=$(echo "$(date +%s.%N) - $start" | bc)
}

failures=0
# The good inputs work, so each failure below is the bad file's doing.
for kind in model tokenizer head; do
  case $kind in
    model) path=$good/model ;;
    tokenizer) path=$good/tokenizer.json ;;
    head) path=$good/head.safetensors ;;
  esac
  run "$kind" "$path"
  if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
    echo "FAIL good $kind input: exit $rc: $(head -c 300 "$scratch/err")"
    failures=$((failures + 1))
  fi
done

cases=0
while read -r kind rel; do
  [ -z "$kind" ] && continue
  cases=$((cases + 1))
  path=$corpus/$rel
  run "$kind" "$path"
  problem=""
  if [ "$rc" -ge 128 ]; then problem="killed by signal $((rc - 128))"
  elif [ "$rc" != 1 ]; then problem="exit code $rc, expected 1"
  elif ! grep -qF -- "$path" "$scratch/err"; then problem="stderr does not name the file"
  elif [ "$(wc -l < "$scratch/err")" != 1 ]; then problem="stderr is not one line"
  elif [ "$(echo "$took > $seconds" | bc)" = 1 ]; then problem="took ${took} s"
  fi
  if [ -n "$problem" ]; then
    echo "FAIL $kind $rel: $problem: $(head -c 400 "$scratch/err")"
    failures=$((failures + 1))
  fi
done < "$corpus/MANIFEST"

echo "$cases bad inputs, $failures failures"
[ "$cases" -ge 60 ] && [ "$failures" = 0 ]
