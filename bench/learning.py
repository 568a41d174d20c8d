"""Learning-loop benchmark (issue 16): close kb2's cold-set misses through LearningService only, then ask blind
paraphrases that were never used for teaching; check the other sets did not regress; reload latency across two
replicas; retrieval p95 at 10k sections with and without learned entries.

Run: DATABASE_URL=postgresql://… REDIS_URL=redis://… .venv/bin/python bench/learning.py [--runs 3]
     [--out docs/benchmarks.md] [--quality-only]
It creates (and drops) its own database on DATABASE_URL's server and uses its own Redis key prefix. The cold
questions are only fed to the pipeline and the learning service; nothing prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from loguru import logger  # noqa: E402

from config.settings import Settings  # noqa: E402
from endy_bot.evaluation import EvalCase, EvalReport, evaluate, load_devset, load_out_of_scope, matches  # noqa: E402
from handlers.learning_blocks import MAX_PROPOSALS  # noqa: E402
from services.admin import AdminService  # noqa: E402
from services.answer_types import AnswerKind, Asker  # noqa: E402
from services.answering import AnswerService  # noqa: E402
from services.kb_model import KnowledgeBase  # noqa: E402
from services.kb_reload import KnowledgeReloader  # noqa: E402
from services.knowledge import load_knowledge_base  # noqa: E402
from services.learning import Actor, FaqDraft, LearningRefused, LearningService, question_key  # noqa: E402
from services.learning_merge import merge_learned  # noqa: E402
from services.learning_store import LearningStore  # noqa: E402
from services.learning_types import LearnedFaq, LearnedPhrasing, LearnedSnapshot  # noqa: E402
from services.metrics import Metrics  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.privacy import mask_pii  # noqa: E402
from services.retrieval import Retriever  # noqa: E402
from services.signing import Keyring  # noqa: E402
from services.storage import Exchange, Storage  # noqa: E402
from services.tokenizer import KoreanTokenizer  # noqa: E402

Json = dict[str, Any]
KB2 = ROOT / "bench" / "data" / "kb2"
RESULTS = ROOT / "bench" / "results" / "learning.json"
START, END = "<!-- learning:start -->", "<!-- learning:end -->"
ADMIN = Actor("T-bench", "U-bench-admin")
SETTINGS = Settings(_env_file=None)


class Replica:
    """One Endy process as far as answering and learning go: its answer service, learning service and reloader."""

    def __init__(self, pool: asyncpg.Pool, base: KnowledgeBase, tokenizer: KoreanTokenizer, cache: Path) -> None:
        self.base, self.tokenizer, self.cache = base, tokenizer, cache
        self.answers = AnswerService(
            base,
            Retriever(base, tokenizer, cache_dir=cache),
            None,
            min_confidence=SETTINGS.answer_min_confidence,
            hedge_confidence=SETTINGS.answer_hedge_confidence,
        )
        storage = Storage(pool)
        self.storage = storage
        self.learning = LearningService(
            LearningStore(pool),
            storage,
            self.answers,
            AdminService(storage, [ADMIN.user_id], tokenizer),
            metrics=Metrics(),
            rebuild=self.rebuild,
            min_upvotes=SETTINGS.learn_min_upvotes,
            phrasings_per_section=SETTINGS.learned_phrasings_per_section,
        )
        self.rebuilt = asyncio.Event()

    async def rebuild(self) -> None:
        """What Deps.reload_knowledge does: the folder's knowledge plus the learned layer, swapped in."""
        kb = await self.learning.merged(self.base)
        self.answers.swap(kb, await asyncio.to_thread(Retriever, kb, self.tokenizer, cache_dir=self.cache))
        self.rebuilt.set()


