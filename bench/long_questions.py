"""500-character questions on the sample: `search_lexical` and the whole extractive answer, p50/p95/max.

Run: .venv/bin/python bench/long_questions.py [--runs 3]
60 questions, each dev/held questions joined until 500 characters, asked 3 times per run (one warm-up pass first);
the figures are the median [min–max] over runs. Issue 14's target: search p95 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from endy_bot.deps import build_retriever  # noqa: E402
from endy_bot.evaluation import load_devset  # noqa: E402
from services.answer_types import Asker  # noqa: E402
from services.answering import AnswerService  # noqa: E402
from services.knowledge import load_knowledge_base, sample_kb_dir  # noqa: E402
from services.tokenizer import KoreanTokenizer  # noqa: E402

CHARS = 500
ASKER = Asker(user_id="bench", team_id="local", surface="eval")


def long_questions(n: int = 60, seed: int = 7) -> list[str]:
    """Questions of ~CHARS characters built from the sample's dev and held questions."""
    pool = [c.question for f in ("devset.jsonl", "heldout.jsonl") for c in load_devset(ROOT / "tests" / "data" / f)]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        text = ""
        while len(text) < CHARS:
            text += rng.choice(pool) + " "
        out.append(text[:CHARS])
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_run(questions: list[str]) -> dict[str, float]:
    """Build the sample's retriever (cache warm after the first run) and time every question three times."""
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(_env_file=None, data_dir=Path(data))
        kb = load_knowledge_base(sample_kb_dir())
        retriever = build_retriever(kb, settings, KoreanTokenizer())
        service = AnswerService(kb, retriever, None, max_question_chars=CHARS)
        for q in questions:  # warm-up
            retriever.search_lexical(q)
        search: list[float] = []
        answer: list[float] = []
        for _ in range(3):
            for q in questions:
                t0 = time.perf_counter()
                retriever.search_lexical(q)
                search.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                await service.answer(q, ASKER)
                answer.append((time.perf_counter() - t0) * 1000)
    return {
        "search_p50": pct(search, 0.5),
        "search_p95": pct(search, 0.95),
        "search_max": max(search),
        "answer_p95": pct(answer, 0.95),
    }


def main() -> None:
    """Print one Markdown table row per figure: median [min–max] over the runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    questions = long_questions()
    runs = [asyncio.run(one_run(questions)) for _ in range(args.runs)]
    print("| figure (ms) | median [min–max] |\n|---|---:|")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"| {key} | {statistics.median(values):.1f} [{min(values):.1f}–{max(values):.1f}] |")


if __name__ == "__main__":
    main()
