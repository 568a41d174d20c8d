"""Votes teach, askers are told once, replicas rebuild through the signed reload, and exports import idempotently."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import yaml

from config.settings import Settings
from services.answer_types import AnswerKind
from services.kb_model import KnowledgeBase
from services.kb_reload import KnowledgeReloader
from services.knowledge import load_knowledge_base, sample_kb_dir
from services.learning import WRONG_SECTION_REASON, FaqDraft, VoteEvent
from services.learning_merge import merge_learned
from services.signing import Keyring
from services.tokenizer import KoreanTokenizer
from tests.helpers import eventually
from tests.services.learning_support import (
    ADMIN,
    FRIDGE,
    LOUNGE,
    LOUNGE_ID,
    ME,
    Rig,
    asked,
    open_rig,
)

KEYS = Keyring("learning-test-secret-key-0123456789abcdef")


def vote(user: str, rating: int, section: str = LOUNGE_ID, reasons: tuple[str, ...] = ()) -> VoteEvent:
    return VoteEvent(FRIDGE, section, "T1", user, rating, reasons)


async def test_upvotes_from_distinct_people_teach_and_wrong_section_demotes(rig: Rig) -> None:
    assert await rig.svc.record_vote(vote("U1", 1)) is None
    assert await rig.svc.record_vote(vote("U1", 1)) is None  # the same person again is still one person
    taught = await rig.svc.record_vote(vote("U2", 1))  # LEARN_MIN_UPVOTES=2
    assert taught is not None and taught.added == 1
    assert await rig.ask(FRIDGE) == (AnswerKind.ANSWER, LOUNGE)
    (entry,) = await rig.svc.learned(LOUNGE_ID)
    assert entry.origin == "votes" and entry.text == FRIDGE

    learned_id = rig.answers.kb.sections[-1].id  # the answer now cites the learned phrasing: votes map back to it
    assert await rig.svc.record_vote(vote("U3", -1, learned_id, (WRONG_SECTION_REASON,))) is None
    assert await rig.svc.learned(LOUNGE_ID) == []
    assert (await rig.ask(FRIDGE))[0] is AnswerKind.NOT_FOUND
    assert await rig.svc.record_vote(vote("U4", 1)) is None  # demoted: votes never teach this pair again


async def test_votes_by_request_id_look_up_the_question_and_the_cited_section(rig: Rig) -> None:
    request = uuid.uuid4()
    await asked(rig.svc.storage, FRIDGE, kind="answer", section=(LOUNGE_ID, LOUNGE), request_id=request)
    assert await rig.svc.record_vote_for(str(uuid.uuid4()), "T1", "U1", 1) is None  # not stored (yet)
    assert await rig.svc.record_vote_for(str(request), "T1", "U1", 1) is None
    taught = await rig.svc.record_vote_for(str(request), "T1", "U2", 1)
    assert taught is not None and [e.text for e in await rig.svc.learned(LOUNGE_ID)] == [FRIDGE]


async def test_a_plain_downvote_does_not_demote(rig: Rig) -> None:
    await rig.svc.record_vote(vote("U1", -1, reasons=("outdated",)))
    await rig.svc.record_vote(vote("U2", 1))
    assert await rig.svc.record_vote(vote("U3", 1)) is not None


async def test_an_asker_who_opted_in_is_told_once_when_the_gap_closes(rig: Rig) -> None:
    await asked(rig.svc.storage, FRIDGE, user="U1")
    assert await rig.svc.subscribe(FRIDGE, "T1", "U1") is True
    assert await rig.svc.subscribe(FRIDGE + " ", "T1", "U1") is False
    await asked(rig.svc.storage, "주차 도장 어디서 찍어요 010-1234-5678", user="U2")  # not opted in
    assert await rig.svc.claim_notifications() == []
    for gap in await rig.svc.gaps(7):
        await rig.svc.add_faq(FaqDraft(gap.example, "매주 금요일에 비워요."), ME, gap.gap_id)

    first, second = await asyncio.gather(rig.svc.claim_notifications(), rig.svc.claim_notifications())
    claimed = first + second
    assert [(n.user_id, n.question) for n in claimed] == [("U1", FRIDGE)]
    assert await rig.svc.claim_notifications() == []


async def test_a_change_reaches_the_other_replica(
    rig: Rig,
    pg_url: str,
    base_kb: KnowledgeBase,
    own_tokenizer: KoreanTokenizer,
    token_cache: Path,
    redis_client: aioredis.Redis,
    key_prefix: str,
) -> None:
    other = await open_rig(pg_url, base_kb, own_tokenizer, token_cache)
    reloaders = [
        KnowledgeReloader(
            redis_client,
            key_prefix=key_prefix,
            reload=r.rebuild,
            signer=KEYS.signer("kb-reload"),
            metrics=r.metrics,
            quiet_seconds=0.05,
        )
        for r in (rig, other)
    ]
    try:
        for reloader in reloaders:
            await reloader.start()
            await asyncio.wait_for(reloader.subscribed.wait(), 10)
        rig.svc.reloader = reloaders[0]
        await asked(rig.svc.storage, FRIDGE)
        (gap,) = await rig.svc.gaps(7)
        await rig.svc.teach_section(gap.gap_id, LOUNGE_ID, ME)
        await eventually(lambda: other.rebuilds, "rebuild after the signed message")  # the other replica
        assert await other.ask(FRIDGE) == (AnswerKind.ANSWER, LOUNGE)
    finally:
        for reloader in reloaders:
            await reloader.aclose()
        await other.pool.close()


async def test_export_then_import_is_idempotent(rig: Rig, pg_url: str, tmp_path: Path) -> None:
    await asked(rig.svc.storage, FRIDGE)
    (gap,) = await rig.svc.gaps(7)
    await rig.svc.teach_section(gap.gap_id, LOUNGE_ID, ME)
    await rig.svc.add_faq(FaqDraft("명함은 며칠 걸려요?", "신청 후 3일이에요.", category="office"), ME)
    await rig.svc.accept_synonyms([("코로나", "병가")], ME)
    faq_path, kb_path = await rig.svc.export(tmp_path / "out")
    faq = yaml.safe_load(faq_path.read_text(encoding="utf-8"))
    assert {e["question"] for e in faq} == {FRIDGE, "명함은 며칠 걸려요?"}
    assert yaml.safe_load(kb_path.read_text(encoding="utf-8")) == {"synonyms": [["병가", "코로나"]]}
    before = await rig.svc.snapshot()

    assert await rig.svc.import_files(tmp_path / "out", ME) == 0  # importing what is there adds nothing
    after = await rig.svc.snapshot()
    assert (after.faq, after.phrasings, after.synonyms) == (before.faq, before.phrasings, before.synonyms)

    folder = tmp_path / "kb"  # committed to the company's folder: the learned layer does not double it
    shutil.copytree(sample_kb_dir(), folder)
    shutil.copy(faq_path, folder / "docs" / "faq.yaml")
    with_files = load_knowledge_base(folder)
    merged = merge_learned(with_files, after, 20)
    assert len(merged.sections) == len(with_files.sections)
    assert sum(1 for g in merged.synonyms if {"병가", "코로나"} <= set(g)) == 1


async def test_import_into_an_empty_database_then_again(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "in"
    out.mkdir()
    (out / "faq.yaml").write_text(
        "- question: 명함은 며칠 걸려요?\n  answer: 신청 후 3일이에요.\n"
        f"- question: {FRIDGE}\n  answer: |\n"
        + "".join(f"    {line}\n" for line in next(s for s in rig.base.sections if s.id == LOUNGE_ID).text.splitlines())
        + "  section: 라운지와 탕비실 이용\n",
        encoding="utf-8",
    )
    (out / "kb.yaml").write_text("synonyms:\n  - [병가, 코로나, 휴]\n", encoding="utf-8")  # 휴: one syllable, skipped
    assert await rig.svc.import_files(out, ME) == 3
    assert await rig.svc.import_files(out, ME) == 0
    snap = await rig.svc.snapshot()
    assert [p.section_id for p in snap.phrasings] == [LOUNGE_ID] and snap.synonyms == [("코로나", "병가")]
    assert await rig.ask(FRIDGE) == (AnswerKind.ANSWER, LOUNGE)


async def test_endy_kb_export_learned(
    rig: Rig, pg_url: str, tmp_path: Path, make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    from endy_bot.cli import _parser
    from endy_bot.learning_cli import export_learned

    assert _parser().parse_args(["kb", "export-learned", "out"]).dir == Path("out")
    await rig.svc.add_faq(FaqDraft("명함은 며칠 걸려요?", "신청 후 3일이에요."), ME)
    settings = make_settings(database_url=pg_url)
    assert await export_learned(settings, tmp_path / "out", sample_kb_dir()) == 0
    assert yaml.safe_load((tmp_path / "out" / "faq.yaml").read_text(encoding="utf-8")) == [
        {"question": "명함은 며칠 걸려요?", "answer": "신청 후 3일이에요."}
    ]
    assert "FAQ 1개" in capsys.readouterr().out


async def test_the_composition_root_merges_learned_knowledge_on_start_and_on_change(
    pg_url: str, redis_url: str, key_prefix: str, make_settings: Callable[..., Settings]
) -> None:
    from endy_bot.deps import open_deps
    from services.answer_types import Asker

    settings = make_settings(
        database_url=pg_url, redis_url=redis_url, redis_key_prefix=key_prefix, admin_user_ids=[ADMIN]
    )
    async with open_deps(settings) as deps:
        assert deps.learning is not None
        await deps.learning.add_faq(FaqDraft("탕비실 냉장고는 언제 청소하나요?", "매주 금요일 오후에 비워요."), ME)
        answer = await deps.answers.answer(FRIDGE, Asker("U1"))  # the change is served at once
        assert answer.kind is AnswerKind.ANSWER and "금요일" in answer.text
    async with open_deps(settings) as deps:  # a restart (or another replica starting) merges it on start
        answer = await deps.answers.answer(FRIDGE, Asker("U1"))
        assert answer.kind is AnswerKind.ANSWER and answer.sources[0].section_id.startswith("learned-faq:")
