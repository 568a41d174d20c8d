"""Knowing when it does not know: hedges, the LLM's refusal, follow-ups that carry the subject, English questions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from config.settings import Settings
from handlers import texts
from handlers.reply import answer_body
from services.answer_types import AnswerKind, Asker, Turn
from services.answering import AnswerService
from services.compose import is_english, is_follow_up
from services.knowledge import KnowledgeBase
from services.lexicon import builtin_lexicon, merge_synonyms
from services.llm import LlmClient
from services.output_policy import policy_for
from services.prompts import NOT_IN_HANDBOOK, REWRITE_PROMPT
from services.retrieval import Hit, Retrieval, Retriever
from services.tokenizer import KoreanTokenizer
from tests.fakes.openai_server import FakeOpenAI

ASKER = Asker(user_id="U1")


@pytest.fixture
def service(sample_kb: KnowledgeBase, retriever: Retriever) -> AnswerService:
    return AnswerService(sample_kb, retriever, None)


@pytest.fixture
async def llm_service(
    make_settings: Callable[..., Settings], sample_kb: KnowledgeBase, retriever: Retriever
) -> AsyncIterator[tuple[AnswerService, FakeOpenAI]]:
    async with FakeOpenAI() as fake:
        llm = LlmClient(make_settings(openai_api_key="sk-test", openai_base_url=fake.base_url))
        yield AnswerService(sample_kb, retriever, llm), fake
        await llm.aclose()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("그거 어디서 신청해요?", True),
        ("그럼 반차는요?", True),
        ("그건 누구한테 물어봐요?", True),
        ("거기 주차 돼요?", True),
        ("연차는 어떻게 신청하나요?", False),
        ("그룹웨어 비밀번호를 잊어버렸어요", False),  # 그룹웨어 starts with 그 but is no anaphora
        ("재택근무는 일주일에 몇 번 가능해요?", False),
    ],
)
def test_follow_up_detection(question: str, expected: bool) -> None:
    assert is_follow_up(question) is expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [("How do I request annual leave?", True), ("VPN 연결이 안 돼요", False), ("VPN", False), ("12345", False)],
)
def test_english_detection(question: str, expected: bool) -> None:
    assert is_english(question) is expected


async def test_follow_up_carries_the_previous_subject(service: AnswerService) -> None:
    first = await service.answer("재택근무는 일주일에 몇 번 돼요?", ASKER)
    follow = await service.answer("그거 어디서 신청해요?", ASKER, [Turn(first.question, first.text)])
    assert follow.kind is AnswerKind.ANSWER
    assert "재택" in follow.sources[0].title


async def test_grey_zone_answers_with_a_hedge_and_other_candidates(service: AnswerService) -> None:
    # Two FAQ entries and a handbook section all fit "와이파이 비번": none is clearly ahead.
    answer = await service.answer("와이파이 비번 뭐야?", ASKER)
    assert answer.kind is AnswerKind.ANSWER
    assert answer.hedged
    body = answer_body(answer, policy_for(service.kb_links))
    assert body.startswith(f"_{texts.HEDGE_INTRO}_")
    assert texts.HEDGE_OTHERS in body
    assert answer.suggestions


async def test_a_single_incidental_word_is_not_evidence(service: AnswerService) -> None:
    answer = await service.answer("오늘 서울 날씨 어때요?", ASKER)
    assert answer.kind is AnswerKind.NOT_FOUND


def test_a_not_found_reply_suggests_only_sections_holding_a_topic_word(service: AnswerService) -> None:
    # "내일 천안 캠퍼스 쪽 날씨 어때?" on a handbook whose every other section names its site: the best hits cover the
    # question only through such generic words. They are no lead: no "maybe this helps", no team named for them.
    section = next(s for s in service.kb.sections if s.department)
    generic_only = Retrieval([Hit(section, 2.0, 0.5, matched=0)], 0.3, ("천안", "캠퍼스", "날씨"), 1)
    refused = service.composer.not_found("내일 천안 캠퍼스 쪽 날씨 어때?", generic_only)
    assert refused.suggestions == []
    assert refused.category is None
    # the same hit holding one of the question's topic words is offered, with its team
    topical = Retrieval([Hit(section, 2.0, 0.5, matched=1)], 0.3, ("반반차", "병원"), 2)
    offered = service.composer.not_found("반반차도 있어요? 병원 가느라 빼고 싶은데", topical)
    assert [s.title for s in offered.suggestions] == [section.title]
    assert offered.category == section.category


async def test_english_question_without_llm_gets_an_english_note(service: AnswerService) -> None:
    answer = await service.answer("How do I connect to the VPN from home?", ASKER)
    assert answer.language == "en"
    body = answer_body(answer, policy_for(service.kb_links))
    assert texts.ENGLISH_NOTE in body or texts.ENGLISH_NOT_FOUND in body


async def test_llm_that_finds_no_answer_in_the_sections_turns_into_not_found(
    llm_service: tuple[AnswerService, FakeOpenAI],
) -> None:
    service, fake = llm_service
    fake.reply = NOT_IN_HANDBOOK
    stream = await service.stream("연차는 어떻게 신청하나요?", ASKER)
    chunks = [c async for c in stream]
    assert chunks == []  # the refusal marker is never shown
    assert stream.result.kind is AnswerKind.NOT_FOUND
    assert stream.result.department is not None


async def test_llm_rewrites_a_follow_up_before_retrieval(llm_service: tuple[AnswerService, FakeOpenAI]) -> None:
    service, fake = llm_service

    def reply(req: dict[str, Any]) -> str:
        system = req["messages"][0]["content"]
        return "재택근무 신청은 어디서 하나요?" if system == REWRITE_PROMPT else "e-HR에서 신청해요. [1]"

    fake.reply_fn = reply
    history = [Turn("재택 일주일에 몇 번 돼요?", "주 2회까지 가능해요.")]
    answer = await service.answer("그거 어디서 신청해요?", ASKER, history)
    rewrite, grounded = fake.chat_requests()
    assert "그거 어디서 신청해요?" in rewrite.json["messages"][-1]["content"]
    assert "재택" in grounded.json["messages"][-1]["content"]
    assert answer.used_llm
    assert "재택" in answer.sources[0].title


def test_handbook_compounds_stay_whole() -> None:
    tok = KoreanTokenizer()
    assert "탕" in tok.tokenize("탕비실 어디예요")  # Kiwi alone splits it into 탕/비/실
    tok.add_compounds(["라운지와 **탕비실** 이용", "자기계발비 신청"])
    assert tok.tokenize("탕비실 어디예요") == ["탕비실"]
    assert tok.tokenize("자기계발비") == ["자기계발비", "자기", "계발"]  # parts still meet "자기계발 비용"
    assert tok.add_compounds(["라운지와 **탕비실** 이용", "자기계발비 신청"]) == 0  # idempotent


def test_company_synonyms_replace_the_built_in_group_they_overlap() -> None:
    builtin = builtin_lexicon()
    assert len(builtin) >= 250
    merged = merge_synonyms(builtin, [("월급", "급료")])
    assert merged[0] == ("월급", "급료")
    assert not any("월급" in g for g in merged[1:])
    assert len(merged) == len(builtin)  # one built-in group replaced, the rest kept


@pytest.mark.parametrize(
    "question",
    [
        "뷁뛝쀍 " * 70,  # 500 characters of rare syllables
        "😀🎉🔥" * 150,
        "lorem ipsum dolor sit amet " * 15,
        "1234567890" * 40,
        "ㅋ",
        "ㅎㅎㅎㅎㅎㅎ",
        "?!?!",
    ],
)
async def test_odd_questions_get_an_answer_or_a_clear_refusal(service: AnswerService, question: str) -> None:
    answer = await service.answer(question[:500], ASKER)
    assert answer.kind in {AnswerKind.ANSWER, AnswerKind.NOT_FOUND}
    if answer.kind is AnswerKind.NOT_FOUND:
        assert answer.text == ""
        assert answer.department is not None


def test_urls_the_handbook_writes_itself_are_knowledge_links(tmp_path: Any) -> None:
    from services.answering import knowledge_links
    from services.knowledge import load_knowledge_base

    (tmp_path / "h.md").write_text(
        "# 핸드북\n## IT\n포털(https://itsm.example.com/req)로 접수해요. javascript:alert(1) 은 링크가 아니에요.\n",
        encoding="utf-8",
    )
    links = knowledge_links(load_knowledge_base(tmp_path))
    assert links == {"https://itsm.example.com/req"}  # only http(s) URLs qualify


def test_bare_hosts_the_handbook_writes_stay_in_the_answer(tmp_path: Any) -> None:
    """A VPN server name written bare in the handbook is kept (as a link Endy builds); one it never writes is not."""
    from services.answering import knowledge_links
    from services.knowledge import load_knowledge_base
    from services.output_policy import policy_for

    (tmp_path / "h.md").write_text(
        "# 핸드북\n## VPN\n서버 주소에 vpn.corp.example 을 입력해요. 양식은 신청서.hwp 예요.\n", encoding="utf-8"
    )
    links = knowledge_links(load_knowledge_base(tmp_path))
    assert links == {"https://vpn.corp.example"}  # the file name is no host
    policy = policy_for(links)
    said = "서버 주소에 vpn.corp.example 을 입력해요. evil-vpn.example 이나 vpn.corp.example/login 은 아니에요."
    assert policy.answer(said) == (
        "서버 주소에 <https://vpn.corp.example|vpn.corp.example> 을 입력해요. 이나 은 아니에요."
    )
    assert policy.markdown(said).startswith("서버 주소에 [vpn.corp.example](https://vpn.corp.example) 을")
    assert "evil" not in policy.markdown(said)


def _confidence_on(tmp_path: Any, name: str, trip_text: str, question: str) -> tuple[str, float]:
    from services.knowledge import load_knowledge_base

    folder = tmp_path / name
    folder.mkdir()
    (folder / "h.md").write_text(
        "# 핸드북\n## 법인카드\n법인카드는 재무팀이 발급해요. 카드를 잃어버리면 카드사에 바로 신고해요.\n"
        f"## 출장\n{trip_text}\n## 복지\n복지포인트는 매년 1월에 지급해요.\n",
        encoding="utf-8",
    )
    result = Retriever(load_knowledge_base(folder), KoreanTokenizer()).search_lexical(question)
    assert result.best is not None
    return result.best.section.heading, result.confidence


def test_a_word_the_handbook_has_elsewhere_counts_against_the_hit_more_than_an_unknown_one(tmp_path: Any) -> None:
    """ "카드 한도": when 한도 is what the travel rules talk about, the card section is the wrong place to answer."""
    elsewhere = _confidence_on(tmp_path, "a", "출장 숙박비 한도는 1박 10만원이에요.", "카드 한도 올리는 법")
    unknown = _confidence_on(tmp_path, "b", "출장 숙박비는 1박 10만원까지예요.", "카드 한도 올리는 법")
    assert elsewhere[0] == unknown[0] == "법인카드"
    assert elsewhere[1] < unknown[1]


def test_one_letter_pieces_that_make_a_handbook_word_are_that_word(tmp_path: Any) -> None:
    """Kiwi splits 경조휴가 into 경/조/휴가 inside this question (alone it keeps 경조): the handbook's word wins."""
    from services.knowledge import load_knowledge_base

    (tmp_path / "h.md").write_text(
        "# 핸드북\n## 병가 및 경조휴가\n경조휴가는 본인 결혼 5일, 조부모 사망 3일이에요.\n"
        "## 복지\n복지포인트는 매년 지급해요.\n",
        encoding="utf-8",
    )
    retriever = Retriever(load_knowledge_base(tmp_path), KoreanTokenizer())
    question = "외할머니 돌아가셨는데 경조휴가 며칠 쓸수있어요"
    assert {"경", "조"} <= set(retriever.tokenizer.tokenize(question))
    tokens = [c.token for c in retriever.concepts(question)]
    assert "경조" in tokens
    assert "경" not in tokens


