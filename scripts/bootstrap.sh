#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) from pyproject.toml. Sourced by endy.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ENDY_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"

pick_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$py"; return 0
    fi
  done
  echo "Endy needs Python 3.11 or newer (python3.11+ not found on PATH)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  "$(pick_python)" -m venv "$VENV"
fi
# Re-install only when pyproject.toml (or the requested extras) changed since the last install.
STAMP="$VENV/.endy-installed"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)-${EXTRAS}"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  SPEC="$ROOT"
  [ -n "$EXTRAS" ] && SPEC="$ROOT[$EXTRAS]"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$SPEC"
  echo "$WANT" > "$STAMP"
fi
