"""The `endy` command as a user runs it: a real subprocess on embedded defaults (nothing configured)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config import problems as texts
from config.settings import MIN_SECRET_KEY_CHARS
from handlers.texts import CONFIG_ERROR
from services.knowledge import sample_kb_dir
from tests.conftest import DATA, HOST_ENV

pytestmark = pytest.mark.timeout(120)
# The handbook's caches seeded (tests/conftest.py warm_cache) — not for the first `endy ask` below, which builds them as
# a user's first run does, nor where a test checks that nothing was written.
WARM = pytest.mark.usefixtures("warm_cache")


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in HOST_ENV}
    return subprocess.run(
        [sys.executable, "-m", "endy_bot", *args],
        cwd=tmp_path,
        input=stdin,
        text=True,
        capture_output=True,
        env={**clean, **env},
        timeout=100,
        check=False,
    )


def test_ask_answers_from_the_bundled_handbook(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", "연차는 어떻게 신청하나요?")
    assert result.returncode == 0, result.stderr
    assert "e-HR" in result.stdout
    assert "📄 출처" in result.stdout
    assert "연차 신청 방법" in result.stdout or "연차는 어떻게 신청하나요?" in result.stdout
    assert "⚠️ LLM 서비스 비활성화" in result.stderr
    assert "Traceback" not in result.stderr
    log = (tmp_path / "logs" / "endy.log").read_text(encoding="utf-8")
    assert "answered" in log
    assert "LLM 서비스 비활성화" in log


@WARM
def test_ask_bad_input_gets_kind_korean_messages(tmp_path: Path) -> None:
    empty = run(tmp_path, "ask", "   ")
    assert empty.returncode == 0
    assert "무엇이든 편하게 물어보세요" in empty.stdout
    assert "근태·휴가" in empty.stdout
    long = run(tmp_path, "ask", "가" * 501)
    assert long.returncode == 0
    assert "500자 이내" in long.stdout
    assert "501자" in long.stdout
    unknown = run(tmp_path, "ask", "비트코인 시세 알려줘")
    assert "찾지 못했어요" in unknown.stdout
    assert "#ask-" in unknown.stdout


@WARM
def test_chat_keeps_history_for_follow_ups(tmp_path: Path) -> None:
    result = run(tmp_path, "chat", stdin="연차는 어떻게 신청하나요?\n그럼 취소는요?\n종료\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "엔디예요" in out
    assert "좋은 하루" in out
    follow_up = out.split("질문> ")[2]
    assert "취소" in follow_up
    assert "연차" in follow_up
    assert "찾지 못했어요" not in follow_up


def test_kb_stats_reports_counts_and_problems(tmp_path: Path) -> None:
    stats = run(tmp_path, "kb", "stats")
    assert stats.returncode == 0
    assert "엔카 생활 가이드" in stats.stdout
    assert "FAQ" in stats.stdout
    assert "✅ 문제도 경고도 없어요" in stats.stdout
    kb = tmp_path / "kb"
    shutil.copytree(sample_kb_dir(), kb)
    (kb / "faq.yaml").write_text("- question: 좋은 질문\n  answer: 좋은 답\n- question: 답 없음\n", encoding="utf-8")
    broken = run(tmp_path, "kb", "stats", "--kb", str(kb))
    assert broken.returncode == 1
    assert "faq.yaml:3" in broken.stdout
    assert "FAQ 1개" in broken.stdout


DOC = "# 안내\n## 연차\n연차는 15일이에요.\n"
KB_STATS_EXIT = [
    pytest.param({"docs/a.md": DOC}, [], 0, "✅", id="clean"),
    pytest.param({"docs/a.md": DOC}, ["--strict"], 0, "✅", id="clean-strict"),
    pytest.param({"docs/a.md": DOC, "kb.yaml": "departments:\n  - it\n"}, [], 1, "kb.yaml:2", id="problem"),
    pytest.param({"docs/a.md": DOC, "docs/empty.md": ""}, [], 0, "⚠️ 경고 1개", id="warning"),
    pytest.param({"docs/a.md": DOC, "docs/empty.md": ""}, ["--strict"], 1, "docs/empty.md", id="warning-strict"),
    pytest.param(
        {"docs/a.md": DOC, "faq.yaml": "- 그냥 문자열\n- question: 질문\n  answer: 답\n  link: 'javascript:x'\n"},
        [],
        1,
        "faq.yaml:4",
        id="skipped-entry-and-bad-link",  # listed once, in Korean, not also logged in English
    ),
    pytest.param({}, [], 0, "답할 수 있는 내용이 없어요", id="empty-folder"),
    pytest.param({}, ["--strict"], 1, "답할 수 있는 내용이 없어요", id="empty-folder-strict"),
]


@pytest.mark.parametrize(("files", "flags", "code", "shown"), KB_STATS_EXIT)
def test_kb_stats_exit_code_is_a_ci_check(
    tmp_path: Path, files: dict[str, str], flags: list[str], code: int, shown: str
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    for rel, text in files.items():
        (kb / rel).parent.mkdir(parents=True, exist_ok=True)
        (kb / rel).write_text(text, encoding="utf-8")
    result = run(tmp_path, "kb", "stats", "--kb", str(kb), *flags)
    assert (result.returncode, result.stderr) == (code, "")
    assert shown in result.stdout


def test_ask_on_a_folder_with_problems_says_so_in_one_korean_line(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "a.md").write_text(DOC, encoding="utf-8")
    (kb / "faq.yaml").write_text("- 그냥 문자열\n- question: 질문\n  answer: 답\n  link: 'javascript:x'\n", "utf-8")
    (kb / "empty.md").write_text("", encoding="utf-8")
    result = run(tmp_path, "ask", "연차는 며칠이에요?", KNOWLEDGE_DIR=str(kb))
    assert result.returncode == 0, result.stderr
    assert "15일" in result.stdout
    lines = [line for line in result.stderr.splitlines() if "LLM 서비스" not in line]
    assert len(lines) == 1, result.stderr  # not one English line per skipped entry, without its file or line
    assert "문제 2개, 경고 1개" in lines[0]
    assert "endy kb stats" in lines[0]


MISSING_FOLDER = [
    pytest.param(["kb", "stats", "--kb", "nope"], {}, "--kb", id="kb-stats"),
    pytest.param(["kb", "stats"], {"KNOWLEDGE_DIR": "nope"}, "KNOWLEDGE_DIR", id="kb-stats-env"),
    pytest.param(["ask", "연차"], {"KNOWLEDGE_DIR": "nope"}, "KNOWLEDGE_DIR", id="ask"),
    pytest.param(["chat"], {"KNOWLEDGE_DIR": "nope"}, "KNOWLEDGE_DIR", id="chat"),
    pytest.param(["ask", "연차"], {"KNOWLEDGE_DIR": "handbook.md"}, "폴더가 아니라 파일이에요", id="ask-a-file"),
]


@pytest.mark.parametrize(("args", "env", "named"), MISSING_FOLDER)
def test_a_missing_knowledge_folder_is_one_korean_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    (tmp_path / "handbook.md").write_text(DOC, encoding="utf-8")
    result = run(tmp_path, *args, stdin="연차\n", **env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert named in result.stderr
    assert "지식 폴더가 없어요" in result.stderr or "파일이에요" in result.stderr
    assert not (tmp_path / ".endy").exists()  # refused before any embedded server was started


@WARM
def test_kb_eval_json(tmp_path: Path) -> None:
    oos = DATA / "out_of_scope.txt"
    result = run(tmp_path, "kb", "eval", str(DATA / "devset.jsonl"), "--out-of-scope", str(oos), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    contract = {"n", "hit_at_1", "hit_at_3", "mrr", "answered_correctly", "refused_but_found", "false_accept_rate"}
    assert contract | {"misses"} <= set(report)  # scripts outside the repository read these keys
    assert report["n"] >= 60
    assert report["hit_at_3"] >= 0.9
    assert 0.0 <= report["false_accept_rate"] <= 0.1
    assert report["answered_correctly"] <= report["hit_at_3"]
    human = run(tmp_path, "kb", "eval", str(tmp_path / "missing.jsonl"))
    assert human.returncode == 2
    assert "missing.jsonl" in human.stderr
    assert "Traceback" not in human.stderr


def test_production_refuses_to_start_and_lists_every_problem(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", "연차", ENVIRONMENT="production", SECRET_KEY="short", SLACK_BOT_TOKEN="xoxp-wrong")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        CONFIG_ERROR,
        *(
            f"  - {p}"
            for p in (
                texts.secret_key_short(5, MIN_SECRET_KEY_CHARS),
                texts.token_prefix("SLACK_BOT_TOKEN", "xoxb-", "xoxp-"),
                texts.token_missing("SLACK_APP_TOKEN"),
                texts.url_unset_in_production("DATABASE_URL"),
                texts.url_unset_in_production("REDIS_URL"),
            )
        ),
    ]
    assert "Traceback" not in result.stderr
    assert "short" not in result.stderr


def test_invalid_setting_value_is_a_clear_error(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", "연차", RATE_LIMIT_PER_MINUTE="many")
    assert result.returncode == 2
    problem = texts.INVALID_INTEGER.format(name="RATE_LIMIT_PER_MINUTE", default=10)
    assert result.stderr.splitlines() == [CONFIG_ERROR, f"  - {problem}"]
    assert "Traceback" not in result.stderr


@WARM
def test_chat_shows_the_limiter_message_and_records_the_conversation(tmp_path: Path) -> None:
    questions = "연차 신청 방법\n와이파이 비번\nVPN 접속\n종료\n"
    result = run(tmp_path, "chat", stdin=questions, RATE_LIMIT_PER_MINUTE="2")
    assert result.returncode == 0, result.stderr
    answers = result.stdout.split("질문> ")
    assert "e-HR" in answers[1]
    assert "질문이 너무 많이 들어왔어요" in answers[3]
    status = run(tmp_path, "migrate", "--status")
    assert status.returncode == 0
    assert "0001_initial.sql" in status.stdout
    assert "✔" in status.stdout
    again = run(tmp_path, "migrate")
    assert again.returncode == 0
    assert "up to date" in again.stdout


def test_garbage_database_url_is_a_clear_start_up_error(tmp_path: Path) -> None:
    result = run(tmp_path, "ask", "연차", DATABASE_URL="mysql://root:hunter2@db/x")
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
    redis = run(tmp_path, "ask", "연차", REDIS_URL="http://cache:6379")
    assert redis.returncode == 2
    assert "REDIS_URL" in redis.stderr
    assert "Traceback" not in redis.stderr
