#!/usr/bin/env bash
# Runs every ```sh block of a tutorial, in order, in one shell from the repository root, with the
# built command first on PATH and the tutorial's output folder set; any failing command fails the
# test. Then every SVG the tutorial wrote must parse as XML, and, given the folder of the Python
# module, every ```python block runs as one script after the shell blocks.
#
#   run_tutorial.sh <folder of causalqwen> <tutorial.md> <work folder> [<folder of the Python module>]
# PYTHON names the interpreter the module was built for (default: python3).
set -euo pipefail
bin=$1
tutorial=$2
export work=$3
python_module=${4:-}
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
python_script=$work/tutorial.py
awk '/^```python$/ { inside = 1; next } /^```/ { inside = 0 } inside' "$tutorial" > "$python_script"
if [ -s "$python_script" ]; then
  if [ -n "$python_module" ]; then
    PYTHONPATH="$python_module" timeout 300 "${PYTHON:-python3}" "$python_script"
    echo "the Python blocks ran"
  else
    echo "the Python blocks were not run: the Python module is not built (CAUSALQWEN_PYTHON=OFF)"
  fi
fi
