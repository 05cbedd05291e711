#!/usr/bin/env bash
# Runs every ```sh block of a tutorial, in order, in one shell from the repository root, with the
# built command first on PATH and the tutorial's output folder set; any failing command fails the
# test. Then every SVG the tutorial wrote must parse as XML.
#
#   run_tutorial.sh <folder of causalqwen> <tutorial.md> <work folder>
set -euo pipefail
bin=$1
tutorial=$2
export work=$3
rm -rf "$work"
mkdir -p "$work"
script=$work/tutorial.sh
# The tutorial's own PATH line (build/apps) is left out: the command under test is the one given.
awk '/^```sh$/ { inside = 1; next } /^```/ { inside = 0 } inside && !/^export PATH=/' "$tutorial" > "$script"
[ -s "$script" ] || { echo "no sh blocks in $tutorial"; exit 1; }
PATH="$bin:$PATH" timeout 800 bash -euo pipefail -x "$script"
svgs=("$work"/*.svg)
[ -e "${svgs[0]}" ] || { echo "the tutorial wrote no SVG file"; exit 1; }
if command -v python3 > /dev/null; then
  python3 -c 'import sys, xml.etree.ElementTree as E; [E.parse(f) for f in sys.argv[1:]]' "${svgs[@]}"
  echo "${#svgs[@]} SVG files parse as XML"
fi
