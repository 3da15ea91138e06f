#!/bin/sh
# Install what the tests need: the venv .venv with mpkernel and its test extra, at the
# exact versions CI tests (constraints.txt), and (when this user may use apt-get) Debian's
# Chromium for the browser tests and qemu-system-arm + firmware-microbit-micropython for the
# micro:bit tests. Without them those tests are skipped (they fail under CI=true), with the
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
# Debian packages the tests use when present: Chromium (browser tests) and the BBC
# micro:bit's MicroPython 1.9.2 under QEMU (tests/microbit.py: old, small firmware).
PACKAGES=""
[ -x "$CHROMIUM" ] || PACKAGES="chromium chromium-driver"
command -v qemu-system-arm >/dev/null 2>&1 || PACKAGES="$PACKAGES qemu-system-arm"
[ -f /usr/share/firmware-microbit-micropython/firmware.hex ] \
    || PACKAGES="$PACKAGES firmware-microbit-micropython"
if [ -z "$PACKAGES" ]; then
    :
elif ! command -v apt-get >/dev/null 2>&1; then
    echo "test-tools: no apt-get here: install$PACKAGES yourself, or the tests that need them are skipped."
else
    if [ "$(id -u)" = 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        SUDO="none"
    fi
    if [ "$SUDO" = none ]; then
        echo "test-tools: not root and no passwordless sudo: $PACKAGES not installed, the tests that need them are skipped."
    elif $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PACKAGES >/dev/null 2>&1 \
        || { $SUDO apt-get update -q >/dev/null 2>&1 \
             && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PACKAGES >/dev/null 2>&1; }; then
        echo "test-tools: installed$PACKAGES."
    else
        echo "test-tools: apt-get could not install$PACKAGES: the tests that need them are skipped."
    fi
fi
