#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) from pyproject.toml. Sourced by endy.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ENDY_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"

pick_python() {
  # pyenv's shims exist for versions that are not selected and complain on stderr: probe quietly.
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "Endy needs Python 3.11 or newer (python3.11+ not found on PATH)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  "$(pick_python)" -m venv "$VENV"
fi
# Re-install only when pyproject.toml changed or extras not installed yet are requested: running Endy after
# the tests (or the other way round) never re-installs, since the test install is a superset.
STAMP="$VENV/.endy-installed"
HASH="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
HAVE="$(cat "$STAMP" 2>/dev/null || true)"
# Keep the extras installed before (a plain run after the tests installs the test extras too).
[ -z "$EXTRAS" ] && [ -n "$HAVE" ] && EXTRAS="${HAVE#*-}"
WANT="$HASH-${EXTRAS}"
if [ "$HAVE" != "$WANT" ]; then
  LOG="$VENV/.endy-install.log"
  SPEC="$ROOT"
  [ -n "$EXTRAS" ] && SPEC="$ROOT[$EXTRAS]"
  # pip's and setuptools' progress and warnings go to a log; it is shown only when the install fails.
  if ! { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip \
         && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$SPEC"; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "Endy's set-up failed (pip install); the log above is also in $LOG" >&2
    exit 1
  fi
  echo "$WANT" > "$STAMP"
fi
