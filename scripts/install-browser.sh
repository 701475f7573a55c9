#!/usr/bin/env bash
# Make sure the headless browser the end-to-end tests drive is installed:
# Debian's Chromium at /usr/bin/chromium (Playwright drives it; no browser is
# ever downloaded by a test tool). Safe to run again: installs only when missing.
#   PF_CHROMIUM   test with another Chromium binary: only checked, never installed
set -euo pipefail

browser="${PF_CHROMIUM:-/usr/bin/chromium}"
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
say() { echo "browser: $*"; }

if [[ -x "${browser}" ]]; then
  say "${browser} is installed"
  exit 0
fi
if [[ -n "${PF_CHROMIUM:-}" ]]; then
  say "\$PF_CHROMIUM (${browser}) is not an executable" >&2
  exit 1
fi
say "installing Chromium from the distribution's packages"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium fonts-liberation >/dev/null
"${browser}" --version >/dev/null
say "$("${browser}" --version)"