@asynccontextmanager
async def database() -> AsyncIterator[asyncpg.Pool]:
    """A fresh database on DATABASE_URL's server, migrated; dropped afterwards."""
    url = os.environ["DATABASE_URL"]
    name = f"bench_learning_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    pool = await asyncpg.create_pool(url.rsplit("/", 1)[0] + f"/{name}", min_size=1, max_size=6)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        yield pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _sets() -> dict[str, tuple[list[EvalCase], list[str]]]:
    out = {}
    for name, cases, oos in (
        ("paraphrases", "learn_paraphrases.jsonl", "learn_oos.txt"),
        ("paraphrases2", "learn_paraphrases2.jsonl", "learn2_oos.txt"),
        ("dev", "dev.jsonl", "dev_oos.txt"),
        ("held", "held.jsonl", "held_oos.txt"),
        ("cold", "cold.jsonl", "cold_oos.txt"),
    ):
        out[name] = (load_devset(KB2 / cases), load_out_of_scope(KB2 / oos))
    return out


def _figures(report: EvalReport) -> Json:
    return {
        "n": report.n,
        "answered_correctly": report.answered_correctly,
        "hit_at_1": report.hit_at_1,
        "false_accept_rate": report.false_accept_rate,
        "oos_n": report.out_of_scope_n,
    }


async def _evaluate_all(answers: AnswerService, sets: dict[str, tuple[list[EvalCase], list[str]]]) -> Json:
    return {name: _figures(await evaluate(answers, cases, oos)) for name, (cases, oos) in sets.items()}


async def _record_misses(replica: Replica, cases: list[EvalCase]) -> tuple[int, dict[str, str]]:
    """Ask the cold set as employees would (recorded); a wrong answer gets its asker's 👎. Returns the misses."""
    expected: dict[str, str] = {}
    for i, case in enumerate(cases):
        answer = await replica.answers.answer(case.question, Asker(f"U{i}"))
        ok = (
            answer.kind is AnswerKind.ANSWER
            and answer.sources
            and any(
                matches(s, case.expected_section)
                for s in replica.answers.kb.sections
                if s.id == answer.sources[0].section_id
            )
        )
        if ok:
            continue
        masked = mask_pii(answer.question)
        expected[question_key(masked)] = case.expected_section
        message = await replica.storage.record_exchange(_exchange(answer, masked, f"U{i}"))
        if answer.kind is AnswerKind.ANSWER:
            await replica.storage.record_feedback(message, "T-bench", f"U{i}", -1, "button", ("inaccurate",))
    return len(expected), expected


def _exchange(answer: Any, masked: str, user: str) -> Exchange:
    return Exchange(
        request_id=uuid.uuid4(),
        surface="dm",
        team_id="T-bench",
        channel_id="D1",
        thread_ts=None,
        user_id=user,
        question=masked,
        answer=answer.text,
        kind=answer.kind.value,
        sources=[s.to_dict() for s in answer.sources],
        confidence=answer.confidence,
        used_llm=False,
        llm_failed=False,
        model=None,
        prompt_tokens=0,
        completion_tokens=0,
        latency_ms=1,
        category=answer.category,
        department=None,
        kb_version="bench",
        created_at=datetime.now(UTC),
    )


async def _accept_all(replica: Replica, gap_id: str) -> Json:
    """동의어 추가 as an admin who accepts every proposal as the modal shows it (each word checked, its best knowledge
    word filled in). The service takes the pairs all or nothing: a pair it refuses is unchecked and the rest sent."""
    svc = replica.learning
    shown = [p for p in await svc.propose_synonyms(gap_id) if p.candidates][:MAX_PROPOSALS]
    pairs = [(p.word, p.candidates[0]) for p in shown]
    refused = 0
    while pairs:
        try:
            added = (await svc.accept_synonyms(pairs, ADMIN, gap_id=gap_id, rebuild=False)).added
            return {"proposed": len(shown), "accepted": added, "refused": refused}
        except LearningRefused as err:
            refused += 1
            pairs = [pair for pair in pairs if err.detail not in pair] if err.detail else pairs[1:]
    return {"proposed": len(shown), "accepted": 0, "refused": refused}


