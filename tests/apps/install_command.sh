#!/usr/bin/env bash
# The installed causalqwen command works away from the source and build trees: installed with
# `cmake --install BUILD --component command` into a scratch prefix, run from /, it defaults to
# the model installed beside it and answers a numeric prompt with a number.
set -euo pipefail
build=$1 prefix=$2
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" --component command > /dev/null
command="$prefix/bin/causalqwen"
[ -x "$command" ] || { echo "not installed: $command"; exit 1; }
cd /
installed_model="$prefix/share/causalqwen/models/causalqwen-mini"
"$command" generate --help | grep -qF "$installed_model" ||
  { echo "the installed command does not default to $installed_model"; exit 1; }
out=$("$command" generate --prompt "Sodium (Na) has atomic number" --max-tokens 8)
grep -q "<NUM>" <<< "$out" || { echo "no number in the installed command's answer:"; echo "$out"; exit 1; }
"$command" eval --prompts "$prefix/share/causalqwen/eval/units.jsonl" > /dev/null
echo "installed into $prefix; the command runs from / on its own model"
