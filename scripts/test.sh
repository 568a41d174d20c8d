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
# Two workers (pytest-xdist; ENDY_TEST_WORKERS=0 runs in one process): tests own their databases and key prefixes.
exec "$BIN/python" -m pytest -n "${ENDY_TEST_WORKERS:-2}" --dist loadscope "$@"
