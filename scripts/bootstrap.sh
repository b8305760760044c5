#!/usr/bin/env bash
# Install what this machine lacks for `make run` (mode: run) or `make test` (mode: test):
# Debian packages (as root or through sudo), the virtualenv and the pinned Python packages.
# Safe to run again: it only installs what is missing or what the lock files changed.
set -euo pipefail
mode=${1:-run}
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
wanted=()
while read -r package scope; do
  case "$package" in ''|'#'*) continue ;; esac
  if [ "$scope" = run ] || [ "$mode" = test ]; then wanted+=("$package"); fi
done < scripts/debian-packages.txt
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "Missing Debian packages: ${missing[*]}. Install them as root: apt-get install ${missing[*]}" >&2; exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python ----------------------------------------------------------------------------------
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if ! "$python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "ruralcast needs Python 3.11 (found $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating the virtualenv .venv"
  "$python" -m venv .venv
fi
# run: the platform and what only the demo adds (honcho); test: everything a developer needs.
locks=(requirements/base.txt requirements/demo.txt)
[ "$mode" = test ] && locks=(requirements/dev.txt)
stamp=".venv/.installed-$(cat requirements/tools.txt "${locks[@]}" terminal/pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing Python packages from ${locks[*]}"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/tools.txt
  .venv/bin/uv pip install -q --python .venv/bin/python --require-hashes "${locks[@]/#/--requirement=}"
  # The terminal agent package (terminal/), which the platform shares the protocol code with.
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e terminal
  touch "$stamp"
fi

# --- JavaScript tools (test: es-check, which `make lint` runs on the portal's scripts) ---------
if [ "$mode" = test ]; then
  if ! command -v npm >/dev/null; then
    # Debian splits node and npm; a machine with NodeSource's nodejs already has npm.
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
      echo "npm is missing. Install it as root: apt-get install nodejs npm" >&2; exit 1
    fi
    say "installing Debian packages: nodejs npm"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  js_stamp="requirements/js/node_modules/.installed-$(sha256sum requirements/js/package-lock.json | cut -c1-16)"
  if [ ! -f "$js_stamp" ]; then
    say "installing JavaScript tools from requirements/js/package-lock.json"
    npm ci --prefix requirements/js --no-audit --no-fund --loglevel=error >/dev/null
    touch "$js_stamp"
  fi
fi
