#!/usr/bin/env bash
# Set up Printfleet on a Debian/Ubuntu machine: system packages it needs
# (Python 3.11+, venv, Mosquitto), then a virtualenv in .venv with the server
# and the agent installed in editable mode. Safe to run again.
#   scripts/setup.sh          runtime only
#   scripts/setup.sh --test   also the test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[[ "${1:-}" == "--test" ]] && extras="[test]"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]] || missing+=(mosquitto)
if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  missing+=(python3)
fi
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} from the distribution's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating the virtualenv in .venv"
  python3 -m venv .venv
fi
echo "setup: installing Printfleet into .venv"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ./device-firmware -e ".${extras}"
echo "setup: done"
