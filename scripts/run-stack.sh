#!/usr/bin/env bash
# Quick start: set up, then run the whole stack on SQLite with simulated printers.
# Extra arguments go to `printfleet up` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/printfleet up --printers 3 "$@"