async def _close_gaps(replica: Replica, expected: dict[str, str], synonyms: bool) -> Json:
    """What an admin does in `/endy-admin gaps`: for each group, click the section that answers it; with `synonyms`,
    first open 동의어 추가 and accept every proposed pair (the proposals come from the index before this teaching)."""
    svc, taught, picked_from_candidates, mixed = replica.learning, 0, 0, 0
    words = Counter[str]()
    gaps = await svc.gaps(30, limit=100)
    for gap in gaps:
        wanted = Counter(expected[k] for q in gap.questions if (k := question_key(q)) in expected)
        if not wanted:
            continue
        if synonyms:
            done = await _accept_all(replica, gap.gap_id)
            words.update({**done, "gaps_with_proposals": int(done["proposed"] > 0)})
        target, _ = wanted.most_common(1)[0]
        mixed += len(wanted) > 1
        by_id = {s.id: s for s in svc.kb.sections}
        choice = next((c for c in gap.candidates if matches(by_id[c.section_id], target)), None)
        if choice is not None:
            picked_from_candidates += 1
        else:  # not among the candidates: the admin searches the section by title in the modal
            choice = next(iter(await svc.search_sections(target, limit=1)), None)
        if choice is not None:
            taught += (await svc.teach_section(gap.gap_id, choice.section_id, ADMIN, rebuild=False)).added
    await svc.changed()
    return {
        "gaps": len(gaps),
        "phrasings_taught": taught,
        "picked_from_candidates": picked_from_candidates,
        "groups_with_two_expected_sections": mixed,
        "synonyms": {k: words[k] for k in ("gaps_with_proposals", "proposed", "accepted", "refused")},
    }


async def _outcomes(replica: Replica, cases: list[EvalCase]) -> Json:
    """How the paraphrases fare after teaching, counted only (right section, wrong section, not found)."""
    counts = Counter[str]()
    for i, case in enumerate(cases):
        answer = await replica.answers.answer(case.question, Asker(f"P{i}"))
        by_id = {s.id: s for s in replica.answers.kb.sections}
        if answer.kind is AnswerKind.NOT_FOUND or not answer.sources:
            counts["not_found"] += 1
        else:
            counts["right" if matches(by_id[answer.sources[0].section_id], case.expected_section) else "wrong"] += 1
    return {k: counts[k] for k in ("right", "wrong", "not_found")}


async def quality(pool: asyncpg.Pool, tokenizer: KoreanTokenizer, cache: Path, synonyms: bool) -> Json:
    """Before → after on the paraphrases and the other sets, the gaps closed only through the learning service
    (with or without accepting the synonym proposals)."""
    base = load_knowledge_base(KB2)
    replica = Replica(pool, base, tokenizer, cache)
    sets = _sets()
    before = await _evaluate_all(replica.answers, sets)
    misses, expected = await _record_misses(replica, sets["cold"][0])
    closing = await _close_gaps(replica, expected, synonyms)
    after = await _evaluate_all(replica.answers, sets)
    return {
        "before": before,
        "after": after,
        "paraphrase_outcomes": await _outcomes(replica, sets["paraphrases2"][0]),
        "cold_misses": misses,
        "closing": closing,
        "learned_sections": len(replica.answers.kb.sections) - len(base.sections),
    }


