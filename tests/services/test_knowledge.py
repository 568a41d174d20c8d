"""Knowledge base loading: the sample handbook, heading paths, lenient handling of bad files, routing by heading."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from handlers import texts
from services import kb_texts
from services.answer_types import AnswerKind, Asker
from services.answering import AnswerService
from services.errors import KnowledgeError, Severity
from services.knowledge import (
    FAQ_TITLE,
    KnowledgeBase,
    SectionKind,
    load_knowledge_base,
    parse_markdown,
    sample_kb_dir,
)
from services.retrieval import Retriever
from services.tokenizer import KoreanTokenizer

SAMPLE_CATEGORIES = {"IT/업무 환경", "근태·휴가", "급여·경비", "인사 서비스", "복리후생", "총무/사무실"}


def test_sample_handbook_is_complete(sample_kb: KnowledgeBase) -> None:
    assert sample_kb.errors == []
    assert sample_kb.warnings == []
    assert sample_kb.doc_section_count >= 40
    assert sample_kb.faq_count >= 30
    assert {c.name for c in sample_kb.categories} == SAMPLE_CATEGORIES
    assert {s.category for s in sample_kb.sections} == {c.id for c in sample_kb.categories}
    assert all(s.department in sample_kb.departments for s in sample_kb.sections)
    assert all(d.channel.startswith("#") for d in sample_kb.departments.values())
    assert len(sample_kb.version) == 12


def test_sample_faq_links_point_at_real_sections(sample_kb: KnowledgeBase) -> None:
    headings = {s.heading for s in sample_kb.sections if s.kind is SectionKind.DOC}
    linked = [s.related_heading for s in sample_kb.sections if s.related_heading]
    assert linked
    assert set(linked) <= headings


def test_markdown_chunks_keep_their_heading_path() -> None:
    text = (
        "---\ncategory: it\nlink: https://wiki/x\n---\n# 가이드\n소개 문단\n\n## 와이파이\n사내망 안내\n"
        "### 게스트 와이파이\n방문객용\n```\n## 코드 안의 제목은 제목이 아니에요\n```\n## 빈 상위\n### 하위\n내용\n"
    )
    sections = parse_markdown("guide.md", text)
    assert [s.title for s in sections] == [
        "가이드",
        "가이드 > 와이파이",
        "가이드 > 와이파이 > 게스트 와이파이",
        "가이드 > 빈 상위 > 하위",
    ]
    assert "코드 안의 제목" in sections[2].text
    assert all(s.category == "it" and s.link == "https://wiki/x" for s in sections)


def _copy_sample(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(sample_kb_dir(), root)
    return root


def test_malformed_files_are_reported_with_file_and_line_and_the_rest_loads(tmp_path: Path) -> None:
    root = _copy_sample(tmp_path)
    (root / "docs" / "broken.md").write_text("---\ncategory: [unclosed\n---\n# 제목\n## 섹션\n내용\n", encoding="utf-8")
    (root / "faq.yaml").write_text(
        "- question: 좋은 질문\n  answer: 좋은 답\n- question: 답이 없는 질문\n- category: it\n"
        "  question: 또 좋은 질문\n  answer: 또 좋은 답\n",
        encoding="utf-8",
    )
    kb = load_knowledge_base(root)
    reported = {(e.path, e.line) for e in kb.errors}
    assert ("faq.yaml", 3) in reported
    assert any(path == "docs/broken.md" and line is not None for path, line in reported)
    assert kb.faq_count == 2
    assert kb.documents == 6
    assert [s.question for s in kb.sections if s.kind is SectionKind.FAQ] == ["좋은 질문", "또 좋은 질문"]
    assert kb.sections[-1].title_path == (FAQ_TITLE, "또 좋은 질문")


def test_version_changes_with_content(tmp_path: Path, sample_kb: KnowledgeBase) -> None:
    root = _copy_sample(tmp_path)
    assert load_knowledge_base(root).version == sample_kb.version
    with (root / "docs" / "it.md").open("a", encoding="utf-8") as fh:
        fh.write("\n## 새 섹션\n새 내용\n")
    changed = load_knowledge_base(root)
    assert changed.version != sample_kb.version
    assert changed.doc_section_count == sample_kb.doc_section_count + 1


def test_missing_folder_is_a_clear_korean_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="지식 폴더가 없어요"):
        load_knowledge_base(tmp_path / "nope")
    (tmp_path / "file.md").write_text("# 제목\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="폴더가 아니라 파일이에요"):
        load_knowledge_base(tmp_path / "file.md")


def test_every_heading_level_is_a_section_with_its_full_path() -> None:
    text = (
        "\ufeff---\r\ncategory: it\r\n---\r\n# 핸드북\r\n소개\r\n## 장\r\n장 본문\r\n"
        "#### 깊은 **소절**\r\n짧은 내용\r\n### 중간\r\n중간 본문\r\n#### 하위\r\n하위 본문\r\n"
        "##### 더 깊은\r\n다섯째\r\n###### 끝\r\n여섯째\r\n## 다른 장\r\n본문\r\n"
    )
    sections = parse_markdown("h.md", text)
    assert [s.title for s in sections] == [
        "핸드북",
        "핸드북 > 장",
        "핸드북 > 장 > 깊은 소절",  # a skipped level nests under the nearest shallower heading; no ** left
        "핸드북 > 장 > 중간",
        "핸드북 > 장 > 중간 > 하위",
        "핸드북 > 장 > 중간 > 하위 > 더 깊은",
        "핸드북 > 장 > 중간 > 하위 > 더 깊은 > 끝",
        "핸드북 > 다른 장",
    ]
    assert sections[1].text == "장 본문"  # a parent's own text stays its own section, without its children
    assert all(s.category == "it" for s in sections)  # front matter read despite the BOM and CRLF
    assert not any("#" in s.text for s in sections)


def test_a_document_without_h1_is_titled_by_its_file_name() -> None:
    sections = parse_markdown("guide/근태.md", "## 재택\n주 2회\n")
    assert [s.title for s in sections] == ["근태 > 재택"]


BAD_LINKS = [
    pytest.param('"https://wiki…|근태 가이드> <!channel> <https://evil.example/login"', id="pipe-ping-second-link"),
    pytest.param('"javascript:alert(1)"', id="javascript"),
    pytest.param('"ftp://wiki.example.com/x"', id="not-http"),
    pytest.param('"https://wiki.example.com/a b"', id="whitespace"),
    pytest.param('"https://wiki.example.com@evil.example/"', id="userinfo"),
    pytest.param("[https://wiki.example.com]", id="not-a-string"),
]


@pytest.mark.parametrize("value", BAD_LINKS)
def test_a_bad_front_matter_link_is_reported_and_the_sections_load_without_it(tmp_path: Path, value: str) -> None:
    root = _copy_sample(tmp_path)
    (root / "docs" / "leave.md").write_text(
        f"---\ncategory: attendance\nlink: {value}\n---\n# 근태 가이드\n## 연차\n15일\n", encoding="utf-8"
    )
    kb = load_knowledge_base(root)
    (problem,) = [e for e in kb.errors if e.path == "docs/leave.md"]
    assert problem.line == 3
    assert "http(s)" in problem.message
    loaded = [s for s in kb.sections if s.source == "docs/leave.md"]
    assert [s.title for s in loaded] == ["근태 가이드 > 연차"]
    assert all(s.link is None for s in loaded)


def test_a_bad_faq_link_is_reported_with_its_line_and_the_entry_loads_without_it(tmp_path: Path) -> None:
    root = _copy_sample(tmp_path)
    (root / "faq.yaml").write_text(
        "- question: 좋은 질문\n  answer: 좋은 답\n  link: https://wiki.example.com/ok\n"
        "- question: 나쁜 링크\n  answer: 답\n  category: it\n  link: 'https://x|y> <!here>'\n",
        encoding="utf-8",
    )
    kb = load_knowledge_base(root)
    assert [(e.path, e.line) for e in kb.errors] == [("faq.yaml", 7)]
    links = {s.question: s.link for s in kb.sections if s.kind is SectionKind.FAQ}
    assert links == {"좋은 질문": "https://wiki.example.com/ok", "나쁜 링크": None}


def test_the_sample_handbook_links_are_all_valid(sample_kb: KnowledgeBase) -> None:
    assert all(s.link and s.link.startswith("https://wiki.example.com/") for s in sample_kb.sections)


# --- Malformed folders: every finding has file:line and a severity, and everything else still loads ---

P, W = Severity.PROBLEM, Severity.WARNING
DOC = "# 안내\n## 연차\n연차는 15일이에요.\n"
KB_OK = (
    'departments:\n  it: {name: IT지원팀, channel: "#it"}\n  pnc: {name: P&C팀, channel: "#pnc"}\n'
    "categories:\n  - {id: it, name: IT}\n"
)  # five lines: what follows it starts on line 6
FAQ_OK = "- question: 좋은 질문\n  answer: 좋은 답\n"
Finding = tuple[str, int | None, Severity, str]


def _folder(tmp_path: Path, files: dict[str, str | bytes]) -> KnowledgeBase:
    root = tmp_path / "kb"
    for rel, content in {"docs/a.md": DOC, **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return load_knowledge_base(root)


def _faq(kb: KnowledgeBase) -> list[str | None]:
    return [s.question for s in kb.sections if s.kind is SectionKind.FAQ]


MALFORMED: list[tuple[str, dict[str, str | bytes], list[Finding], Callable[[KnowledgeBase], object], object]] = [
    ("departments-list", {"kb.yaml": "departments:\n  - it\ncategories:\n  - {id: it, name: IT}\n"},
     [("kb.yaml", 2, P, "매핑이어야")], lambda kb: [c.id for c in kb.categories], ["it"]),
    ("departments-string", {"kb.yaml": "departments: it, pnc\nname: 우리 회사\n"},
     [("kb.yaml", 1, P, "매핑이어야")], lambda kb: (kb.departments, kb.name), ({}, "우리 회사")),
    ("department-without-channel", {"kb.yaml": 'departments:\n  it: {name: IT}\n  pnc: {name: P, channel: "#p"}\n'},
     [("kb.yaml", 2, P, "channel 값이 없어요")], lambda kb: sorted(kb.departments), ["pnc"]),
    ("channel-unquoted-hash", {"kb.yaml": "departments:\n  it:\n    name: IT\n    channel: #it\n"},
     [("kb.yaml", 4, P, "따옴표")], lambda kb: kb.departments, {}),
    ("categories-mapping", {"kb.yaml": "categories:\n  it: IT\n"}, [("kb.yaml", 2, P, "목록이어야")],
     lambda kb: kb.categories, []),
    ("category-without-name", {"kb.yaml": "categories:\n  - id: it\n  - {id: pay, name: 급여}\n"},
     [("kb.yaml", 2, P, "name 값이 없어요")], lambda kb: [c.id for c in kb.categories], ["pay"]),
    ("examples-string", {"kb.yaml": "categories:\n  - id: it\n    name: IT\n    examples: 와이파이\n"},
     [("kb.yaml", 4, P, "목록이어야")], lambda kb: [(c.id, c.examples) for c in kb.categories], [("it", ())]),
    ("synonyms-string", {"kb.yaml": "synonyms: 연차, 휴가\n"}, [("kb.yaml", 1, P, "목록이어야")],
     lambda kb: kb.synonyms, []),
    ("synonym-groups", {"kb.yaml": "synonyms:\n  - 연차, 휴가\n  - [비번]\n  - [비번, 비밀번호]\n"},
     [("kb.yaml", 2, P, "목록이어야"), ("kb.yaml", 3, P, "두 개 이상")],
     lambda kb: kb.synonyms, [("비번", "비밀번호")]),
    ("kb-yaml-a-list", {"kb.yaml": "- it\n- pnc\n"}, [("kb.yaml", 1, P, "매핑이어야")], lambda kb: kb.name, "kb"),
    ("kb-yaml-key-typo", {"kb.yaml": "departmens: {}\n"}, [("kb.yaml", 1, W, "혹시 'departments'")],
     lambda kb: kb.departments, {}),
    ("kb-yaml-syntax-keeps-other-keys", {"kb.yaml": 'name: "우리 회사\n' + KB_OK}, [("kb.yaml", 1, P, "따옴표")],
     lambda kb: sorted(kb.departments), ["it", "pnc"]),
    ("default-department-unknown", {"kb.yaml": KB_OK + "default_department: nope\n"},
     [("kb.yaml", 6, W, "'nope'")], lambda kb: kb.department(None), None),
    ("category-department-unknown", {"kb.yaml": "categories:\n  - {id: it, name: IT, department: ghost}\n"},
     [("kb.yaml", 2, W, "'ghost'")], lambda kb: kb.categories[0].department, "ghost"),
    ("route-to-unknown-department", {"kb.yaml": KB_OK + 'routes:\n  "연차*": ghost\n'},
     [("kb.yaml", 7, P, "'ghost'")], lambda kb: kb.routes, []),
    ("routes-a-list", {"kb.yaml": KB_OK + "routes:\n  - 연차\n"}, [("kb.yaml", 7, P, "매핑이어야")],
     lambda kb: kb.routes, []),
    ("route-matching-nothing", {"kb.yaml": KB_OK + 'routes: {"없는 제목": it}\n'}, [("kb.yaml", 6, W, "맞는 제목")],
     lambda kb: [s.department for s in kb.sections], [None]),
    ("faq-unclosed-quote",
     {"faq.yaml": FAQ_OK + '- question: "닫히지 않은\n  answer: 답\n- question: 셋째\n  answer: 셋\n'},
     [("faq.yaml", 3, P, "따옴표가 닫히지 않았어요")], _faq, ["좋은 질문", "셋째"]),
    ("faq-keywords-string", {"faq.yaml": FAQ_OK + "  keywords: 잔여 연차, 남은 휴가\n"},
     [("faq.yaml", 3, P, "목록이어야")], lambda kb: [s.keywords for s in kb.sections if s.question], [()]),
    ("faq-question-a-list", {"faq.yaml": "- question: [a, b]\n  answer: 답\n" + FAQ_OK},
     [("faq.yaml", 1, P, "문자열이어야"), ("faq.yaml", 1, P, "question 값이 없어요")], _faq, ["좋은 질문"]),
    ("faq-entry-a-string", {"faq.yaml": "- 그냥 문장\n" + FAQ_OK}, [("faq.yaml", 1, P, "매핑이어야")],
     _faq, ["좋은 질문"]),
    ("faq-a-mapping", {"faq.yaml": "question: q\nanswer: a\n"}, [("faq.yaml", 1, P, "목록이어야")], _faq, []),
    ("faq-key-typo", {"faq.yaml": FAQ_OK + "  keyword: [연차]\n"}, [("faq.yaml", 3, W, "혹시 'keywords'")],
     _faq, ["좋은 질문"]),
    ("faq-department-unknown", {"kb.yaml": KB_OK, "faq.yaml": FAQ_OK + "  department: ghost\n"},
     [("faq.yaml", 3, W, "'ghost'")], _faq, ["좋은 질문"]),
    ("faq-empty", {"faq.yaml": "# 아직 없어요\n"}, [("faq.yaml", None, W, "FAQ 항목이 하나도")], _faq, []),
    ("front-matter-department-unknown", {"kb.yaml": KB_OK, "docs/a.md": "---\ndepartment: ghost\n---\n" + DOC},
     [("docs/a.md", 2, W, "'ghost'")], lambda kb: kb.sections[0].department, "ghost"),
    ("front-matter-category-unknown", {"kb.yaml": KB_OK, "docs/a.md": "---\ncategory: nope\n---\n" + DOC},
     [("docs/a.md", 2, W, "'nope'")], lambda kb: kb.sections[0].category, "nope"),
    ("front-matter-department-a-list", {"docs/a.md": "---\ndepartment: [it, pnc]\n---\n" + DOC},
     [("docs/a.md", 2, P, "문자열이어야")], lambda kb: kb.sections[0].department, None),
    ("front-matter-unclosed", {"docs/a.md": "---\ncategory: it\n" + DOC, "docs/b.md": DOC},
     [("docs/a.md", 1, P, "닫히지 않았어요")], lambda kb: kb.documents, 1),
    ("empty-document", {"docs/empty.md": "\n\n"}, [("docs/empty.md", None, W, "내용이 없는")],
     lambda kb: kb.documents, 2),
    ("document-without-headings", {"docs/note.md": "그냥 메모예요\n"},
     [("docs/note.md", None, W, "제목(# …)이 없어서")], lambda kb: len(kb.sections), 1),
    ("cp949", {"docs/pay.md": "## 급여일\n매월 25일이에요.\n".encode("cp949")}, [("docs/pay.md", 1, W, "cp949")],
     lambda kb: [s.text for s in kb.sections if s.source == "docs/pay.md"], ["매월 25일이에요."]),
    ("euc-kr-faq", {"faq.yaml": "- question: 급여일은?\n  answer: 25일이에요\n".encode("euc-kr")},
     [("faq.yaml", 1, W, "cp949")], _faq, ["급여일은?"]),
    ("utf-16", {"docs/pay.md": "## 급여일\n25일\n".encode("utf-16")}, [("docs/pay.md", 1, W, "UTF-16")],
     lambda kb: len(kb.sections), 2),
    ("undecodable", {"docs/pay.md": b"## ok\n\xff\xff\n"}, [("docs/pay.md", 2, P, "읽지 못했어요")],
     lambda kb: kb.documents, 1),
    ("bom-and-crlf", {"kb.yaml": "\ufeffname: 우리 회사\r\n" + KB_OK.replace("\n", "\r\n"),
                      "faq.yaml": ("\ufeff" + FAQ_OK + "  department: it\n").replace("\n", "\r\n")},
     [], lambda kb: (kb.name, [(s.question, s.department) for s in kb.sections if s.question]),
     ("우리 회사", [("좋은 질문", "it")])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "findings", "loaded", "expected"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_knowledge_is_reported_with_file_line_and_severity(
    tmp_path: Path,
    files: dict[str, str | bytes],
    findings: list[Finding],
    loaded: Callable[[KnowledgeBase], object],
    expected: object,
) -> None:
    kb = _folder(tmp_path, files)
    got = [*kb.errors, *kb.warnings]
    assert sorted((e.path, e.line or 0, e.severity) for e in got) == sorted((p, n or 0, s) for p, n, s, _ in findings)
    for path, line, _, fragment in findings:
        assert any(e.path == path and e.line == line and fragment in e.message for e in got), (fragment, got)
    assert all(e.is_warning for e in kb.warnings)
    assert not any(e.is_warning for e in kb.errors)
    assert not any(re.search(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}", e.message) for e in got)  # Korean, not English
    assert loaded(kb) == expected


def test_an_empty_folder_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    kb = load_knowledge_base(tmp_path / "kb")
    assert kb.errors == []
    assert [w.message for w in kb.warnings] == [kb_texts.NO_SECTIONS]


# --- Routing by heading: a one-file handbook escalates to the right team ---

ROUTED_KB = (
    "default_department: pnc\ndepartments:\n"
    '  it: {name: IT지원팀, channel: "#it-helpdesk"}\n  finance: {name: 재무팀, channel: "#ask-finance"}\n'
    '  pnc: {name: P&C팀, channel: "#ask-pnc"}\n  ga: {name: 총무팀, channel: "#ask-ga"}\n'
    "categories:\n  - {id: welfare, name: 복리후생, department: pnc}\n  - {id: office, name: 사무실, department: ga}\n"
    'routes:\n  "it": it\n  "급여*": finance\n  "*일": ga\n  "*VPN*": it\n  welfare: ga\n  "[공지] 안내": ga\n'
)
HANDBOOK = (
    "---\ndepartment: pnc\n---\n# 사내 안내\n사내 생활 안내서예요.\n"
    "## IT\n### VPN 접속\nVPN은 IT 포털에서 설치하고 회사 계정으로 접속해요.\n"
    "### 급여 명세서 보안\n급여 명세서 PDF는 생년월일 암호로 잠겨 있어요.\n"
    "## IT 보안 교육\n보안 교육은 매년 3월에 온라인으로 받아요.\n"
    "## 급여\n### 급여일\n급여는 매월 25일에 지급해요. 휴일이면 전날 지급해요.\n"
    "## 복지\n### 경조금\n본인 결혼 시 경조금 50만 원이 나와요.\n"
    "## [공지] 안내\n공지는 사내 게시판에 올라와요.\n"
)
ROUTED_FAQ = (
    "- question: 급여 계좌는 IT팀이 바꿔 주나요?\n  answer: 아니요, e-HR에서 직접 바꿔요.\n  department: it\n"
    "- question: 휴양소는 어떻게 예약해요?\n  answer: 복지 포털에서 예약해요.\n  category: welfare\n"
    "- question: 원격 접속이 안 돼요\n  answer: 노트북을 재부팅해 보세요.\n  section: VPN 접속\n"
    "- question: 택배는 어디서 받아요?\n  answer: 1층 안내데스크에서 받아요.\n  category: office\n"
)
ROUTED = [
    ("사내 안내", "pnc"),  # no route matches: the front matter's department
    ("사내 안내 > IT > VPN 접속", "it"),
    ("사내 안내 > IT > 급여 명세서 보안", "finance"),  # the deepest matching heading wins over "it"
    ("사내 안내 > IT 보안 교육", "pnc"),  # near miss: "it" is not "IT*"
    ("사내 안내 > 급여 > 급여일", "finance"),  # "급여*" and "*일" tie at the same depth: the first route wins
    ("사내 안내 > 복지 > 경조금", "pnc"),
    ("사내 안내 > [공지] 안내", "ga"),  # brackets written out literally still match
    ("자주 묻는 질문 > 급여 계좌는 IT팀이 바꿔 주나요?", "it"),  # a FAQ entry's own department wins
    ("자주 묻는 질문 > 휴양소는 어떻게 예약해요?", "ga"),  # a category-id route beats the category's department
    ("자주 묻는 질문 > 원격 접속이 안 돼요", "it"),  # routed through its `section:`
    ("자주 묻는 질문 > 택배는 어디서 받아요?", "ga"),  # no route: the category's department
]


def _routed(tmp_path: Path, *, routes: bool = True) -> KnowledgeBase:
    kb_yaml = ROUTED_KB if routes else ROUTED_KB.split("routes:")[0]
    return _folder(tmp_path, {"kb.yaml": kb_yaml, "docs/a.md": HANDBOOK, "faq.yaml": ROUTED_FAQ})


@pytest.mark.parametrize(("title", "department"), ROUTED)
def test_routes_send_each_heading_of_one_file_to_its_team(tmp_path: Path, title: str, department: str) -> None:
    kb = _routed(tmp_path)
    assert kb.errors == []
    assert kb.warnings == []
    assert {s.title: s.department for s in kb.sections}[title] == department


NOT_FOUND = [
    ("급여 압류는 어떻게 되나요?", True, "finance"),
    ("VPN 접속 속도가 느려요 제한이 있나요?", True, "it"),
    ("급여 압류는 어떻게 되나요?", False, "pnc"),  # without routes the whole file is the front matter's team
    ("VPN 접속 속도가 느려요 제한이 있나요?", False, "pnc"),
]


@pytest.mark.parametrize(("question", "routes", "department"), NOT_FOUND)
async def test_not_found_names_the_team_of_the_closest_section(
    tmp_path: Path, tokenizer: KoreanTokenizer, question: str, routes: bool, department: str
) -> None:
    kb = _routed(tmp_path, routes=routes)
    # No grey zone: the question (0.41 here) must be refused for its not-found reply to be checked.
    service = AnswerService(kb, Retriever(kb, tokenizer), None, max_question_chars=500, hedge_confidence=0.5)
    answer = await service.answer(question, Asker(user_id="U1"))
    assert answer.kind is AnswerKind.NOT_FOUND
    assert answer.department is not None
    assert answer.department.key == department
    assert kb.departments[department].channel in texts.not_found(answer.department)
