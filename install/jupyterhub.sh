#!/bin/sh
# Install what the JupyterHub tests and bench need (tests/test_hub.py, bench/bench_hub.py):
# JupyterHub into .venv (the `hub` extra, at the exact versions of constraints.txt) and
# configurable-http-proxy from the npm registry into .venv/hub-proxy (a prefix this script
# owns; nothing global). Safe to run again: it only installs what is missing.
#
#   sh install/jupyterhub.sh && .venv/bin/python -m pytest tests/test_hub.py
#
# Needs Node.js 20+ and npm; as root (CI) it installs Debian's `nodejs npm` when missing.
# PYTHON=python3.12 picks the interpreter that makes a new venv.
set -eu

cd "$(dirname "$0")/.."
PROXY_VERSION=5.3.0  # configurable-http-proxy, exact (as constraints.txt is for Python)
PREFIX=.venv/hub-proxy
PROXY="$PREFIX/node_modules/.bin/configurable-http-proxy"

if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
if ! .venv/bin/python -c "import jupyterhub, mpkernel" 2>/dev/null; then
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[test,hub]"
fi

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 \
                 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null 2>&1; } \
            || { echo "jupyterhub.sh: apt-get could not install nodejs and npm"; exit 1; }
    else
        echo "jupyterhub.sh: no npm here: install Node.js 20+ and npm, then run this again."
        exit 1
    fi
fi

have=$("$PROXY" --version 2>/dev/null || true)
if [ "$have" != "$PROXY_VERSION" ]; then
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
        "configurable-http-proxy@$PROXY_VERSION" >/dev/null
fi
echo "jupyterhub.sh: JupyterHub $(.venv/bin/jupyterhub --version), configurable-http-proxy $("$PROXY" --version) ($PROXY)"