async def reload_latency(pool: asyncpg.Pool, tokenizer: KoreanTokenizer, cache: Path, runs: int) -> Json:
    """Two replicas on one PostgreSQL/Redis: from the admin's click on A until B answers with the new knowledge."""
    base = load_knowledge_base(KB2)
    a, b = Replica(pool, base, tokenizer, cache), Replica(pool, base, tokenizer, cache)
    redis = aioredis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    prefix, keys = f"bench-learning-{uuid.uuid4().hex[:8]}:", Keyring("bench-learning-secret-0123456789abcdef")
    reloaders = [
        KnowledgeReloader(
            redis, key_prefix=prefix, reload=r.rebuild, signer=keys.signer("kb-reload"), metrics=Metrics()
        )
        for r in (a, b)
    ]
    for reloader in reloaders:
        await reloader.start()
        await asyncio.wait_for(reloader.subscribed.wait(), 10)
    a.learning.reloader = reloaders[0]
    seconds, local = [], []
    try:
        for run in range(runs):
            question = f"벤치마크 전용 질문 {run}번 행성 코드명은 무엇인가요"
            b.rebuilt.clear()
            t0 = time.perf_counter()
            await a.learning.add_faq(FaqDraft(question, f"행성 코드명은 벤치{run}이에요."), ADMIN)
            local.append(time.perf_counter() - t0)
            while (await b.answers.answer(question, Asker("U-probe"))).kind is not AnswerKind.ANSWER:
                await asyncio.wait_for(b.rebuilt.wait(), 30)
                b.rebuilt.clear()
            seconds.append(time.perf_counter() - t0)
    finally:
        for reloader in reloaders:
            await reloader.aclose()
        await redis.aclose()
    return {"second_replica_s": _spread(seconds), "first_replica_s": _spread(local), "runs": runs}


