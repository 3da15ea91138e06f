#!/bin/sh
# Install what the tests need: the venv .venv with mpkernel and its test extra, at the
# exact versions CI tests (constraints.txt), and (when this user may use apt-get) Debian's
# Chromium for the browser tests. Without Chromium those tests are skipped, with the
# reason; everything else still runs. The test extra also brings the command-line tools
# the README uses: mpremote, papermill, jupyter nbconvert, and pandas for %%plot's _plot.
#
#   sh install/test-tools.sh && .venv/bin/python -m pytest
#
# PYTHON=python3.12 picks the interpreter that makes a new venv.
set -eu

cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"

CHROMIUM="${MPKERNEL_CHROMIUM:-/usr/bin/chromium}"  # where the browser tests look
if [ -x "$CHROMIUM" ]; then
    :
elif ! command -v apt-get >/dev/null 2>&1; then
    echo "test-tools: no apt-get here: install Chromium yourself, or the browser tests are skipped."
else
    if [ "$(id -u)" = 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        SUDO="none"
    fi
    if [ "$SUDO" = none ]; then
        echo "test-tools: not root and no passwordless sudo: Chromium not installed, browser tests are skipped."
    elif $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
        || { $SUDO apt-get update -q >/dev/null 2>&1 \
             && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; then
        echo "test-tools: installed Chromium ($("$CHROMIUM" --version 2>/dev/null || echo '?'))."
    else
        echo "test-tools: apt-get could not install chromium: browser tests are skipped."
    fi
fi
