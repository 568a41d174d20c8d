"""The session-end check fails a run that leaves a process behind, in one process and under pytest-xdist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import process_alive

ROOT = Path(__file__).resolve().parents[1]
LEAKY = ROOT / "tests" / "data" / "leaky" / "leaves_a_process.py"
CRASHING = ROOT / "tests" / "data" / "leaky" / "crashes_its_worker.py"


def _run(test_file: Path, workers: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """An inner pytest run of one leaky test file; its result and the pid of the process the test left."""
    pid_file = tmp_path / "sleeper.pid"
    env = os.environ | {"ENDY_LEAKY_PID_FILE": str(pid_file), "ENDY_TEST_LEFTOVER_GRACE": "0.5"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers, str(test_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    return run, int(pid_file.read_text())


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_process_left_alive_fails_the_run_and_is_killed(workers: str, tmp_path: Path) -> None:
    run, pid = _run(LEAKY, workers, tmp_path)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "still alive at its end" in run.stdout, run.stdout
    assert f"{pid}: " in run.stdout, run.stdout
    assert not process_alive(pid)


def test_a_process_left_by_a_worker_that_crashed_is_found_by_the_controller(tmp_path: Path) -> None:
    run, pid = _run(CRASHING, "1", tmp_path)
    assert run.returncode != 0, run.stdout + run.stderr
    assert f"{pid}: " in run.stdout, run.stdout
    assert not process_alive(pid)