def _spread(values: list[float]) -> Json:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _synthetic(size: int, root: Path) -> KnowledgeBase:
    spec = importlib.util.spec_from_file_location("bench_retrieval", ROOT / "bench" / "retrieval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._synthetic_kb(root, size)
    return load_knowledge_base(root)


def _learned_for(kb: KnowledgeBase, questions: list[str], n: int) -> LearnedSnapshot:
    """n phrasings on random sections, n/5 curated entries and n/10 synonym pairs (what a busy year teaches)."""
    rng = random.Random(n)
    docs = [s.id for s in kb.sections]
    phrasings = [LearnedPhrasing(i, rng.choice(docs), f"{rng.choice(questions)} {i}") for i in range(n)]
    faq = [
        LearnedFaq(i, f"{rng.choice(questions)} 사내 {i}", rng.choice(kb.sections).text, None, None, None)
        for i in range(n // 5)
    ]
    synonyms = [(f"벤치말{i}", "연차") for i in range(n // 10)]
    return LearnedSnapshot(faq, phrasings, synonyms)


def _p95(retriever: Retriever, questions: list[str]) -> float:
    times = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search_lexical(q, k=5)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.quantiles(times, n=20)[-1]


def retrieval_cost(size: int, learned: int, runs: int, cache: Path) -> Json:
    """Retrieval p95 at `size` sections, plain vs with `learned` phrasings (+ FAQ, synonyms) merged in."""
    questions = [
        c.question
        for name in ("dev.jsonl", "held.jsonl")
        for c in load_devset(ROOT / "tests" / "data" / ("devset.jsonl" if name == "dev.jsonl" else "heldout.jsonl"))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        kb = _synthetic(size, Path(tmp) / "kb")
    merged = merge_learned(kb, _learned_for(kb, questions, learned), 10**6)
    built = {}
    for label, variant in (("plain", kb), ("learned", merged)):
        tokenizer = KoreanTokenizer()
        built[label] = Retriever(variant, tokenizer, cache_dir=cache)
    p95: dict[str, list[float]] = {"plain": [], "learned": []}
    for _ in range(runs):  # alternate so drift of the machine hits both
        for label in ("plain", "learned"):
            p95[label].append(_p95(built[label], questions * 2))
    return {
        "sections": {"plain": len(kb.sections), "learned": len(merged.sections)},
        "learned_phrasings": learned,
        "p95_ms": {k: _spread(v) for k, v in p95.items()},
    }


_SETS = (
    ("paraphrases2", "blind paraphrases, second writer (never taught, never looked at)"),
    ("paraphrases", "blind paraphrases, first writer (never taught; read while tuning: development figure)"),
    ("dev", "dev"),
    ("held", "held"),
    ("cold", "cold (taught on — development figure)"),
)


def _rows(none: Json, every: Json) -> list[str]:
    """One row per set: before, after teaching sections only, after also accepting every synonym proposal."""
    rows = []
    for name, label in _SETS:
        b, a, s = none["before"][name], none["after"][name], every["after"][name]
        rows.append(
            f"| {label} | {b['n']} | {b['answered_correctly']:.3f} → {a['answered_correctly']:.3f} →"
            f" **{s['answered_correctly']:.3f}** | {b['false_accept_rate']:.3f} → {a['false_accept_rate']:.3f} →"
            f" {s['false_accept_rate']:.3f} (n={a['oos_n']}) |"
        )
    return rows


def markdown(result: Json) -> str:
    q, r, c = result["quality"], result["reload"], result["retrieval"]
    every: Json = result.get("quality_synonyms") or q
    p, s = c["p95_ms"], r["second_replica_s"]
    closing, words = q["closing"], every["closing"].get("synonyms", {})
    return "\n".join(
        [
            START,
            "## Learning loop (issue 16)",
            "",
            f"`bench/learning.py`, {result['date']}, commit `{result['commit']}`, kb2 (`bench/data/kb2`,"
            " no kb.yaml), no LLM.",
            f"The cold set's {q['cold_misses']} misses were asked as employees would (recorded; wrong answers got the"
            f" asker's 👎) and listed by `LearningService.gaps` as {closing['gaps']} groups; each was closed only with"
            f" `teach_section` on the expected section (the admin's click: {closing['picked_from_candidates']} from the"
            f" offered candidates, the rest by title search; {closing['groups_with_two_expected_sections']} groups"
            f" mixed two expected sections) → {closing['phrasings_taught']} learned phrasings. Run twice, each on a"
            " fresh database: the admin **accepts no synonym proposal** (teaching only), and the admin **accepts"
            " every proposal** — before teaching each group, `propose_synonyms` (동의어 추가) and `accept_synonyms`"
            " with each proposed word and its first knowledge word, as the modal fills them in (a pair the service"
            f" refuses is unchecked): {words.get('gaps_with_proposals', 0)} of {closing['gaps']} groups got"
            f" proposals, {words.get('proposed', 0)} words proposed, {words.get('accepted', 0)} pairs accepted,"
            f" {words.get('refused', 0)} refused. Then blind paraphrases of those questions and the other sets were"
            " asked again. Two writers, neither of whom saw the engine or the teaching: `learn_paraphrases.jsonl` (30;"
            " its misses were read while tuning on 2026-12-01, so it is now a development set) and"
            " `learn_paraphrases2.jsonl` (40, written and frozen that day before any change, never read: the figure"
            " the target is judged on). Out-of-scope column: each set's own out-of-scope file (`learn_oos.txt`,"
            " `learn2_oos.txt` for the paraphrases).",
            "",
            _verdict(every, q),
            _misses(every),
            "",
            "| set | n | answered_correctly before → after (no synonyms) → after (all synonyms) |"
            " false_accept_rate before → no synonyms → all synonyms |",
            "|---|---|---|---|",
            *_rows(q, every),
            "",
            f"Reload with two replicas (two service instances on one PostgreSQL and Redis, signed reload message,"
            f" production debounce {1.0:.1f} s): the second replica answers with the new knowledge"
            f" {s['median']:.2f} s after the admin's action (median of {r['runs']}, min {s['min']:.2f}–max"
            f" {s['max']:.2f}); the first one {r['first_replica_s']['median']:.2f} s (its own rebuild, before the"
            " action returns). The token cache is kept per text (services/retrieval.py): a learned phrasing is its"
            " section's copy with a new title, so a reload analyses that title only (keyed by the whole"
            " knowledge-base version, as it was until 2026-12-01, every section was analysed again: 1.10 s).",
            "",
            f"Retrieval p95 at {c['sections']['plain']} sections: {p['plain']['median']:.1f} ms"
            f" ({p['plain']['min']:.1f}–{p['plain']['max']:.1f}) without learned entries,"
            f" {p['learned']['median']:.1f} ms ({p['learned']['min']:.1f}–{p['learned']['max']:.1f}) with"
            f" {c['learned_phrasings']} learned phrasings, {c['learned_phrasings'] // 5} curated FAQ entries and"
            f" {c['learned_phrasings'] // 10} synonym pairs merged ({c['sections']['learned']} sections);"
            f" median of {result['runs']} alternating runs (min–max), same machine and run.",
            END,
        ]
    )


def _misses(q: Json) -> str:
    """Where the paraphrases that are still wrong go (counts only; the paraphrases stay blind)."""
    o = q.get("paraphrase_outcomes")
    if not o:
        return ""
    return (
        f" After teaching (all synonyms accepted) {o['not_found']} of the second writer's paraphrases are refused as"
        f" not found and {o['wrong']} answered from another section (counts only: that set stays unread). In the"
        " first writer's misses the paraphrase's everyday words (게이트 태그, 반찬통, 팔레트) are in neither the"
        " handbook nor the taught question: they weigh against the confidence, and no synonym was proposed for them"
        " because the gap's own questions never used them."
    )


def _verdict(q: Json, none: Json) -> str:
    """The issue's targets, stated plainly: ≥ 0.85 on the paraphrases, no regression beyond 0.02 elsewhere (for the
    admin who accepts every proposal; teaching only in brackets)."""
    after = q["after"]["paraphrases2"]["answered_correctly"]
    worst = max(
        max(
            q["before"][n]["answered_correctly"] - q["after"][n]["answered_correctly"],
            q["after"][n]["false_accept_rate"] - q["before"][n]["false_accept_rate"],
        )
        for n in ("dev", "held")
    )
    target = "met" if after >= 0.85 else "**not met**"
    regression = "none beyond 0.02" if worst <= 0.02 else f"**{worst:.3f}**"
    return (
        f"Targets: paraphrases ≥ 0.85 after — {target} ({after:.3f} accepting every synonym proposal,"
        f" {none['after']['paraphrases2']['answered_correctly']:.3f} accepting none; second writer's set);"
        f" regression on dev/held — {regression}. Teaching a section learns the gap's own words (plus a few"
        " lexicon words fixed at teaching time) and a synonym only the gap's words the handbook never uses; blind"
        " paraphrases that share neither with the handbook stay out of reach of a lexical engine without an LLM."
    )


def _write(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def _commit() -> str:
    import subprocess

    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


async def main(args: argparse.Namespace) -> Json:
    tokenizer = KoreanTokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        async with database() as pool:
            result_quality = await quality(pool, tokenizer, cache, synonyms=False)
        async with database() as pool:
            result_synonyms = await quality(pool, tokenizer, cache, synonyms=True)
        if args.quality_only:  # a quick look at the answer figures (nothing written)
            return {"quality": result_quality, "quality_synonyms": result_synonyms}
        async with database() as pool:
            result_reload = await reload_latency(pool, KoreanTokenizer(), cache, args.runs)
        result_retrieval = await asyncio.to_thread(retrieval_cost, args.size, args.learned, args.runs, cache)
    return {
        "quality": result_quality,
        "quality_synonyms": result_synonyms,
        "reload": result_reload,
        "retrieval": result_retrieval,
        "runs": args.runs,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "commit": await asyncio.to_thread(_commit),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--learned", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quality-only", action="store_true", help="answer figures only, printed")
    options = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    result = asyncio.run(main(options))
    if options.quality_only:
        print(json.dumps({k: {m: v[m] for m in ("before", "after", "closing")} for k, v in result.items()}, indent=1))
        sys.exit(0)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    section = markdown(result)
    print(section)
    if options.out:
        _write(options.out, section)


def rewrite(out: Path) -> None:
    """Re-render the docs section from bench/results/learning.json (no re-run)."""
    _write(out, markdown(json.loads(RESULTS.read_text(encoding="utf-8"))))