def _site_handbook(tmp_path: Any) -> KnowledgeBase:
    """Thirty sections on different topics; the site name 오송 is in seven (more than a fifth, more than five)."""
    from services.knowledge import load_knowledge_base

    topics: list[tuple[str, str]] = [
        ("오송 공장 출입", "오송 공장에는 사원증을 찍고 들어가요."),
        ("오송 교대근무", "오송 공장은 A조와 B조가 교대로 근무해요."),
        ("오송 셔틀버스", "오송역에서 오송 공장까지 셔틀이 다녀요."),
        ("연차", "연차는 입사일 기준으로 생겨요."),
        ("급여", "급여는 매월 25일에 들어와요."),
        ("노트북", "노트북은 3년마다 교체해요."),
        ("회의실 예약", "회의실은 그룹웨어에서 예약해요."),
        ("법인카드", "법인카드를 잃어버리면 재무팀에 알려요."),
        ("경조금", "결혼하면 경조금이 나와요."),
        ("건강검진", "건강검진은 해마다 받아요."),
        ("오송 식당", "오송 공장 식당은 지하에 있어요."),
        ("오송 주차", "오송 공장 주차장은 정문 옆이에요."),
        ("오송 보안", "오송 공장에서는 촬영을 할 수 없어요."),
        ("오송 안전", "오송 공장에서는 안전화를 신어요."),
    ]
    others = "택배 명함 우편 비품 복합기 와이파이 메신저 메일 출장 교육 평가 승진 재택 육아 퇴직 동호회"
    topics += [(word, f"{word} 관련 문의는 담당 부서에 해요.") for word in others.split()]
    body = "\n".join(f"## {title}\n{text}\n" for title, text in topics)
    (tmp_path / "handbook.md").write_text(f"# 핸드북\n{body}", encoding="utf-8")
    return load_knowledge_base(tmp_path)


async def test_a_word_in_many_of_the_handbooks_sections_is_not_evidence(tmp_path: Any) -> None:
    """The site name and a verb (the question is about lunch) do not make an answer."""
    kb = _site_handbook(tmp_path)
    service = AnswerService(kb, Retriever(kb, KoreanTokenizer()), None)
    lunch = await service.answer("오송 가면 뭐 먹어요?", ASKER)
    # Not a clear answer: at most the grey zone's hedge (ANSWER_HEDGE_CONFIDENCE 0.4 ≤ confidence < 0.5).
    assert lunch.kind is AnswerKind.NOT_FOUND or lunch.hedged
    shuttle = await service.answer("오송 셔틀버스 어디서 타요?", ASKER)
    assert shuttle.kind is AnswerKind.ANSWER
    assert "셔틀" in shuttle.sources[0].title


def test_emoticons_are_not_question_words(retriever: Retriever) -> None:
    plain = retriever.search_lexical("법카 잃어버렸어요")
    crying = retriever.search_lexical("법카 잃어버렸어요 ㅠㅠ")
    assert crying.confidence == pytest.approx(plain.confidence)
    assert crying.best is not None and plain.best is not None
    assert crying.best.section.id == plain.best.section.id
