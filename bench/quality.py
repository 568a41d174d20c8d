"""Answer-quality benchmark: Endy's production answer pipeline vs two BM25 baselines, per knowledge base and set.

Run: .venv/bin/python bench/quality.py [--quick] [--sets dev,held,cold] [--sizes 1000 10000] [--out docs/benchmarks.md]
Prints a Markdown section; with --out it replaces the part of that file between the quality markers (or appends
it with the markers). Raw numbers go to bench/results/quality.json. Size scaling is delegated to
bench/retrieval.py through its per-size `--one SIZE` entry (latency/RSS only): its `--sizes` path also runs its
own quality pass, which calls `evaluate` the pre-async way and fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
from kiwipiepy import Kiwi
from loguru import logger

from config.settings import Settings
from endy_bot.deps import build_retriever
from endy_bot.evaluation import EvalCase, evaluate, load_devset, load_out_of_scope, matches
from services.answer_types import Asker
from services.answering import AnswerService
from services.knowledge import KnowledgeBase, Section, load_knowledge_base, sample_kb_dir
from services.retrieval import Retriever, section_index_text
from services.tokenizer import KoreanTokenizer

if TYPE_CHECKING:
    from loguru import Record

Json = dict[str, Any]
Tokenize = Callable[[str], list[str]]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
KB2 = ROOT / "bench" / "data" / "kb2"
RESULTS = ROOT / "bench" / "results" / "quality.json"
START, END = "<!-- quality:start -->", "<!-- quality:end -->"
SAMPLE_SETS = {"dev": ("devset.jsonl", "out_of_scope.txt"), "held": ("heldout.jsonl", "heldout_out_of_scope.txt")}
KB2_SETS = {name: (f"{name}.jsonl", f"{name}_oos.txt") for name in ("dev", "held", "cold", "cold2")}
KB3 = ROOT / "bench" / "data" / "kb3"  # written blind; its misses were read while tuning on 2026-12-01 (development)
KB3_SETS = {"cold": ("cold.jsonl", "cold_oos.txt")}
KB4 = ROOT / "bench" / "data" / "kb4"  # tuning data (three Markdown files), written blind before the tuning
KB4_SETS = {"dev": ("dev.jsonl", "dev_oos.txt")}
KB5 = ROOT / "bench" / "data" / "kb5"  # written blind on 2026-12-01 (a fifth writer), frozen before it was read
KB5_SETS = {"cold": ("cold.jsonl", "cold_oos.txt")}
KB6 = ROOT / "bench" / "data" / "kb6"  # written blind on 2026-12-02 (a sixth writer), frozen before it was read
KB6_SETS = {"cold": ("cold.jsonl", "cold_oos.txt")}
KB7 = ROOT / "bench" / "data" / "kb7"  # written blind on 2026-12-02 (a seventh writer), frozen before it was read
KB7_SETS = {"cold": ("cold.jsonl", "cold_oos.txt")}
KB8 = ROOT / "bench" / "data" / "kb8"  # written blind on 2026-12-02 (an eighth writer), frozen before it was read
KB8_SETS = {"cold": ("cold.jsonl", "cold_oos.txt")}
# Which --sets category a set belongs to (a set not listed is its own): the fresh blind sets run with "cold".
CATEGORY = {"cold2": "cold", "tricky3": "cold"}
TRICKY = DATA / "tricky_out_of_scope_v2.txt"
TRICKY3 = DATA / "tricky_out_of_scope_v3.txt"
KIWI_TAGS = frozenset({"NNG", "NNP", "VV", "VA", "SL", "SN", "XR"})
SYSTEMS = {"endy": "Endy", "kiwi_bm25": "kiwi BM25", "whitespace_bm25": "whitespace BM25"}
IN_SCOPE_KEYS = ("n", "hit_at_1", "hit_at_3", "mrr", "answered_correctly", "refused_but_found")
RANK_DEPTH = 10
REPS = 3
ASKER = Asker(user_id="bench", team_id="local", surface="eval")


@dataclass(frozen=True, slots=True)
class QuestionSet:
    """Questions with their expected section, out-of-scope questions, and whether only the latter count."""

    name: str
    cases: list[EvalCase]
    out_of_scope: list[str] | None
    oos_only: bool = False


@dataclass(slots=True)
class KbSpec:
    """One knowledge base to benchmark, its question sets and what was skipped."""

    key: str
    label: str
    root: Path
    sets: list[QuestionSet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Bm25Baseline:
    """bm25s over every section's index text with a given tokenizer; it ranks every question (never abstains)."""

    def __init__(self, sections: Sequence[Section], tokenize: Tokenize) -> None:
        self.tokenize = tokenize
        self.index = bm25s.BM25()
        self.index.index([tokenize(section_index_text(s)) or [""] for s in sections], show_progress=False)

    def ranking(self, question: str) -> list[int]:
        """Section positions by descending score, only those sharing a word with the question."""
        tokens = [t for t in self.tokenize(question) if t in self.index.vocab_dict]
        if not tokens:
            return []
        scores = np.asarray(self.index.get_scores(tokens))
        return [int(i) for i in np.argsort(-scores, kind="stable")[:RANK_DEPTH] if scores[i] > 0]


