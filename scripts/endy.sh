#!/usr/bin/env bash
# README command 1: set up (first run only) and run Endy on its embedded defaults.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh" "" >&2
cd "$ROOT"
if [ "$#" -eq 0 ]; then
  set -- ask "연차는 어떻게 신청하나요?"
fi
exec "${ENDY_VENV:-$ROOT/.venv}/bin/endy" "$@"
