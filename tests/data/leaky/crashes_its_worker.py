"""Run only by tests/test_leftover_check.py: a test that starts a process, then takes its xdist worker down with it
(the worker reports nothing; the run's controller must still find the process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_leaves_a_sleeper_and_crashes_the_worker() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    Path(os.environ["ENDY_LEAKY_PID_FILE"]).write_text(str(sleeper.pid))
    os._exit(3)