def whitespace_tokens(text: str) -> list[str]:
    """The naive baseline's tokens: lower-cased, split on whitespace."""
    return text.lower().split()


def kiwi_tokens(kiwi: Kiwi) -> Tokenize:
    """Plain Kiwi content morphemes (lower-cased forms of NNG/NNP/VV/VA/SL/SN/XR, irregular variants included)."""

    def tokenize(text: str) -> list[str]:
        return [t.form.lower() for t in kiwi.tokenize(text) if t.tag.split("-")[0] in KIWI_TAGS]

    return tokenize


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _load_set(name: str, folder: Path, files: tuple[str, str], notes: list[str]) -> QuestionSet | None:
    """A question set from its JSONL and out-of-scope files; a missing file becomes a note."""
    cases_path, oos_path = folder / files[0], folder / files[1]
    if not cases_path.exists():
        notes.append(f"{name}: `{_rel(cases_path)}` not found — set skipped")
        return None
    if not oos_path.exists():
        notes.append(f"{name}: `{_rel(oos_path)}` not found — false_accept_rate not measured")
    oos = load_out_of_scope(oos_path) if oos_path.exists() else None
    return QuestionSet(name, load_devset(cases_path), oos)


def _sets(folder: Path, table: dict[str, tuple[str, str]], wanted: set[str], notes: list[str]) -> list[QuestionSet]:
    """The wanted sets of one knowledge base that exist."""
    loaded = (
        _load_set(name, folder, files, notes) for name, files in table.items() if CATEGORY.get(name, name) in wanted
    )
    return [s for s in loaded if s is not None]


def _sample_sets(wanted: set[str], notes: list[str]) -> list[QuestionSet]:
    """dev and held on the sample, plus tricky (and with "cold" the fresh tricky3; out-of-scope only) alongside
    the held questions."""
    sets = _sets(DATA, SAMPLE_SETS, wanted, notes)
    held = next((s for s in sets if s.name == "held"), None)
    if held is not None:
        sets.append(QuestionSet("tricky", held.cases, load_out_of_scope(TRICKY), oos_only=True))
        if "cold" in wanted:
            sets.append(QuestionSet("tricky3", held.cases, load_out_of_scope(TRICKY3), oos_only=True))
    return sets


