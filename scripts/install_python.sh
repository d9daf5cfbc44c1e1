#!/usr/bin/env bash
# Builds the Python package rnnwave and installs it into .venv, a virtual environment that
# sees Debian's numpy and torch (docs/python.md). It runs the two commands of a manual
# install, offline:
#   python3 -m venv --system-site-packages .venv
#   .venv/bin/pip install --no-build-isolation --no-index .
# with the extension built in build/, the folder the other scripts build the library in,
# so that the library is compiled once for the tool, the tests and the package.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
echo "== Python package: building and installing rnnwave into .venv"
RNNWAVE_BUILD_DIR="${RNNWAVE_BUILD_DIR:-build}" \
  .venv/bin/pip install --quiet --no-build-isolation --no-index .
