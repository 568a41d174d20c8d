"""Logging: masked JSON lines in LOG_DIR/endy.log, stdlib records routed in, rotation, the LLM status line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loguru import logger

from config.settings import Settings
from services.logging import LOG_FILE_NAME, configure_logging, log_llm_status


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
    assert records[2]["logger"].startswith("slack_sdk") or records[2]["message"].startswith("stdlib says hi")
    assert records[2]["message"] == "stdlib says hi to [이메일]" and records[2]["level"] == "WARNING"


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
    assert str(record["message"]).startswith("✅ LLM 서비스 활성화") and record["level"] == "NOTICE"
