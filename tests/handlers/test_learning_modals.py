"""답변 작성 and 동의어 추가 end to end (issue 16): bad input is an error on its field and saves nothing; a good
submission becomes a curated FAQ entry or synonyms, and the modal shows "이제 이렇게 답해요: …" at once."""

from __future__ import annotations

import pytest

from handlers import learning_blocks as lb
from handlers import texts
from services.learning import LearnedKind
from tests.endy import Endy, StartEndy
from tests.fakes.slack_views import input_blocks, view_state
from tests.handlers.learning_steps import (
    ADMIN,
    GAP_QUESTION,
    OTHER,
    USER,
    ask,
    assert_clean,
    open_modal,
    readable,
    result,
    submit,
)

pytestmark = pytest.mark.timeout(120)
GYM_ANSWER = "사내 헬스장은 없어요. 대신 복지포인트로 외부 헬스장 비용을 돌려받을 수 있어요."
WIKI = "https://wiki.example.com/guide/welfare"


def errors(field: str, text: str) -> dict[str, object]:
    return {"response_action": "errors", "errors": {field: text}}


async def learned(endy: Endy, kind: LearnedKind) -> list[str]:
    assert endy.deps.learning is not None
    return [e.text for e in await endy.deps.learning.learned() if e.kind is kind]


async def test_a_curated_answer_is_validated_field_by_field_then_answers_at_once(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    view = await open_modal(endy, 0, lb.ACTION_FAQ, lb.VIEW_FAQ)
    shown = readable(view["blocks"])
    print(shown)
    assert_clean(shown)
    fields = input_blocks(view)
    assert fields["question"]["element"]["initial_value"] == GAP_QUESTION
    assert fields["department"]["element"]["initial_option"]["value"] == "pnc"
    too_long = await submit(endy, ADMIN, view, {"answer": "가" * 4000})
    assert too_long == errors("answer", "글자 수가 너무 많아요 (4000자 / 최대 3000자).")
    assert await submit(endy, ADMIN, view, {"answer": ""}) == errors("answer", texts.LEARN_REFUSED["empty"])
    bad_link = await submit(endy, ADMIN, view, {"answer": GYM_ANSWER, "link": "javascript:alert(1)"})
    assert bad_link == errors("link", texts.LEARN_REFUSED["bad_link"])
    forged = view_state(view, {"answer": GYM_ANSWER})
    forged["category"] = {"value": {"type": "static_select", "selected_option": {"value": "<!channel>"}}}
    assert await submit(endy, ADMIN, view, state=forged) == errors("category", texts.LEARN_BAD_CHOICE)
    assert await learned(endy, LearnedKind.FAQ) == []
    good = {"answer": GYM_ANSWER, "category": "welfare", "link": WIKI}
    ack = await submit(endy, ADMIN, view, good)
    assert ack["response_action"] == "update"
    shown = readable((await result(endy, view["id"]))["blocks"])
    print(shown)
    assert_clean(shown)
    assert "이제 이렇게 답해요" in shown and "사내 헬스장은 없어요" in shown and "새 FAQ" in shown
    assert await learned(endy, LearnedKind.FAQ) == [GAP_QUESTION]
    assert "사내 헬스장은 없어요" in (await ask(endy, OTHER, GAP_QUESTION)).text
    await submit(endy, ADMIN, view, good)  # submitted twice
    assert texts.LEARN_ALREADY in readable((await result(endy, view["id"], 2))["blocks"])
    assert await learned(endy, LearnedKind.FAQ) == [GAP_QUESTION]


async def test_synonyms_are_all_or_nothing_and_harmful_words_are_refused(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    await ask(endy, USER, GAP_QUESTION)
    view = await open_modal(endy, 0, lb.ACTION_SYNONYM, lb.VIEW_SYNONYM)
    shown = readable(view["blocks"])
    print(shown)
    assert_clean(shown)
    fields = input_blocks(view)
    proposed = [b for b in fields if b.startswith("syn_")]
    bad = {
        ("밥", "운동"): ("own_word", texts.LEARN_REFUSED["synonym_too_short"]),
        ("신청", "운동"): ("own_word", texts.LEARN_REFUSED["synonym_stop_word"]),
        ("헬스장", "꿈나라여행권"): ("own_target", texts.LEARN_REFUSED["synonym_unknown_target"]),
        ("헬스장", ""): ("own_target", texts.LEARN_SYNONYM_OWN_MISSING),
    }
    for (word, target), (field, text) in bad.items():
        ack = await submit(endy, ADMIN, view, {"own_word": word, "own_target": target})  # proposals still checked
        assert ack == errors(field, text), (word, target)
    assert await learned(endy, LearnedKind.SYNONYM) == []
    if proposed:  # nothing at all chosen
        assert await submit(endy, ADMIN, view, {"accept": []}) == errors("accept", texts.LEARN_SYNONYM_NOTHING)
    ack = await submit(
        endy, ADMIN, view, {"accept": [], "own_word": "헬스장", "own_target": "운동"} if proposed else {}
    )
    if not proposed:
        assert ack == errors("own_word", texts.LEARN_SYNONYM_NOTHING)
        ack = await submit(endy, ADMIN, view, {"own_word": "헬스장", "own_target": "운동"})
    assert ack["response_action"] == "update"
    shown = readable((await result(endy, view["id"]))["blocks"])
    print(shown)
    assert "동의어 1개" in shown and "이제 이렇게 답해요" in shown
    assert await learned(endy, LearnedKind.SYNONYM) == ["헬스장 → 운동"]