def _kb_specs(wanted: set[str], quick: bool, tmp: Path) -> list[KbSpec]:
    """The sample, the sample without kb.yaml (a temp copy) and kb2, in display order."""
    notes: list[str] = []
    sample_sets = _sample_sets(wanted, notes)
    sample = KbSpec("sample", "sample (with kb.yaml)", sample_kb_dir(), sample_sets, notes)
    if quick:
        return [sample]
    bare_root = tmp / "sample_bare"
    shutil.copytree(sample_kb_dir(), bare_root)
    (bare_root / "kb.yaml").unlink()
    bare = KbSpec("sample_bare", "sample without kb.yaml (Markdown + faq.yaml)", bare_root, sample_sets, list(notes))
    kb2_notes: list[str] = []
    kb2 = KbSpec("kb2", f"kb2 (`{_rel(KB2)}`, no kb.yaml)", KB2, _sets(KB2, KB2_SETS, wanted, kb2_notes), kb2_notes)
    specs = [sample, bare, kb2]
    for key, root, table in (
        ("kb3", KB3, KB3_SETS),
        ("kb4", KB4, KB4_SETS),
        ("kb5", KB5, KB5_SETS),
        ("kb6", KB6, KB6_SETS),
        ("kb7", KB7, KB7_SETS),
        ("kb8", KB8, KB8_SETS),
    ):
        kb_notes: list[str] = []
        sets = _sets(root, table, wanted, kb_notes)
        if sets:
            specs.append(KbSpec(key, f"{key} (`{_rel(root)}`, no kb.yaml)", root, sets, kb_notes))
    return specs


def _settings(**values: Any) -> Settings:
    """Settings from the environment only (no `.env` file)."""
    return Settings(_env_file=None, **values)


def _service(kb: KnowledgeBase, retriever: Retriever, settings: Settings) -> AnswerService:
    """The service `endy kb eval` builds (`cli._evaluate`), without an LLM."""
    return AnswerService(
        kb,
        retriever,
        None,
        max_question_chars=settings.max_question_chars,
        min_confidence=settings.answer_min_confidence,
        hedge_confidence=settings.answer_hedge_confidence,
    )


def _build(kb: KnowledgeBase, settings: Settings, tokenizer: KoreanTokenizer) -> tuple[Retriever, Json]:
    """The retriever built cold (empty token cache), then warm (cache present), both timed."""
    t0 = time.perf_counter()
    build_retriever(kb, settings, tokenizer)
    cold = time.perf_counter() - t0
    vocab = tokenizer.vocabulary  # part of the token-cache key: the warm build hits only if it is unchanged
    t0 = time.perf_counter()
    retriever = build_retriever(kb, settings, tokenizer)
    warm = time.perf_counter() - t0
    cache_files = len(list((settings.data_dir / "cache").glob("tokens-*")))
    build = {"cold_s": cold, "warm_s": warm, "cache_files": cache_files, "vocabulary": [vocab, tokenizer.vocabulary]}
    return retriever, build


def _rank(order: Sequence[int], sections: Sequence[Section], expected: str) -> int | None:
    return next((r for r, i in enumerate(order, 1) if matches(sections[i], expected)), None)


def _baseline_metrics(baseline: Bm25Baseline, sections: Sequence[Section], qset: QuestionSet) -> Json:
    """Ranking quality of a baseline; it answers everything, so answered_correctly = hit@1 and FAR = 1."""
    oos_n = len(qset.out_of_scope or [])
    out: Json = {"out_of_scope_n": oos_n, "false_accept_rate": 1.0 if oos_n else None}
    if qset.oos_only:
        return {**dict.fromkeys(IN_SCOPE_KEYS), **out}
    ranks = [_rank(baseline.ranking(c.question), sections, c.expected_section) for c in qset.cases]
    n = len(ranks)
    h1 = sum(r == 1 for r in ranks) / n
    h3 = sum(r is not None and r <= 3 for r in ranks) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return {"n": n, "hit_at_1": h1, "hit_at_3": h3, "mrr": mrr, "answered_correctly": h1, "refused_but_found": 0, **out}


async def _endy_metrics(service: AnswerService, qset: QuestionSet) -> Json:
    """`endy_bot.evaluation.evaluate` on the set; an out-of-scope-only set keeps only its out-of-scope part."""
    raw = (await evaluate(service, qset.cases, qset.out_of_scope)).as_dict()
    if qset.oos_only:
        raw = {**raw, **dict.fromkeys(IN_SCOPE_KEYS), "misses": []}
    return raw


