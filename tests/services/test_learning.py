"""Learning from gaps on real PostgreSQL: teaching a section, curated answers, synonyms, refusals that save nothing."""

from __future__ import annotations

import asyncpg
import pytest

from services.answer_types import AnswerKind
from services.errors import PermissionDenied
from services.kb_model import KnowledgeBase
from services.learning import Actor, FaqDraft, LearnedKind, LearningRefused, Refusal
from services.lexicon import builtin_lexicon
from tests.services.learning_support import (
    ADMIN,
    FRIDGE,
    LOUNGE,
    LOUNGE_ID,
    ME,
    Rig,
    asked,
)

PER_SECTION = 3  # the rig caps phrasings per section this low (tests/services/learning_support.py)


async def count(rig: Rig, table: str) -> int:
    async with rig.pool.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))


async def fridge_gap(rig: Rig) -> str:
    storage = rig.svc.storage
    await asked(storage, FRIDGE, user="U1")
    await asked(storage, "사무실 냉장고 청소는 언제 하나요", user="U2", hours_ago=2)
    gaps = await rig.svc.gaps(7)
    assert [g.count for g in gaps] == [2]
    return gaps[0].gap_id


async def test_teaching_a_section_answers_the_gap_and_closes_it(rig: Rig) -> None:
    assert (await rig.ask(FRIDGE))[0] is AnswerKind.NOT_FOUND
    gap_id = await fridge_gap(rig)
    gap = await rig.svc.gap(gap_id)
    assert set(gap.questions) == {FRIDGE, "사무실 냉장고 청소는 언제 하나요"}
    assert gap.candidates and all(not c.section_id.startswith("learned") for c in gap.candidates)

    taught = await rig.svc.teach_section(gap_id, LOUNGE_ID, ME)

    assert (taught.kind, taught.added) == (LearnedKind.PHRASING, 2)
    assert await rig.ask(FRIDGE) == (AnswerKind.ANSWER, LOUNGE)
    preview = await rig.svc.preview(FRIDGE)
    assert preview.kind is AnswerKind.ANSWER and preview.sources[0].title == LOUNGE
    assert [s.title for s in preview.sources].count(LOUNGE) == 1  # the learned copy cites as its section, once
    assert await rig.svc.gaps(7) == []  # closed: its questions never come back
    assert [e.section_title for e in await rig.svc.learned(LOUNGE_ID)] == [LOUNGE, LOUNGE]
    handbook = {s.id: s for s in rig.base.sections}
    served = {s.id: s for s in rig.answers.kb.sections}
    assert all(served[i] == s for i, s in handbook.items())  # the handbook's own text is untouched
    assert rig.answers.kb.version != rig.base.version  # cached answers of the old knowledge miss
    assert rig.metrics.registry.get_sample_value("knowledge_learned_total", {"kind": "phrasing"}) == 2


async def test_a_double_click_teaches_once(rig: Rig) -> None:
    gap_id = await fridge_gap(rig)
    await rig.svc.teach_section(gap_id, LOUNGE_ID, ME)
    rebuilds = rig.rebuilds
    again = await rig.svc.teach_section(gap_id, LOUNGE_ID, ME)
    assert again.added == 0 and rig.rebuilds == rebuilds
    assert await count(rig, "learned_phrasings") == 2
    assert await count(rig, "learning_audit") == 2


