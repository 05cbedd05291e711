#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs, only those that are missing.
#   scripts/install-deps.sh          the build, the demo and the tests
#   scripts/install-deps.sh --tests  also PyTorch (python3-torch), against whose autograd one test
#                                    checks the head's gradients (skipped without it)
#   scripts/install-deps.sh --fuzz   also Clang with libFuzzer and its OpenMP (scripts/fuzz.sh and
#                                    the sanitizer build of scripts/test.sh --sanitize)
#   scripts/install-deps.sh --corpus also the Debian text the default model is trained on
#                                    (scripts/build_corpus.py: dict-gcide, dict-elements, units)
set -euo pipefail
packages=(build-essential cmake pkg-config libeigen3-dev libxtensor-dev doctest-dev libbenchmark-dev
          nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev libsleef-dev libopenmpi-dev openmpi-bin
          libcpp-httplib-dev python3 curl pybind11-dev python3-dev python3-numpy python3-pytest)
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-14-dev libomp-dev)
[ "${1:-}" = "--corpus" ] && packages+=(dict-gcide dict-elements units)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# npm only fetches optional test data (the real Qwen vocabulary); a machine whose Node.js ships
# its own npm already has it, and a failed install only makes those tests report themselves skipped.
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends npm ||
    echo "note: npm could not be installed; tests that need the real Qwen vocabulary will be skipped"
fi
if [ "${1:-}" = "--tests" ] && ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-torch ||
    echo "note: python3-torch could not be installed; python.torch_autograd will be skipped"
fi
