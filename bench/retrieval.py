"""Retrieval benchmark: latency p50/p95 and RSS at growing KB sizes (answer quality: bench/quality.py).

Run: .venv/bin/python bench/retrieval.py [--sizes 1000 10000 50000] [--out docs/benchmarks.md]
Each size runs in a fresh subprocess so RSS and start-up are measured cleanly.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"


def _questions() -> list[dict[str, str]]:
    lines = (DATA / "devset.jsonl").read_text(encoding="utf-8").splitlines()
    lines += (DATA / "heldout.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synthetic_kb(root: Path, sections: int) -> None:
    """A knowledge folder of `sections` sections recombined from the sample handbook's own lines,
    with distinct synthetic terms so the vocabulary grows like a real company's would."""
    from services.knowledge import SectionKind, load_knowledge_base, sample_kb_dir

    sample = load_knowledge_base(sample_kb_dir())
    lines = [ln for s in sample.sections if s.kind is SectionKind.DOC for ln in s.text.splitlines() if ln.strip()]
    headings = [s.heading for s in sample.sections if s.kind is SectionKind.DOC]
    rng = random.Random(sections)
    (root / "docs").mkdir(parents=True)
    per_doc = 200
    for d in range(0, sections, per_doc):
        body = [f"# 사내 문서 {d // per_doc}"]
        for i in range(d, min(d + per_doc, sections)):
            body.append(f"## {rng.choice(headings)} 세부 {i} 프로젝트{rng.randrange(5000)}")
            body += rng.sample(lines, 4)
            body.append(f"- 관련 코드: 업무{rng.randrange(20000)} 시스템{rng.randrange(3000)}")
        (root / "docs" / f"doc{d // per_doc:04d}.md").write_text("\n".join(body), encoding="utf-8")
    (root / "kb.yaml").write_text((sample_kb_dir() / "kb.yaml").read_text(encoding="utf-8"), encoding="utf-8")


def _measure(size: int, cache: Path) -> dict[str, object]:
    """Build (cold, then warm from the token cache) and time queries at one KB size."""
    import tempfile

    import bm25s

    from services.knowledge import load_knowledge_base, sample_kb_dir
    from services.retrieval import Retriever
    from services.tokenizer import KoreanTokenizer

    t0 = time.perf_counter()
    tok = KoreanTokenizer(num_workers=2)
    tok.warm_up()
    model_load = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        root = sample_kb_dir() if size == 0 else Path(tmp) / "kb"
        if size:
            _synthetic_kb(root, size)
        kb = load_knowledge_base(root)
        t0 = time.perf_counter()
        Retriever(kb, tok, cache_dir=cache)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        retriever = Retriever(kb, tok, cache_dir=cache)
        warm = time.perf_counter() - t0
        naive = bm25s.BM25()
        naive.index([s.text.split() or [""] for s in kb.sections], show_progress=False)
    questions = [q["question"] for q in _questions()] * 3
    times, naive_times = [], []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search_lexical(q, k=5)
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        naive.get_scores(q.split())
        naive_times.append((time.perf_counter() - t0) * 1000)
    q95 = statistics.quantiles(times, n=20)[-1]
    return {
        "sections": len(kb.sections),
        "model_load_s": model_load,
        "index_cold_s": cold,
        "index_warm_s": warm,
        "p50_ms": statistics.median(times),
        "p95_ms": q95,
        "max_ms": max(times),  # the longest single call (what holds the event loop, or a worker, longest)
        "naive_p50_ms": statistics.median(naive_times),
        "naive_p95_ms": statistics.quantiles(naive_times, n=20)[-1],
        "rss_mb": _rss_mb(),
        "queries": len(times),
    }


def main() -> None:
    """Run every size in a subprocess and print (or write) the results table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[0, 1000, 10000, 50000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/endy-bench-cache"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(_measure(args.one, args.cache)))
        return
    rows = []
    for size in args.sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--cache", str(args.cache / str(size))],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    result = {"sizes": rows}  # answer quality lives in bench/quality.py
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        "| sections | Kiwi load (s) | index cold (s) | index warm (s) | p50 (ms) | p95 (ms) "
        "| naive p50/p95 (ms) | RSS (MB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['sections']} | {r['model_load_s']:.2f} | {r['index_cold_s']:.2f} | {r['index_warm_s']:.2f} | "
            f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['naive_p50_ms']:.2f} / {r['naive_p95_ms']:.2f} | "
            f"{r['rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
