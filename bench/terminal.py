"""Terminal benchmark: `endy ask` against `endy kb stats`, each a fresh process as a user runs it.

Run: .venv/bin/python bench/terminal.py [--runs 5] [--question "연차는 며칠이에요?"] [--baseline SRC]
Both commands run on embedded defaults (no DATABASE_URL / REDIS_URL / OPENAI_API_KEY: embedded PostgreSQL and
Redis, extractive answers) with DATA_DIR and LOG_DIR in a temporary folder. One unmeasured run of each first
(initdb, token cache), then the runs alternate so drift on a noisy machine hits both alike; wall time of the whole
subprocess, median (min–max). `endy --version` is the floor (interpreter start and the CLI's imports). Targets:
`kb stats` <= 1 s, `ask` <= 1.5 x `kb stats`. Afterwards no process may be left working in the folder (the
embedded servers): anything found is reported and stopped, and the run fails.

--baseline SRC: the same commands from another checkout's source tree (e.g. `git archive BASE | tar -x -C SRC`),
run with PYTHONPATH=SRC in the same loop and its own DATA_DIR: a before/after measured on the same machine state.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STATS_TARGET = 1.0
RATIO_TARGET = 1.5


def _env(folder: Path) -> dict[str, str]:
    """The caller's environment without any Endy setting, plus the run's folders."""
    from config.settings import Settings

    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return env | {"DATA_DIR": str(folder / "data"), "LOG_DIR": str(folder / "logs")}


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(args: list[str], env: dict[str, str], folder: Path, cpu: list[float] | None = None) -> float:
    """Wall seconds of `python -m endy_bot ARGS` (its CPU seconds appended to `cpu`: steadier on a busy machine,
    the daemonised servers not included); a failure stops the benchmark with its output."""
    before = _cpu()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "endy_bot", *args], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_cpu() - before)
    if done.returncode != 0:
        raise SystemExit(f"endy {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return elapsed


def _leftovers(folder: Path) -> list[int]:
    """Live processes working in or naming the folder (the embedded servers are daemons: not our children)."""
    from services.embedded import command_line, find_processes, working_dir

    here = os.path.realpath(folder)
    found = set(find_processes(str(folder)))
    for entry in Path("/proc").glob("[0-9]*"):
        cwd = working_dir(int(entry.name))
        if cwd is not None and os.path.realpath(cwd).startswith(here) and command_line(int(entry.name)):
            found.add(int(entry.name))
    return sorted(found - {os.getpid()})


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def _measure(trees: dict[str, Path | None], question: str, runs: int) -> dict[str, dict[str, list[float]]]:
    """Per tree (None: this checkout), per command, the wall times; each tree in its own temporary folder."""
    commands = {"endy --version": ["--version"], "endy kb stats": ["kb", "stats"], "endy ask": ["ask", question]}
    folders = {tree: Path(tempfile.mkdtemp(prefix="endy-bench-terminal-")) for tree in trees}
    names = [label for name in commands for label in (name, f"{name} (CPU)")]
    times: dict[str, dict[str, list[float]]] = {tree: {name: [] for name in names} for tree in trees}
    left: list[int] = []
    try:
        envs = {}
        for tree, src in trees.items():
            envs[tree] = _env(folders[tree]) | ({"PYTHONPATH": str(src)} if src else {})
            for args in commands.values():  # warm: initdb, the token cache, compiled bytecode
                _run(args, envs[tree], folders[tree])
        for _ in range(runs):
            for name, args in commands.items():
                for tree in trees:
                    times[tree][name].append(_run(args, envs[tree], folders[tree], times[tree][f"{name} (CPU)"]))
    finally:
        for folder in folders.values():
            found = _leftovers(folder)
            if found:
                from services.embedded import terminate

                for pid in found:
                    terminate(pid, grace_seconds=2.0)
            left += found
            shutil.rmtree(folder, ignore_errors=True)
    if left:
        raise SystemExit(f"processes left running: {left} (stopped now)")
    return times


def main() -> None:
    """Measure, print the table, check that nothing was left running."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each command (default 5)")
    parser.add_argument("--question", default="연차는 며칠이에요?")
    parser.add_argument("--baseline", type=Path, help="another checkout's source tree, measured in the same loop")
    opts = parser.parse_args()
    trees: dict[str, Path | None] = {"this checkout": None}
    if opts.baseline:
        trees["baseline"] = opts.baseline.resolve()
    times = _measure(trees, opts.question, opts.runs)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {opts.runs} warm runs each, embedded defaults\n")
    print("| command (wall, or the process's CPU) | " + " | ".join(trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for name in times["this checkout"]:
        print(f"| `{name}` | " + " | ".join(_spread(times[tree][name]) for tree in trees) + " |")
    for tree in trees:
        stats, ask = statistics.median(times[tree]["endy kb stats"]), statistics.median(times[tree]["endy ask"])
        ratio = ask / stats
        print(
            f"\n{tree}: kb stats {stats:.2f} s ({'meets' if stats <= STATS_TARGET else 'MISSES'} the "
            f"{STATS_TARGET:.0f} s target); ask / kb stats {ratio:.2f} "
            f"({'meets' if ratio <= RATIO_TARGET else 'MISSES'} the {RATIO_TARGET} target)"
        )
    print("\nno process left behind")


if __name__ == "__main__":
    main()