def _spread(values: list[float]) -> Json:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


async def _latency(service: AnswerService, questions: list[str]) -> Json:
    """Per-question `service.answer` latency (ms): p50 and p95 of each of REPS loops over the questions."""
    p50s: list[float] = []
    p95s: list[float] = []
    for _ in range(REPS):
        times = []
        for question in questions:
            t0 = time.perf_counter()
            await service.answer(question, ASKER)
            times.append((time.perf_counter() - t0) * 1000)
        p50s.append(statistics.median(times))
        p95s.append(statistics.quantiles(times, n=20)[-1])
    return {"questions": len(questions), "reps": REPS, "p50_ms": _spread(p50s), "p95_ms": _spread(p95s)}


def _questions(sets: Sequence[QuestionSet]) -> list[str]:
    """Every distinct question of the sets, in- and out-of-scope, in order."""
    return list(dict.fromkeys(q for s in sets for q in [c.question for c in s.cases] + (s.out_of_scope or [])))


async def _measure_kb(spec: KbSpec, tokenizer: KoreanTokenizer, plain: Tokenize, tmp: Path) -> Json:
    """Build, score every set with Endy and both baselines, and time the answers on one knowledge base."""
    kb = load_knowledge_base(spec.root)
    settings = _settings(data_dir=tmp / f"data-{spec.key}")
    retriever, build = _build(kb, settings, tokenizer)
    service = _service(kb, retriever, settings)
    baselines = {
        "kiwi_bm25": Bm25Baseline(kb.sections, plain),
        "whitespace_bm25": Bm25Baseline(kb.sections, whitespace_tokens),
    }
    sets: Json = {}
    for qset in spec.sets:
        sets[qset.name] = {"endy": await _endy_metrics(service, qset)}
        sets[qset.name] |= {name: _baseline_metrics(b, kb.sections, qset) for name, b in baselines.items()}
    questions = _questions(spec.sets)
    return {
        "key": spec.key,
        "label": spec.label,
        "root": _rel(spec.root) if spec.key != "sample_bare" else "(temp copy of the sample without kb.yaml)",
        "sections": len(kb.sections),
        "faq": kb.faq_count,
        "load_errors": [str(e) for e in kb.errors],
        "notes": spec.notes,
        "build": build,
        "latency": await _latency(service, questions) if len(questions) >= 2 else None,
        "sets": sets,
    }


def _scaling_row(size: int, proc: subprocess.CompletedProcess[str]) -> Json:
    if proc.returncode == 0:
        try:
            return {"size": size, **json.loads(proc.stdout.strip().splitlines()[-1])}
        except (ValueError, IndexError):
            pass
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"size": size, "error": " | ".join(tail) or f"exit status {proc.returncode}"}


def _scaling(sizes: Sequence[int]) -> list[Json]:
    """Latency/RSS at synthetic sizes from bench/retrieval.py, one fresh subprocess and empty cache per size."""
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="endy-scaling-") as cache:
            cmd = [sys.executable, str(ROOT / "bench" / "retrieval.py"), "--one", str(size), "--cache", cache]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False, cwd=ROOT)
            except subprocess.TimeoutExpired:
                rows.append({"size": size, "error": "timed out after 1800 s"})
                continue
        rows.append(_scaling_row(size, proc))
    return rows


