#!/usr/bin/env bash
# Reproduces the embedded default model models/causalqwen-mini from Debian packages alone:
# corpus (scripts/build_corpus.py) -> byte-level BPE vocabulary -> a fresh small Qwen2 trained end
# to end by causal_train -> bf16 model directory -> evaluation on the held-out numeric prompts.
#   scripts/train-default-model.sh [OUT_DIR]      (default models/causalqwen-mini)
# STEPS, THREADS and WORK (scratch directory) may be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models/causalqwen-mini}
work=${WORK:-build/default-model}
steps=${STEPS:-1600}
threads=${THREADS:-$(nproc)}
scripts/install-deps.sh --corpus
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target bpe_vocabulary causal_train causal_eval
mkdir -p "$work"
/usr/bin/python3 scripts/build_corpus.py --out "$work/corpus"
build/examples/bpe_vocabulary --data "$work/corpus/train.jsonl" --merges 4000 --out "$work/tokenizer.json"
/usr/bin/python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
tokenizer = json.load(open(f"{work}/tokenizer.json"))
ids = len(tokenizer["model"]["vocab"]) + len(tokenizer["added_tokens"])
config = json.load(open("scripts/default_model_config.json"))
config["vocab_size"] = ids  # <NUM> becomes the next id, appended when the model is made
json.dump(config, open(f"{work}/config.json", "w"), indent=2)
PY
rm -rf "$work/checkpoint"
build/examples/causal_train --config "$work/config.json" --tokenizer "$work/tokenizer.json" \
  --data "$work/corpus/train.jsonl" --validation-fraction 0.01 --out "$work/trained" \
  --steps "$steps" --batch 16 --seq-len 128 --lr 2e-3 --warmup 100 --final-lr-fraction 0.05 \
  --lambda 5 --gate-alpha 0.5 --no-gate-gradient \
  --eval-every 200 --validation-sequences 64 --checkpoint "$work/checkpoint" --checkpoint-every 400 --resume \
  --save-dtype bf16 --threads "$threads" --log "$work/training.csv"
rm -rf "$out.tmp" && cp -r "$work/trained" "$out.tmp"
cp "$work/training.csv" "$out.tmp/training_log.csv"
cp "$work/corpus/manifest.json" "$out.tmp/corpus_manifest.json"
rm -rf "$out" && mv "$out.tmp" "$out"
# The held-out prompts ship with the tests (tests/data/eval); the corpus writes them byte for byte.
mkdir -p tests/data/eval
for set in elements units units_seen; do cp "$work/corpus/eval_$set.jsonl" "tests/data/eval/$set.jsonl"; done
for set in elements units units_seen; do
  build/examples/causal_eval --model "$out" --prompts "tests/data/eval/$set.jsonl" --json "$out/eval_$set.json" --show 3
done
