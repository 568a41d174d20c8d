#!/usr/bin/env bash
# README command 2: set up (first run only) and run the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh" test
cd "$ROOT"
exec "${ENDY_VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
