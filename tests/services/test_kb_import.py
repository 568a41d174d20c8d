"""`endy kb import`: CSV/JSON FAQ files become faq.yaml — encodings, delimiters, headers, problems, round trip, CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.errors import KnowledgeError
from services.kb_import import FaqImportError, ImportProblem, dump_faq_yaml, import_faq, write_faq_yaml
from services.knowledge import parse_faq

WIFI: dict[str, object] = {"question": "와이파이 비밀번호가 뭐예요?", "answer": "회사 계정으로 로그인해요."}
LEAVE: dict[str, object] = {"question": "연차는 며칠이에요?", "answer": "입사 첫해는 11일이에요."}
HR_LINK = "https://wiki.example.com/hr"
COMMA_ANSWER = "입사 첫해는 11일이에요, 다음 해부터 15일이에요."
WIFI_WITH_KEYWORDS = {**WIFI, "keywords": ["와이파이", "wifi"]}
KOREAN_KEYED_LEAVE = {"질문": LEAVE["question"], "답변": LEAVE["answer"], "키워드": "연차; 휴가", "분류": "hr"}


def _write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


IMPORT_CASES = [
    pytest.param(
        "faq.csv",
        "분류,질문,답변,키워드,담당,링크,섹션\nit,와이파이 비밀번호가 뭐예요?,회사 계정으로 로그인해요.,와이파이,it,"
        "https://wiki.example.com/it#wifi,와이파이 접속\n",
        [
            {
                "category": "it",
                **WIFI,
                "keywords": ["와이파이"],
                "department": "it",
                "link": "https://wiki.example.com/it#wifi",
                "section": "와이파이 접속",
            }
        ],
        "utf-8",
        id="korean-headers",
    ),
    pytest.param(
        "faq.csv",
        "카테고리,질문,답,부서,문서\nhr,연차는 며칠이에요?,입사 첫해는 11일이에요.,hr,연차\n",
        [{"category": "hr", **LEAVE, "department": "hr", "section": "연차"}],
        "utf-8",
        id="korean-header-synonyms",
    ),
    pytest.param(
        "faq.CSV",
        " Question ,ANSWER,Category,Keywords,Department,Link,Section,Owner\n"
        f"연차는 며칠이에요?,입사 첫해는 11일이에요.,hr,연차,hr,{HR_LINK},연차,kim\n",
        [{"category": "hr", **LEAVE, "keywords": ["연차"], "department": "hr", "link": HR_LINK, "section": "연차"}],
        "utf-8",
        id="english-headers-any-case-unknown-column-ignored",
    ),
    pytest.param(
        "faq.csv",
        "\ufeff질문,답변\n와이파이 비밀번호가 뭐예요?,회사 계정으로 로그인해요.\n",
        [WIFI],
        "utf-8-sig",
        id="bom",
    ),
    pytest.param(
        "faq.csv",
        "질문,답변,분류\n연차는 며칠이에요?,입사 첫해는 11일이에요.,근태·휴가\n".encode("cp949"),
        [{"category": "근태·휴가", **LEAVE}],
        "cp949",
        id="cp949-korean-excel",
    ),
    pytest.param(
        "faq.csv",
        f"질문;답변;키워드\n연차는 며칠이에요?;{COMMA_ANSWER};연차, 휴가\n",
        [{"question": LEAVE["question"], "answer": COMMA_ANSWER, "keywords": ["연차", "휴가"]}],
        "utf-8",
        id="semicolon-with-commas-in-cells",
    ),
    pytest.param(
        "faq.tsv",
        "question\tanswer\n연차는 며칠이에요?\t입사 첫해는 11일; 다음 해 15일, 끝.\n",
        [{"question": LEAVE["question"], "answer": "입사 첫해는 11일; 다음 해 15일, 끝."}],
        "utf-8",
        id="tab",
    ),
    pytest.param(
        "faq.csv",
        '질문,답변\r\n와이파이 비밀번호가 뭐예요?,"첫째 줄, 쉼표 포함  \r\n둘째 줄 ""인용""\n\n- 목록"\r\n'
        "연차는 며칠이에요?,입사 첫해는 11일이에요.\r\n",
        [{"question": WIFI["question"], "answer": '첫째 줄, 쉼표 포함\n둘째 줄 "인용"\n\n- 목록'}, LEAVE],
        "utf-8",
        id="quoted-multi-line-answer-crlf",
    ),
    pytest.param(
        "faq.csv",
        '질문,답변,키워드\n연차는 며칠이에요?,11일이에요.,"연차, 휴가;반차 · 월차|연차|| 병가 "\n',
        [
            {
                "question": LEAVE["question"],
                "answer": "11일이에요.",
                "keywords": ["연차", "휴가", "반차", "월차", "병가"],
            }
        ],
        "utf-8",
        id="keywords-split-trimmed-deduplicated",
    ),
    pytest.param(
        "faq.csv",
        '질문,답변\n\n,,\n"  와이파이   비밀번호가\n뭐예요?  ",회사 계정으로 로그인해요.\n',
        [WIFI],
        "utf-8",
        id="blank-rows-skipped-question-whitespace-normalised",
    ),
    pytest.param(
        "faq.json",
        json.dumps([WIFI_WITH_KEYWORDS, KOREAN_KEYED_LEAVE], ensure_ascii=False),
        [WIFI_WITH_KEYWORDS, {"category": "hr", **LEAVE, "keywords": ["연차", "휴가"]}],
        "utf-8",
        id="json-list",
    ),
    pytest.param(
        "faq.json",
        json.dumps({"version": 1, "faq": [{"Question": LEAVE["question"], "Answer": LEAVE["answer"]}]}),
        [LEAVE],
        "utf-8",
        id="json-faq-object",
    ),
]


@pytest.mark.parametrize(("name", "content", "entries", "encoding"), IMPORT_CASES)
def test_import_reads_every_supported_shape(
    tmp_path: Path, name: str, content: str | bytes, entries: list[dict[str, object]], encoding: str
) -> None:
    result = import_faq(_write(tmp_path, name, content))
    assert result.problems == []
    assert result.entries == entries
    assert [list(e) for e in result.entries] == [list(e) for e in entries]  # faq.yaml key order
    assert result.encoding == encoding


LONG = "가" * 301
PROBLEM_CSV = (
    "질문,답변,링크\n"  # row 1
    ",답만 있어요,\n"  # 2
    "답이 없는 질문,,\n"  # 3
    f"{LONG},너무 긴 질문,\n"  # 4
    '여러 줄 답,"한 줄\n두 줄\n세 줄",\n'  # 5: one spreadsheet row, three lines of text
    "ftp 링크,답,ftp://files.example.com/a\n"  # 6
    "공백 링크,답,https://wiki.example.com/a b\n"  # 7
    "파이프 링크,답,https://wiki.example.com/a|b\n"  # 8
    "꺾쇠 링크,답,https://wiki.example.com/<a\n"  # 9
    "닫는 꺾쇠 링크,답,https://wiki.example.com/a>\n"  # 10
    "주소 없는 링크,답,https://\n"  # 11
    "상대 링크,답,/guide/it\n"  # 12
    "여러  줄 답 ,중복이에요,\n"  # 13: same question as row 5 after whitespace normalisation
    ",,\n"  # 14: entirely blank, skipped silently
    "좋은 링크,답,HTTPS://wiki.example.com/a?b=1&c=2#d\n"  # 15: near-misses that must be kept
    f"{'나' * 300},딱 300자,\n"  # 16
    "여러 줄 답?,물음표가 다르면 다른 질문이에요,\n"  # 17
)
PROBLEMS = [
    (2, "질문이 비어 있어요"),
    (3, "답변이 비어 있어요"),
    (4, "질문이 너무 길어요 (301자, 최대 300자)"),
    (6, "링크는 http:// 또는 https://로 시작하는 주소여야 해요"),
    (7, "링크에 공백이나 |, <, > 문자가 들어 있어요"),
    (8, "링크에 공백이나 |, <, > 문자가 들어 있어요"),
    (9, "링크에 공백이나 |, <, > 문자가 들어 있어요"),
    (10, "링크에 공백이나 |, <, > 문자가 들어 있어요"),
    (11, "링크는 http:// 또는 https://로 시작하는 주소여야 해요"),
    (12, "링크는 http:// 또는 https://로 시작하는 주소여야 해요"),
    (13, "5행과 같은 질문이에요"),
]


def test_every_problem_is_reported_with_its_spreadsheet_row(tmp_path: Path) -> None:
    result = import_faq(_write(tmp_path, "faq.csv", PROBLEM_CSV))
    assert result.problems == [ImportProblem(row, reason) for row, reason in PROBLEMS]
    assert [e["question"] for e in result.entries] == ["여러 줄 답", "좋은 링크", "나" * 300, "여러 줄 답?"]


def test_a_row_with_several_problems_names_them_all(tmp_path: Path) -> None:
    result = import_faq(_write(tmp_path, "faq.csv", "질문,답변,링크\n,,javascript:alert(1)\n"))
    assert result.problems == [
        ImportProblem(
            2, "질문이 비어 있어요; 답변이 비어 있어요; 링크는 http:// 또는 https://로 시작하는 주소여야 해요"
        )
    ]
    assert result.entries == []


def test_json_problems_are_numbered_by_index_plus_one(tmp_path: Path) -> None:
    items: list[object] = [LEAVE, "문자열", {"question": "답 없음"}, {**LEAVE, "answer": "다른 답"}, WIFI]
    result = import_faq(_write(tmp_path, "faq.json", json.dumps(items, ensure_ascii=False)))
    assert result.problems == [
        ImportProblem(2, "항목이 객체({...})가 아니에요"),
        ImportProblem(3, "답변이 비어 있어요"),
        ImportProblem(4, "1행과 같은 질문이에요"),
    ]
    assert result.entries == [LEAVE, WIFI]


ERROR_CASES = [
    pytest.param("faq.txt", "질문,답변\n가,나\n", "지원하지 않는 파일 형식", id="unknown-extension"),
    pytest.param("faq.xlsx", b"PK\x03\x04", "CSV UTF-8", id="excel-workbook"),
    pytest.param("faq.csv", b"", "비어 있어요", id="empty"),
    pytest.param("faq.csv", b"\xef\xbb\xbf \n\n", "비어 있어요", id="only-whitespace"),
    pytest.param("faq.csv", b"\xff\xfe\x00q\x80\x80", "인코딩", id="neither-utf8-nor-cp949"),
    pytest.param("faq.csv", "제목,내용\n가,나\n", "질문과 답변 열", id="no-question-answer-header"),
    pytest.param("faq.csv", "질문\n가\n", "질문과 답변 열", id="answer-column-missing"),
    pytest.param("faq.json", '[{"question": "가",', "JSON 형식", id="invalid-json"),
    pytest.param("faq.json", '{"items": []}', '{"faq": [...]}', id="json-object-without-faq"),
    pytest.param("faq.json", '"질문"', '{"faq": [...]}', id="json-scalar"),
]


@pytest.mark.parametrize(("name", "content", "message"), ERROR_CASES)
def test_unusable_files_raise_a_korean_error(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    with pytest.raises(FaqImportError, match=re.escape(message)):
        import_faq(_write(tmp_path, name, content))


@pytest.mark.parametrize("target", ["missing.csv", "folder.csv"])
def test_unreadable_paths_raise_a_korean_error(tmp_path: Path, target: str) -> None:
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(FaqImportError, match="파일을 읽을 수 없어요"):
        import_faq(tmp_path / target)


ROUND_TRIP_ENTRIES: list[dict[str, object]] = [
    {"category": "it", **WIFI, "keywords": ["와이파이", "EN-Office", "a, b", "[x]"], "department": "it",
     "link": "https://wiki.example.com/it#wifi", "section": "와이파이 접속"},
    {"question": "yes", "answer": "첫 줄\n- 목록: 값\n# 해시\n\n  들여쓴 줄"},
    {"category": "123", "question": "'따옴표'와 \"큰따옴표\": 콜론?", "answer": "null"},
    {"question": "탭이 든 답", "answer": "가\t나\n다"},
    {"question": "@멘션 & 별표 *", "answer": "~ 물결 | 파이프 > 꺾쇠 % 퍼센트 " + "길다 " * 40 + "끝"},
]  # fmt: skip


def test_written_yaml_loads_back_into_the_same_entries(tmp_path: Path) -> None:
    out = tmp_path / "kb" / "faq.yaml"
    write_faq_yaml(ROUND_TRIP_ENTRIES, out)
    text = out.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == ROUND_TRIP_ENTRIES
    assert "와이파이" in text
    assert "\\u" not in text  # allow_unicode
    assert "  answer: |-\n    첫 줄\n    - 목록: 값\n" in text  # multi-line answers are block scalars
    first = yaml.safe_load(text)[0]
    assert list(first) == ["category", "question", "answer", "keywords", "department", "link", "section"]
    assert list(tmp_path.joinpath("kb").iterdir()) == [out]  # no temporary file left behind


def test_keys_are_reordered_and_empty_values_omitted() -> None:
    entry: dict[str, object] = {"section": "", "link": None, "answer": "답", "keywords": [], "question": "질문"}
    assert dump_faq_yaml([entry]) == "- question: 질문\n  answer: 답\n"
    assert yaml.safe_load(dump_faq_yaml([])) == []


def test_imported_csv_round_trips_through_the_project_loader(tmp_path: Path) -> None:
    source = '분류,질문,답변,키워드,담당,링크,섹션\nit,와이파이?,"한 줄\n두 줄",와이파이|wifi,it,https://w.example.com,접속\n'
    result = import_faq(_write(tmp_path, "faq.csv", source))
    out = tmp_path / "faq.yaml"
    write_faq_yaml(result.entries, out)
    text = out.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == result.entries
    errors: list[KnowledgeError] = []
    [section] = parse_faq("faq.yaml", text, errors)
    assert errors == []
    assert (section.question, section.text, section.keywords) == ("와이파이?", "한 줄\n두 줄", ("와이파이", "wifi"))
    assert (section.category, section.department, section.link, section.related_heading) == (
        "it",
        "it",
        "https://w.example.com",
        "접속",
    )


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "faq.yaml"
    out.write_text("# 손으로 고친 파일\n", encoding="utf-8")
    out.chmod(0o640)
    with pytest.raises(FaqImportError, match="이미 있어요.*--force"):
        write_faq_yaml([LEAVE], out)
    assert out.read_text(encoding="utf-8") == "# 손으로 고친 파일\n"
    write_faq_yaml([LEAVE], out, force=True)
    assert yaml.safe_load(out.read_text(encoding="utf-8")) == [LEAVE]
    assert out.stat().st_mode & 0o777 == 0o640
    assert list(tmp_path.iterdir()) == [out]


def _endy(cwd: Path, *args: str, knowledge_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KNOWLEDGE_DIR"} | {"PYTHONIOENCODING": "utf-8"}
    if knowledge_dir is not None:
        env["KNOWLEDGE_DIR"] = str(knowledge_dir)
    command = [sys.executable, "-m", "endy_bot", "kb", "import", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60)


def test_cli_writes_faq_yaml_and_lists_skipped_rows(tmp_path: Path) -> None:
    rows = f"{LEAVE['question']},{LEAVE['answer']}\n답 없는 질문,\n{WIFI['question']},로그인\n"
    _write(tmp_path, "faq.csv", f"질문,답변\n{rows}")
    run = _endy(tmp_path, "faq.csv")
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.splitlines() == [
        "faq.yaml에 FAQ 2개를 썼어요 (인코딩 utf-8, 건너뛴 행 1개).",
        "  행 3: 답변이 비어 있어요",
    ]
    errors: list[KnowledgeError] = []
    sections = parse_faq("faq.yaml", (tmp_path / "faq.yaml").read_text(encoding="utf-8"), errors)
    assert [s.question for s in sections] == [LEAVE["question"], WIFI["question"]]
    assert errors == []

    again = _endy(tmp_path, "faq.csv")
    assert again.returncode == 2
    assert "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert _endy(tmp_path, "faq.csv", "--force").returncode == 0


def test_cli_out_and_knowledge_dir(tmp_path: Path) -> None:
    _write(tmp_path, "faq.json", json.dumps({"faq": [LEAVE]}, ensure_ascii=False))
    kb = tmp_path / "kb"
    run = _endy(tmp_path, "faq.json", knowledge_dir=kb)
    assert run.returncode == 0
    assert f"{kb / 'faq.yaml'}에 FAQ 1개를 썼어요 (인코딩 utf-8)." in run.stdout
    assert yaml.safe_load((kb / "faq.yaml").read_text(encoding="utf-8")) == [LEAVE]
    assert _endy(tmp_path, "faq.json", "--out", "elsewhere/my.yaml", knowledge_dir=kb).returncode == 0
    assert (tmp_path / "elsewhere" / "my.yaml").is_file()


CLI_FAILURES = [
    pytest.param("faq.csv", "질문,답변\n,답\n질문,\n", 1, "  행 2: 질문이 비어 있어요", id="no-usable-entry"),
    pytest.param("faq.csv", "질문,답변\n", 1, "쓸 수 있는 FAQ 항목이 없어서", id="header-only"),
    pytest.param("faq.xlsx", "PK", 2, "CSV UTF-8", id="unsupported"),
    pytest.param("faq.json", "{oops", 2, "JSON 형식", id="broken-json"),
    pytest.param("missing.csv", None, 2, "파일을 읽을 수 없어요", id="missing-file"),
]


@pytest.mark.parametrize(("name", "content", "code", "message"), CLI_FAILURES)
def test_cli_failures_exit_without_a_traceback(
    tmp_path: Path, name: str, content: str | None, code: int, message: str
) -> None:
    if content is not None:
        _write(tmp_path, name, content)
    run = _endy(tmp_path, name)
    assert run.returncode == code
    assert message in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "faq.yaml").exists()
