#!/usr/bin/env bash
# Install the real slicers the G-code analysis tests (tests/gcode) slice with:
# Debian's prusa-slicer, cura-engine and slic3r. Safe to run again: installs
# only what is missing, using sudo only when not root.
set -euo pipefail

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
say() { echo "slicers: $*"; }

# package:command it provides
wanted=(prusa-slicer:prusa-slicer cura-engine:CuraEngine slic3r:slic3r)
missing=()
for pair in "${wanted[@]}"; do
  package="${pair%%:*}" command="${pair#*:}"
  if command -v "${command}" >/dev/null; then
    say "${command} is installed"
  else
    missing+=("${package}")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
say "installing ${missing[*]} from the distribution's packages"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
for pair in "${wanted[@]}"; do
  command="${pair#*:}"
  command -v "${command}" >/dev/null || { say "${command} is still missing" >&2; exit 1; }
done
say "installed ${missing[*]}"
