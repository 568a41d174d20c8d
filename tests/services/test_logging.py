"""Logging: masked JSON lines in LOG_DIR/endy.log, stdlib records routed in, rotation, the LLM status line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loguru import logger

from config.settings import Settings
from services.llm import LlmClient
from services.logging import LOG_FILE_NAME, configure_logging, log_llm_status
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    logger.remove()
    logging.basicConfig(handlers=[], force=True)


def _records(log_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (log_dir / LOG_FILE_NAME).read_text(encoding="utf-8").splitlines()]


def test_json_lines_are_masked_everywhere(make_settings: Callable[..., Settings], restore_logging: None) -> None:
    settings = make_settings(log_level="debug")
    configure_logging(settings, console_level="ERROR")
    logger.bind(user_text="연락처 010-1234-5678", nested={"mail": "lee@example.com"}).info("question from 사번 E12345")
    try:
        raise ValueError("card 4111-1111-1111-1111 rejected")
    except ValueError:
        logger.exception("failed for park@example.com")
    logging.getLogger("slack_sdk.web").warning("stdlib says hi to choi@example.com")
    text = (settings.log_dir / LOG_FILE_NAME).read_text(encoding="utf-8")
    for secret in (
        "010-1234-5678",
        "lee@example.com",
        "E12345",
        "4111-1111-1111-1111",
        "park@example.com",
        "choi@example.com",
    ):
        assert secret not in text
    records = _records(settings.log_dir)
    assert records[0]["message"] == "question from 사번 [사번]"
    assert records[0]["extra"] == {"user_text": "연락처 [전화번호]", "nested": {"mail": "[이메일]"}}
    assert "ValueError: card [카드번호] rejected" in str(records[1]["exception"])
    assert str(records[2]["logger"]).startswith("slack_sdk") or str(records[2]["message"]).startswith("stdlib says hi")
    assert records[2]["message"] == "stdlib says hi to [이메일]"
    assert records[2]["level"] == "WARNING"


def test_file_rotates_and_keeps_backup_count(make_settings: Callable[..., Settings], restore_logging: None) -> None:
    settings = make_settings(log_max_bytes=2048, log_backup_count=2)
    configure_logging(settings, console_level="ERROR")
    for i in range(200):
        logger.info("line {} {}", i, "x" * 100)
    files = sorted(settings.log_dir.iterdir())
    assert settings.log_dir / LOG_FILE_NAME in files
    assert len(files) == 3  # the live file plus LOG_BACKUP_COUNT rotated ones
    assert all(f.stat().st_size <= 2048 + 400 for f in files)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("sk-test", "✅ LLM 서비스 활성화 (OpenAI API)"),
        (None, "⚠️ LLM 서비스 비활성화"),
    ],
)
def test_llm_status_line(
    make_settings: Callable[..., Settings], restore_logging: None, key: str | None, expected: str
) -> None:
    settings = make_settings(openai_api_key=key)
    configure_logging(settings, console_level="ERROR")
    log_llm_status(settings)
    (record,) = _records(settings.log_dir)
    assert str(record["message"]).startswith(expected)
    assert "sk-test" not in json.dumps(record)


def test_llm_status_is_visible_at_the_production_log_level(
    make_settings: Callable[..., Settings], restore_logging: None
) -> None:
    settings = make_settings(openai_api_key="sk-test", log_level="warning")
    configure_logging(settings, console_level="ERROR")
    logger.info("routine detail")
    log_llm_status(settings)
    (record,) = _records(settings.log_dir)
    assert str(record["message"]).startswith("✅ LLM 서비스 활성화")
    assert record["level"] == "NOTICE"


MIB = 1024 * 1024
RECORD_BOUND = 8 * 1024 + 1024  # the text cap plus the record's fixed fields and the cut notes


def _only_line(log_dir: Path) -> str:
    (line,) = (log_dir / LOG_FILE_NAME).read_text(encoding="utf-8").splitlines()
    return line


@pytest.mark.parametrize(
    "emit",
    [
        pytest.param(lambda big: logger.info(big), id="message"),
        pytest.param(lambda big: logger.bind(body=big).info("request"), id="bound value"),
        pytest.param(lambda big: logger.bind(items=[big] * 100).info("request"), id="bound list"),
        pytest.param(lambda big: logging.getLogger("slack_bolt.App").info("body: %s", big), id="stdlib record"),
        pytest.param(lambda big: logger.opt(exception=ValueError(big)).error("failed"), id="exception"),
        pytest.param(lambda big: logger.bind(a=big, b=big).opt(exception=KeyError(big)).error(big), id="everything"),
    ],
)
def test_a_one_mib_record_is_capped_before_masking(
    make_settings: Callable[..., Settings], restore_logging: None, emit: Callable[[str], None]
) -> None:
    settings = make_settings(log_level="debug")
    configure_logging(settings, console_level="CRITICAL")
    big = "문의 kim@example.com 010-1234-5678 " + "가" * MIB  # multi-byte, with contact details up front
    emit(big)
    line = _only_line(settings.log_dir)
    assert len(line.encode()) <= RECORD_BOUND, len(line.encode())
    json.loads(line)  # still one valid JSON line
    assert "kim@example.com" not in line
    assert "010-1234-5678" not in line
    assert "[이메일]" in line
    assert "chars]" in line  # masked inside the kept part; the cut is said


def test_a_traceback_keeps_its_start_and_its_exception_line(
    make_settings: Callable[..., Settings], restore_logging: None
) -> None:
    settings = make_settings()
    configure_logging(settings, console_level="CRITICAL")
    try:
        raise RuntimeError("x" * MIB + " the end")
    except RuntimeError:
        logger.bind(ref="ab12cd34").exception("x" * MIB)
    record = json.loads(_only_line(settings.log_dir))
    assert str(record["exception"]).startswith("Traceback (most recent call last)")
    assert str(record["exception"]).endswith("the end\n")
    assert record["extra"] == {"ref": "ab12cd34"}


@pytest.mark.parametrize(
    ("base_url", "secrets"),
    [
        ("https://llm.example/v1?api-key=sk-live-123&api-version=2024-06-01", ["sk-live-123"]),
        ("https://proxy:hunter2@llm.example/v1", ["hunter2"]),
        ("https://sk-bare-token@llm.example/v1", ["sk-bare-token"]),
        ("https://llm.example/v1?token=t0k3n#access_token=fr4g", ["t0k3n", "fr4g"]),
    ],
)
def test_the_llm_base_url_is_logged_without_credentials(
    make_settings: Callable[..., Settings], restore_logging: None, base_url: str, secrets: list[str]
) -> None:
    settings = make_settings(openai_api_key="sk-test", openai_base_url=base_url)
    configure_logging(settings, console_level="CRITICAL")
    log_llm_status(settings)
    line = _only_line(settings.log_dir)
    assert "llm.example/v1" in line
    assert "***" in line
    assert not [s for s in secrets if s in line]


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("cannot connect to postgresql://endy:s3cret@db:5432/endy?sslmode=require", "s3cret"),
        ("dsn postgresql://endy@db/endy?password=s3cret&application_name=endy", "s3cret"),
        ("libpq: host=db user=endy password=s3cret dbname=endy", "s3cret"),
        ('HTTP Request: POST https://llm.example/v1/chat/completions?key=sk-123 "HTTP/1.1 200 OK"', "sk-123"),
        ("redis error at rediss://default:pa55@cache:6380/0", "pa55"),
        ("libpq: host=db user=endy password='s3cret phrase' dbname=endy", "s3cret"),
        ('libpq: host=db user=endy password="s3cret" dbname=endy', "s3cret"),
        ('HTTP Request: POST https://sk-bare-token@llm.example/v1/chat/completions "HTTP/1.1 200 OK"', "sk-bare-token"),
    ],
)
def test_credentials_in_any_log_line_are_redacted(
    make_settings: Callable[..., Settings], restore_logging: None, text: str, leaked: str
) -> None:
    settings = make_settings()
    configure_logging(settings, console_level="CRITICAL")
    logging.getLogger("httpx").warning(text)
    line = _only_line(settings.log_dir)
    assert leaked not in line
    assert "***" in line


async def test_the_llm_clients_own_request_lines_carry_no_credential_of_the_base_url(
    make_settings: Callable[..., Settings], restore_logging: None
) -> None:
    async with FakeOpenAI() as fake:  # the HTTP client logs every request's URL at INFO, userinfo included
        base_url = fake.base_url.replace("http://", "http://sk-bare-token@")
        settings = make_settings(openai_api_key="sk-test", openai_base_url=base_url)
        configure_logging(settings, console_level="CRITICAL")
        llm = LlmClient(settings)
        try:
            await llm.complete([{"role": "user", "content": "연차는 어떻게 신청하나요?"}])
        finally:
            await llm.aclose()
    text = (settings.log_dir / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "/v1/chat/completions" in text  # the request line was written
    assert "sk-bare-token" not in text
    assert "***@127.0.0.1" in text


def test_parameters_that_are_not_credentials_stay(
    make_settings: Callable[..., Settings], restore_logging: None
) -> None:
    settings = make_settings()
    configure_logging(settings, console_level="CRITICAL")
    text = "postgresql://endy@db/endy?sslmode=require&application_name=endy prompt_tokens=12 keepalives=1"
    logger.info(text)
    assert json.loads(_only_line(settings.log_dir))["message"] == text