async def test_refusals_save_nothing(rig: Rig) -> None:
    gap_id = await fridge_gap(rig)
    with pytest.raises(LearningRefused) as gone:
        await rig.svc.teach_section(gap_id, "docs/office.md#999", ME)  # the handbook changed since the listing
    assert gone.value.reason is Refusal.SECTION_GONE
    with pytest.raises(LearningRefused) as forged:
        await rig.svc.teach_section("gdeadbeef", LOUNGE_ID, ME)
    assert forged.value.reason is Refusal.GAP_GONE
    with pytest.raises(PermissionDenied):
        await rig.svc.teach_section(gap_id, LOUNGE_ID, Actor("T1", "U-not-admin"))
    with pytest.raises(PermissionDenied):
        await rig.svc.ignore_gap(gap_id, Actor("T1", "U-not-admin"))
    for table in ("learned_phrasings", "learning_audit", "learning_question_states"):
        assert await count(rig, table) == 0
    assert [g.gap_id for g in await rig.svc.gaps(7)] == [gap_id]
    assert rig.rebuilds == 0


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        (FaqDraft("  ", "답"), Refusal.EMPTY),
        (FaqDraft("질문", ""), Refusal.EMPTY),
        (FaqDraft("냉장고 청소", "가" * 4000), Refusal.TOO_LONG),
        (FaqDraft("가" * 301, "답"), Refusal.TOO_LONG),
        (FaqDraft("냉장고 청소", "매주 금요일", link="javascript:alert(1)"), Refusal.BAD_LINK),
        (FaqDraft("냉장고 청소", "매주 금요일", link="http://intra net/x"), Refusal.BAD_LINK),
    ],
)
async def test_a_bad_curated_answer_is_refused_whole(rig: Rig, draft: FaqDraft, reason: Refusal) -> None:
    gap_id = await fridge_gap(rig)
    with pytest.raises(LearningRefused) as refused:
        await rig.svc.add_faq(draft, ME, gap_id)
    assert refused.value.reason is reason
    if reason is Refusal.TOO_LONG and len(draft.answer) == 4000:
        assert (refused.value.limit, refused.value.length) == (3000, 4000)
    assert await count(rig, "learned_faq") == 0 and await count(rig, "learning_audit") == 0
    assert len(await rig.svc.gaps(7)) == 1


async def test_a_curated_answer_is_served_and_a_resubmission_changes_nothing(rig: Rig) -> None:
    gap_id = await fridge_gap(rig)
    draft = FaqDraft(
        "탕비실 냉장고는 언제 청소하나요?",
        "매주 금요일 오후 5시에 비워요. 이름표 없는 음식은 버려요.",
        category="office",
        link="https://intra.example.com/lounge",
    )
    first = await rig.svc.add_faq(draft, ME, gap_id)
    again = await rig.svc.add_faq(draft, ME, gap_id)  # the modal submitted twice
    assert (first.added, again.added) == (1, 0)
    answer = await rig.svc.preview(FRIDGE)
    assert answer.kind is AnswerKind.ANSWER and "금요일 오후 5시" in answer.text
    assert answer.sources[0].link == "https://intra.example.com/lounge"
    with pytest.raises(LearningRefused) as dup:
        await rig.svc.add_faq(FaqDraft(draft.question, "다른 답"), ME)
    assert dup.value.reason is Refusal.DUPLICATE
    assert await count(rig, "learned_faq") == 1 and await rig.svc.gaps(7) == []


async def test_synonyms_are_proposed_checked_all_or_nothing_and_served(rig: Rig) -> None:
    await asked(rig.svc.storage, "코로나 확진되면 출근 어떻게 해요?")
    (gap,) = await rig.svc.gaps(7)
    proposals = await rig.svc.propose_synonyms(gap.gap_id)
    assert "코로나" in [p.word for p in proposals]
    assert all(p.candidates for p in proposals)
    for pairs, reason in (
        ([("코로나", "병가"), ("휴", "병가")], Refusal.SYNONYM_TOO_SHORT),
        ([("코로나", "병가"), ("신청", "병가")], Refusal.SYNONYM_STOP_WORD),
        ([("코로나", "병가"), ("코로나", "코로나")], Refusal.SYNONYM_SAME),
        ([("코로나", "우주정거장")], Refusal.SYNONYM_UNKNOWN_TARGET),
    ):
        with pytest.raises(LearningRefused) as refused:
            await rig.svc.accept_synonyms(pairs, ME, gap.gap_id)
        assert refused.value.reason is reason
    assert await count(rig, "learned_synonyms") == 0

    taught = await rig.svc.accept_synonyms([("코로나", "병가"), ("코로나", "병가")], ME, gap.gap_id)
    assert taught.added == 1
    assert any({"코로나", "병가"} <= set(group) for group in rig.answers.kb.synonyms)
    kind, title = await rig.ask("코로나 걸리면 어떻게 해요?")
    assert (kind, title) == (AnswerKind.ANSWER, "근태·휴가 가이드 > 병가")


async def test_ignoring_a_gap_keeps_it_for_the_audit(rig: Rig) -> None:
    gap_id = await fridge_gap(rig)
    await rig.svc.ignore_gap(gap_id, ME)
    await rig.svc.ignore_gap(gap_id, ME)
    assert await rig.svc.gaps(7) == []
    async with rig.pool.acquire() as conn:
        state = await conn.fetchval("SELECT state FROM learning_gaps WHERE gap_key = $1", gap_id)
        actions = await conn.fetch("SELECT action, actor_id FROM learning_audit")
    assert state == "ignored" and [tuple(a) for a in actions] == [("ignore", ADMIN)]  # the double click: once


