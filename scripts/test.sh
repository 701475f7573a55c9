#!/usr/bin/env bash
# Set up, lint, type-check and run the whole test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# A PostgreSQL server for the storage contract and worker tests (installed
# and started on a fresh machine; left alone when one already answers).
scripts/ensure-postgres.sh
# A real OctoPrint (its own virtualenv) for the agent's OctoPrint tests and bench.
scripts/install-octoprint.sh
# Debian's Chromium for the browser tests in tests/e2e (Playwright drives it).
scripts/install-browser.sh
# Debian's PrusaSlicer, CuraEngine and Slic3r: tests/gcode slices with each.
scripts/install-slicers.sh
echo "test: ruff"
.venv/bin/ruff check .
echo "test: mypy"
.venv/bin/mypy
echo "test: pytest"
exec .venv/bin/pytest "$@"
