#!/usr/bin/env bash
# README command 2: set up (first run only), check style and types, then run the whole test suite.
# Arguments go to pytest; ENDY_SKIP_CHECKS=1 skips ruff and mypy (e.g. to re-run one test quickly).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh" test
cd "$ROOT"
BIN="${ENDY_VENV:-$ROOT/.venv}/bin"
if [ "${ENDY_SKIP_CHECKS:-}" != "1" ]; then
  CHECKED=(config endy_bot handlers services tests bench)
  "$BIN/ruff" check "${CHECKED[@]}"
  "$BIN/ruff" format --check "${CHECKED[@]}"
  "$BIN/mypy" "${CHECKED[@]}"  # --strict and the rest: [tool.mypy] in pyproject.toml
fi
exec "$BIN/python" -m pytest "$@"
