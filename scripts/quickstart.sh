#!/usr/bin/env bash
# First quick-start command: install what is missing, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCAUSALQWEN_BUILD_TESTS=OFF -DCAUSALQWEN_BUILD_BENCHMARKS=OFF
cmake --build build -j"$(nproc)" --target causal_demo
./build/examples/causal_demo
