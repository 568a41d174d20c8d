"""Run only by tests/test_leftover_check.py (the file name keeps it out of the suite): a test that starts a
process and leaves it running, as a careless fixture would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_leaves_a_sleeper_behind() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    Path(os.environ["ENDY_LEAKY_PID_FILE"]).write_text(str(sleeper.pid))
