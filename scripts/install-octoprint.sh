#!/usr/bin/env bash
# Install a real OctoPrint into .octoprint-venv for the agent's OctoPrint tests.
# OctoPrint gets a virtualenv of its own: its many pinned dependencies must not
# mix with Printfleet's. Safe to run again; returns at once when the pinned
# release is already there. Tests find it at .octoprint-venv/bin/octoprint
# (or wherever PRINTFLEET_OCTOPRINT_BIN points).
#   scripts/install-octoprint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# 1.11 is the current release line (1.11.8 when this was written); it runs on
# Python 3.7 to 3.13.
requirement="OctoPrint>=1.11,<1.12"
venv=".octoprint-venv"

installed() {
  [[ -x "$venv/bin/octoprint" ]] || return 1
  "$venv/bin/python" - "$requirement" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
from packaging.requirements import Requirement
requirement = Requirement(sys.argv[1])
sys.exit(0 if requirement.specifier.contains(version(requirement.name)) else 1)
EOF
}

if installed; then
  echo "install-octoprint: $requirement already in $venv"
  exit 0
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# One dependency (netifaces) ships no wheel for Python 3.11 on Linux, so pip
# compiles it: that needs a C compiler and Python's headers.
missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v gcc >/dev/null || missing+=(gcc)
include=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[[ -f "$include/Python.h" ]] || missing+=(python3-dev)
if ((${#missing[@]})); then
  echo "install-octoprint: installing ${missing[*]} from the distribution's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "install-octoprint: creating the virtualenv in $venv"
  python3 -m venv "$venv"
fi
echo "install-octoprint: installing $requirement into $venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$requirement"
echo "install-octoprint: done ($("$venv/bin/octoprint" --version))"
