#!/usr/bin/env bash
# Each subcommand on input it must refuse: exit code 1 (not a signal, not a hang), one stderr
# line that names the bad file or option.
#
#   bad_command_inputs.sh <causalqwen> <tests/data>
set -u
causalqwen=$1
data=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf 'step,loss\n1,2.5\n2,oops\n' > "$scratch/bad.csv"
printf 'step,loss\n1,2.5,3\n' > "$scratch/ragged.csv"
printf 'position,exact_kl\n0,0.1\n' > "$scratch/fusion_without_bound.csv"
printf '\xff\xfe not UTF-8\n' > "$scratch/invalid_utf8.txt"
printf 'nothing to see\n' > "$scratch/not_a_delta.safetensors"
printf '{"prompt": "a", "value": "x"}\n' > "$scratch/bad_prompts.jsonl"
mkdir -p "$scratch/no_model"

failures=0 cases=0
expect() {  # expected-text args...
  local expected=$1; shift
  cases=$((cases + 1))
  timeout -s KILL 60 "$causalqwen" "$@" > "$scratch/out" 2> "$scratch/err" < /dev/null
  local rc=$? problem=""
  if [ "$rc" -ge 128 ]; then problem="killed by signal $((rc - 128))"
  elif [ "$rc" != 1 ]; then problem="exit code $rc, expected 1"
  elif ! grep -qF -- "$expected" "$scratch/err"; then problem="stderr does not say '$expected'"
  elif [ "$(wc -l < "$scratch/err")" != 1 ]; then problem="stderr is not one line"
  fi
  if [ -n "$problem" ]; then
    echo "FAIL causalqwen $*: $problem: $(head -c 400 "$scratch/err")"
    failures=$((failures + 1))
  fi
}

expect "A subcommand is required"
expect "subcommand" frobnicate
expect "$scratch/missing.txt" eval --data "$scratch/missing.txt"
expect "$scratch/invalid_utf8.txt" eval --data "$scratch/invalid_utf8.txt"
expect "$scratch/bad_prompts.jsonl" eval --prompts "$scratch/bad_prompts.jsonl"
expect "give --prompts" eval
expect "$scratch/no_model" generate --model "$scratch/no_model" --prompt hi
expect "--level" generate --prompt hi --level 1.5
expect "$data/qwen2" fuse --model "$data/qwen2" --delta x --out "$scratch/fused"
expect "$scratch/not_a_delta.safetensors" verify --delta "$scratch/not_a_delta.safetensors" --data "$data/tokenizer/tiny_input.txt"
expect "--eps" adapt --data "$data/tokenizer/tiny_input.txt" --out "$scratch/d.safetensors" --eps -1
expect "$scratch/missing.txt" adapt --data "$scratch/missing.txt" --out "$scratch/d.safetensors"
expect "$data/qwen2" init --model "$data/qwen2" --out "$scratch/init"
expect "$scratch/bad.csv" plot --log "$scratch/bad.csv" --out "$scratch/p.svg"
expect "$scratch/ragged.csv" plot --log "$scratch/ragged.csv" --out "$scratch/p.svg"
expect "no column" plot --fusion "$scratch/fusion_without_bound.csv" --out "$scratch/p.svg"
expect "scale > 0" plot --density 1,-2 --out "$scratch/p.svg"
expect "say what to draw" plot --out "$scratch/p.svg"
expect "--calibration needs --prompts" plot --calibration --out "$scratch/p.svg"
expect "$scratch/missing.txt" train --data "$scratch/missing.txt" --out "$scratch/trained" --model "$data/../../models/causalqwen-mini"
expect "alpha" verify --delta "$scratch/not_a_delta.safetensors" --alpha 1,x --data "$data/tokenizer/tiny_input.txt"

echo "$cases bad command lines, $failures failures"
[ "$failures" = 0 ]