async def test_phrasings_are_capped_per_section_and_removable(rig: Rig) -> None:
    storage = rig.svc.storage
    for i, q in enumerate(["냉장고 청소 주기", "냉장고 정리 요일", "냉장고 음식 버리는 날", "탕비실 냉장고 비우는 날"]):
        await asked(storage, q, user=f"U{i}", hours_ago=i + 1)
    gaps = await rig.svc.gaps(7)
    assert len(gaps) == 4
    taught = [await rig.svc.teach_section(g.gap_id, LOUNGE_ID, ME) for g in gaps[:3]]
    assert [t.added for t in taught] == [1, 1, 1]
    with pytest.raises(LearningRefused) as full:  # phrasings_per_section=3
        await rig.svc.teach_section(gaps[3].gap_id, LOUNGE_ID, ME)
    assert (full.value.reason, full.value.limit) == (Refusal.CAP_REACHED, 3)
    assert len(await rig.svc.gaps(7)) == 1  # the refused gap stays open
    entry = (await rig.svc.learned(LOUNGE_ID))[0]
    removed = await rig.svc.remove_learned(LearnedKind.PHRASING, entry.id, ME)
    assert removed.text == entry.text
    with pytest.raises(LearningRefused) as again:
        await rig.svc.remove_learned(LearnedKind.PHRASING, entry.id, ME)
    assert again.value.reason is Refusal.NOT_FOUND
    assert await count(rig, "learned_phrasings") == 2


async def test_the_learned_layer_waits_for_its_migration(pg_url: str, base_kb: KnowledgeBase) -> None:
    from services.learning import merged_knowledge
    from services.learning_store import LearningStore

    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=1)
    try:
        assert await merged_knowledge(LearningStore(pool), 20, base_kb) is base_kb
    finally:
        await pool.close()


async def test_sections_search_by_title(rig: Rig, base_kb: KnowledgeBase) -> None:
    found = await rig.svc.search_sections("탕비실")
    assert [c.section_id for c in found] == [LOUNGE_ID]


async def test_a_word_the_handbook_never_uses_is_paired_with_the_handbook_word_nearest_by_vector(rig: Rig) -> None:
    # 큰아버지 is in no lexicon group, and Kiwi's own nearest words (작은아버지, 큰어머니 …) are not in the handbook
    # either: the handbook's words are scored against it directly, and 조부모 comes first (the admin decides).
    question = "큰아버지 돌아가시면 휴가 며칠 나와요?"
    await asked(rig.svc.storage, question)
    (gap,) = await rig.svc.gaps(7)
    proposals = {p.word: p for p in await rig.svc.propose_synonyms(gap.gap_id)}
    assert proposals["큰아버지"].candidates[0] == "조부모"
    assert proposals["큰아버지"].evidence == "vectors"
    assert not {"작은아버지", "큰어머니"} & set(proposals["큰아버지"].candidates)
    taught = await rig.svc.accept_synonyms([("큰아버지", "조부모")], ME, gap.gap_id)
    assert taught.added == 1
    kind, title = await rig.ask(question)
    assert kind is AnswerKind.ANSWER and title is not None and "경조" in title, title


async def test_a_taught_phrasing_carries_near_words_from_the_lexicon_only(rig: Rig) -> None:
    # Kiwi's word vectors put 냉동실, 가전제품, 식판 … next to 냉장고 and 도시락: words about something else, which
    # made a taught phrasing match other questions. Near words come from the lexicon's groups (curated) only.
    question = "탕비실 냉장고에 넣어둔 도시락 없어졌어요 누가 버린 거예요?"
    await asked(rig.svc.storage, question)
    (gap,) = await rig.svc.gaps(7)
    await rig.svc.teach_section(gap.gap_id, LOUNGE_ID, ME)
    (learned,) = [s for s in rig.answers.kb.sections if s.id.startswith("learned:")]
    phrasing, *near = learned.keywords
    assert phrasing == question
    lexicon = {m for g in builtin_lexicon() for m in g}
    assert near and all(w in lexicon for w in near), near  # 탕비실's group (휴게실, 라운지 …) is there
    assert not {"냉동실", "가전제품", "식판"} & set(near)
