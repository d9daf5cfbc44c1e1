#!/usr/bin/env bash
# Installs everything rnnwave needs on Debian 12, from Debian's own packages.
#   scripts/install_deps.sh          build, run and test
# See README.md ("Dependencies") for why each package is there.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # the library and the tool
  libdnnl-dev libzip-dev libcli11-dev nlohmann-json3-dev
  # data sets: WAV decoding and the FFT of the speech features
  libsndfile1-dev libfftw3-dev
  # training runs: the learning-curve PNG of `rnnwave train`
  libgd-dev
  # tests: GoogleTest, the PyTorch oracle, clang for the sanitizer and fuzzing builds,
  # ONNX's operator tests and the onnx package the importer reads them with
  googletest libgtest-dev python3-numpy python3-torch clang libclang-rt-14-dev libomp-dev zlib1g-dev
  libonnx-testdata python3-onnx
  # the Python package: the extension (pybind11, Python's headers), a virtual environment
  # that installs it offline (venv, setuptools, wheel), its tests (pytest)
  pybind11-dev python3-pybind11 python3-dev python3-venv python3-setuptools python3-wheel python3-pytest
  # runs over several processes (src/dist): Open MPI, and MPICH for a second implementation's smoke test
  libopenmpi-dev openmpi-bin mpich libmpich-dev
  # benchmarks and plots
  libtbb-dev libopenblas-dev libxsmm-dev python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