def _commit() -> str:
    try:
        cmd = ["git", "rev-parse", "--short", "HEAD"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return proc.stdout.strip()


async def run(wanted: set[str], quick: bool, sizes: Sequence[int]) -> Json:
    """Measure every knowledge base (bare sample first, see below) and the size scaling."""
    settings = _settings()
    with tempfile.TemporaryDirectory(prefix="endy-quality-") as tmp:
        specs = _kb_specs(wanted, quick, Path(tmp))
        plain = kiwi_tokens(Kiwi())
        measured: dict[str, Json] = {}
        loads: list[float] = []
        # A Kiwi of its own per handbook, as each Endy process has: the user words one handbook adds (its compounds)
        # would otherwise change how the next one is analysed.
        for spec in specs:
            t0 = time.perf_counter()
            tokenizer = KoreanTokenizer()
            tokenizer.warm_up()
            loads.append(time.perf_counter() - t0)
            measured[spec.key] = await _measure_kb(spec, tokenizer, plain, Path(tmp))
            del tokenizer
        kiwi_load = statistics.median(loads)
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "quick": quick,
        "sets": sorted(wanted),
        "min_confidence": settings.answer_min_confidence,
        "hedge_confidence": settings.answer_hedge_confidence,
        "kiwi_load_s": kiwi_load,
        "kbs": [measured[s.key] for s in specs],
        "scaling": _scaling(sizes),
    }


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _kb_table(kb: Json) -> list[str]:
    """One row per set × system."""
    lines = [
        f"### {kb['label']} — {kb['sections']} sections ({kb['faq']} FAQ)",
        "",
        "| set | system | n (in / out) | hit@1 | hit@3 | answered_correctly | false_accept_rate | refused_but_found |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for set_name, systems in kb["sets"].items():
        for key, label in SYSTEMS.items():
            m = systems[key]
            n = f"{_fmt(m['n'])} / {_fmt(m['out_of_scope_n'] or None)}"
            cells = [m[k] for k in ("hit_at_1", "hit_at_3", "answered_correctly", "false_accept_rate")]
            lines.append(
                f"| {set_name} | {label} | {n} | {' | '.join(map(_fmt, cells))} | {_fmt(m['refused_but_found'])} |"
            )
    if not kb["sets"]:
        lines.append("| — | no question set available | | | | | | |")
    notes = kb["notes"] + [f"load error: {e}" for e in kb["load_errors"]]
    return [*lines, "", *[f"- {note}" for note in notes], *([""] if notes else [])]


def _ms(spread: Json) -> str:
    return f"{spread['median']:.2f} ({spread['min']:.2f}–{spread['max']:.2f})"


def _timing_table(result: Json) -> list[str]:
    """Build times and answer latency per knowledge base."""
    lines = [
        "### Timing",
        "",
        f"| KB | sections | build cold (s) | build warm (s) | questions × {REPS} | answer p50 (ms) | answer p95 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kb in result["kbs"]:
        b, lat = kb["build"], kb["latency"]
        timing = f"{lat['questions']} | {_ms(lat['p50_ms'])} | {_ms(lat['p95_ms'])}" if lat else "— | — | —"
        lines.append(f"| {kb['key']} | {kb['sections']} | {b['cold_s']:.2f} | {b['warm_s']:.3f} | {timing} |")
    missed = [kb["key"] for kb in result["kbs"] if len(set(kb["build"]["vocabulary"])) > 1]
    lines += [
        "",
        f"Kiwi tokenizer load + warm-up: {result['kiwi_load_s']:.2f} s (median; a fresh one per handbook, as each Endy"
        " process serves one handbook).",
    ]
    if missed:
        lines.append(
            f"⚠ warm build missed the token cache for {', '.join(missed)}: `add_compounds` added user words on its "
            "second pass, so the tokenizer vocabulary (part of the cache key) changed between the two builds."
        )
    return [*lines, ""]


def _scaling_lines(rows: list[Json]) -> list[str]:
    """bench/retrieval.py's latency/RSS rows, or its error text."""
    if not rows:
        return ["### Size scaling", "", "Not run (`--quick` or `--sizes` with no size).", ""]
    lines = [
        "### Size scaling (`bench/retrieval.py --one SIZE`, synthetic KB, `search_lexical` only)",
        "",
        "| sections | index cold (s) | index warm (s) | p50 (ms) | p95 (ms) | RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    errors = []
    for r in rows:
        if "error" in r:
            errors.append(f"- size {r['size']}: bench/retrieval.py failed: `{r['error']}`")
            continue
        lines.append(
            f"| {r['sections']} | {r['index_cold_s']:.2f} | {r['index_warm_s']:.2f} | {r['p50_ms']:.2f} | "
            f"{r['p95_ms']:.2f} | {r['rss_mb']:.0f} |"
        )
    return [*lines, "", *errors, *([""] if errors else [])]


def render(result: Json, command: str) -> str:
    """The Markdown section: one quality table per KB, timing, scaling, and how it was measured."""
    m = result["machine"]
    head = [
        "## Answer quality (`bench/quality.py`)",
        "",
        f"`{command}` — run of {result['date']}, commit `{result['commit']}` (plus uncommitted changes, if any), "
        f"{m['cores']} cores, Python {m['python']}.",
        "",
        "Endy is the production pipeline exactly as `endy kb eval` runs it (`AnswerService` + `evaluation.evaluate`, "
        f"no LLM, ANSWER_MIN_CONFIDENCE={result['min_confidence']}, ANSWER_HEDGE_CONFIDENCE="
        f"{result['hedge_confidence']}). Baselines index the same sections (`section_index_text`) with `bm25s`: "
        "*whitespace BM25* splits the lower-cased text on whitespace; *kiwi BM25* keeps a plain `Kiwi()`'s "
        "NNG/NNP/VV/VA/SL/SN/XR forms (lower-cased; no user words, synonyms or stop words).",
        "",
        "n = in-scope / out-of-scope questions. hit@k: the expected section (`evaluation.matches`) in the top k. "
        "answered_correctly: answered (a hedge counts) with the expected section as first source. "
        'false_accept_rate: share of out-of-scope questions answered. refused_but_found: "not found" although '
        "the top hit was right. **Baselines never abstain**, so their answered_correctly = hit@1 and their "
        "false_accept_rate = 1.0 by definition. *tricky* = `tricky_out_of_scope_v2.txt` and *tricky3* = "
        "`tricky_out_of_scope_v3.txt` (out-of-scope only), run with the held questions.",
        "",
    ]
    body = [line for kb in result["kbs"] for line in _kb_table(kb)]
    tail = ["### Warnings logged during the run", "", *[f"- `{w}`" for w in result["warnings"]]]
    lines = head + body + _timing_table(result) + _scaling_lines(result["scaling"])
    return "\n".join(lines + (tail if result["warnings"] else [])).rstrip() + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the text between the quality markers (inclusive), or append the marked section at the end."""
    block = f"{START}\n{section.rstrip()}\n{END}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(START), text.find(END)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(END) :]
    else:
        text += ("\n" if text and not text.endswith("\n") else "") + ("\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")


def _warning_text(record: Record) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in record["extra"].items())
    return f"{record['name']}: {record['message']}" + (f" ({extra})" if extra else "")


def _set_list(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = set(names) - {"dev", "held", "cold"}
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"sets are dev, held, cold (got {value!r})")
    return names


def main() -> None:
    """Measure, write bench/results/quality.json, print the Markdown (and write it into --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="only the sample KB's dev set, no size scaling")
    parser.add_argument(
        "--sets", type=_set_list, default=["dev", "held", "cold"], help="comma-separated: dev,held,cold"
    )
    parser.add_argument("--sizes", type=int, nargs="*", help="bench/retrieval.py sizes (default 1000 10000)")
    parser.add_argument("--out", type=Path, help="Markdown file whose quality section is replaced")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    warnings: list[str] = []
    logger.add(lambda message: warnings.append(_warning_text(message.record)), level="WARNING")
    sizes = args.sizes if args.sizes is not None else ([] if args.quick else [1000, 10000])
    result = asyncio.run(run({"dev"} if args.quick else set(args.sets), args.quick, sizes))
    result["warnings"] = list(dict.fromkeys(warnings))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    section = render(result, " ".join(["python bench/quality.py", *sys.argv[1:]]))
    print(section, end="")
    if args.out:
        write_section(args.out, section)


if __name__ == "__main__":
    main()
