"""scripts/bootstrap.sh, the set-up both README commands run: quiet, and installing only when something changed.

Run on a copy of the script next to a copy of pyproject.toml, with stand-ins on PATH for the interpreters: a
pyenv shim for a version that is not selected (it complains on stderr, as pyenv's do) and a Python 3.11 whose
`-m venv` makes a virtualenv whose `python` only records how pip was asked to install. Running Endy after the tests
(or the other way round) must never install again: a real install takes minutes.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SHIM = """#!/bin/sh
echo "pyenv: $(basename "$0"): command not found" >&2
exit 127
"""
PYTHON = """#!/bin/sh
# A Python 3.11 that can only make virtualenvs whose python records its pip calls.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/bin/sh\\necho "$*" >> "%s"\\n' "$PIP_LOG" > "$3/bin/python"
  chmod +x "$3/bin/python"
fi
exit 0
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project copy with the script and pyproject.toml, and a bin/ of stand-in interpreters."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts" / "bootstrap.sh")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bin").mkdir()
    for shim in ("python3.13", "python3.12"):
        _script(tmp_path / "bin" / shim, SHIM)
    _script(tmp_path / "bin" / "python3.11", PYTHON)
    return tmp_path


def bootstrap(tree: Path, extras: str) -> subprocess.CompletedProcess[str]:
    """`bash scripts/bootstrap.sh EXTRAS` as endy.sh ("") and test.sh ("test") run it."""
    env = {
        "PATH": f"{tree / 'bin'}:/usr/bin:/bin",
        "HOME": str(tree),
        "ENDY_VENV": str(tree / ".venv"),
        "PIP_LOG": str(tree / "pip.log"),
    }
    return subprocess.run(
        ["bash", str(tree / "scripts" / "bootstrap.sh"), extras],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def installs(tree: Path) -> list[str]:
    """The `pip install -e …` calls so far (the pip upgrade before each is not counted)."""
    log = tree / "pip.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [line.split()[-1] for line in lines if " -e " in f" {line} "]


def test_the_first_run_finds_python_without_pyenv_noise(tree: Path) -> None:
    result = bootstrap(tree, "")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == ""
    assert installs(tree) == [str(tree)]


def test_alternating_the_two_readme_commands_installs_the_test_extras_once(tree: Path) -> None:
    for extras in ("", "test", "", "test", "", ""):
        result = bootstrap(tree, extras)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    assert installs(tree) == [str(tree), f"{tree}[test]"]


def test_tests_first_then_endy_never_installs_again(tree: Path) -> None:
    for extras in ("test", "", "test", ""):
        assert bootstrap(tree, extras).returncode == 0
    assert installs(tree) == [f"{tree}[test]"]


def test_a_changed_pyproject_reinstalls_once_keeping_the_test_extras(tree: Path) -> None:
    assert bootstrap(tree, "test").returncode == 0
    with (tree / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write("\n# a dependency was added\n")
    for extras in ("", "test", ""):
        assert bootstrap(tree, extras).returncode == 0
    assert installs(tree) == [f"{tree}[test]", f"{tree}[test]"]


def test_a_failed_install_shows_its_log_and_is_tried_again(tree: Path) -> None:
    assert bootstrap(tree, "").returncode == 0
    venv_python = tree / ".venv" / "bin" / "python"
    _script(venv_python, '#!/bin/sh\necho "ERROR: No matching distribution found for kiwipiepy" >&2\nexit 1\n')
    (tree / "pyproject.toml").write_text((tree / "pyproject.toml").read_text() + "\n#\n", encoding="utf-8")
    failed = bootstrap(tree, "")
    assert failed.returncode == 1
    assert "No matching distribution found for kiwipiepy" in failed.stderr
    assert os.path.exists(tree / ".venv" / ".endy-installed")
    assert bootstrap(tree, "").returncode == 1  # the stamp still names the old pyproject: tried again
