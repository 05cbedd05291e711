#!/usr/bin/env bash
# Reproduces docs/experiments.md, the number experiment, from Debian packages alone: corpus
# (scripts/build_corpus.py) -> every variant trained from scratch for each seed
# (examples/number_experiment) -> the report.
#   scripts/run-experiment.sh [REPORT]      (default docs/experiments.md)
# STEPS, SEEDS, THREADS and WORK (scratch directory) may be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
report=${1:-docs/experiments.md}
work=${WORK:-build/experiment}
steps=${STEPS:-1500}
seeds=${SEEDS:-3}
threads=${THREADS:-$(nproc)}
scripts/install-deps.sh --corpus
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target number_experiment
mkdir -p "$work"
/usr/bin/python3 scripts/build_corpus.py --out "$work/corpus"
build/examples/number_experiment --corpus "$work/corpus" --steps "$steps" --seeds "$seeds" --threads "$threads" \
  --report "$report"
