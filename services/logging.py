"""Loguru set-up: masked JSON lines to LOG_DIR/endy.log with rotation, readable console output."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import TYPE_CHECKING, Any

from loguru import logger

from services.privacy import mask_pii

if TYPE_CHECKING:
    from loguru import Record

    from config.settings import Settings

LOG_FILE_NAME = "endy.log"
NOTICE = "NOTICE"
_STDLIB_LOGGERS = ("slack_sdk", "slack_bolt", "asyncpg", "aiohttp", "openai", "httpx", "redis")


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def _patch(record: Record) -> None:
    """Mask PII in the message, the bound extras and the traceback before any sink sees them."""
    record["message"] = mask_pii(record["message"])
    extra = record["extra"]
    for key in list(extra):
        if not key.startswith("_"):
            extra[key] = _mask_value(extra[key])
    exc_text = ""
    if record["exception"] is not None:
        exc = record["exception"]
        exc_text = mask_pii("".join(traceback.format_exception(exc.type, exc.value, exc.traceback)))
    extra["_exc"] = exc_text
    payload = {
        "time": record["time"].isoformat(),
        "level": record["level"].name,
        "logger": record["name"],
        "function": record["function"],
        "line": record["line"],
        "message": record["message"],
        "extra": {k: v for k, v in extra.items() if not k.startswith("_")},
    }
    if exc_text:
        payload["exception"] = exc_text
    extra["_json"] = json.dumps(payload, ensure_ascii=False, default=str)


def _json_format(record: Record) -> str:
    return "{extra[_json]}\n"


def _console_format(record: Record) -> str:
    tail = "\n{extra[_exc]}" if record["extra"].get("_exc") else ""
    return "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}" + tail + "\n"


class InterceptHandler(logging.Handler):
    """Route stdlib logging records (slack_sdk, asyncpg, aiohttp…) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        """Forward one stdlib record, keeping its level and caller."""
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(settings: Settings, *, console_level: str | None = None) -> None:
    """Install Endy's sinks; call once per process, before anything logs."""
    level = (console_level or settings.log_level).upper()
    logger.remove()
    logger.configure(patcher=_patch)
    if settings.is_production:
        logger.add(sys.stderr, level=level, format=_json_format, backtrace=False, diagnose=False)
    else:
        logger.add(sys.stderr, level=level, format=_console_format, colorize=None, backtrace=False, diagnose=False)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    logger.add(
        settings.log_dir / LOG_FILE_NAME,
        level=settings.log_level.upper(),
        format=_json_format,
        rotation=settings.log_max_bytes,
        retention=settings.log_backup_count,
        encoding="utf-8",
        enqueue=False,
        backtrace=False,
        diagnose=False,
    )
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    for name in _STDLIB_LOGGERS:
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def _notice_level() -> str:
    """A level above WARNING for start-up facts operators must see even with LOG_LEVEL=warning (production)."""
    try:
        logger.level(NOTICE)
    except ValueError:
        logger.level(NOTICE, no=35)
    return NOTICE


def log_llm_status(settings: Settings) -> None:
    """Log the start-up line the deployment guide tells operators to look for (visible at LOG_LEVEL=warning)."""
    if settings.llm_enabled:
        base = settings.openai_base_url or "https://api.openai.com/v1"
        logger.bind(model=settings.openai_model, base_url=base).log(
            _notice_level(), "✅ LLM 서비스 활성화 (OpenAI API)"
        )
    else:
        logger.warning("⚠️ LLM 서비스 비활성화 — OPENAI_API_KEY is not set (check .env); answers are extractive")
