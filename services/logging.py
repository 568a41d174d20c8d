"""Loguru set-up: masked JSON lines to LOG_DIR/endy.log with rotation, readable console output."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import TYPE_CHECKING, Any

from loguru import logger

from config.settings import mask_url, redact_credentials
from services.privacy import mask_pii

if TYPE_CHECKING:
    from loguru import Record

    from config.settings import Settings

LOG_FILE_NAME = "endy.log"
NOTICE = "NOTICE"
_STDLIB_LOGGERS = ("slack_sdk", "slack_bolt", "asyncpg", "aiohttp", "openai", "httpx", "redis")


# A record's text (message, bound values, traceback) is cut to this before anything masks it: the masker's cost
# then has a bound per record, whatever a caller (or a library logging a request) hands in.
RECORD_MAX_BYTES = 8 * 1024
MESSAGE_MAX_BYTES = 4 * 1024
VALUE_MAX_BYTES = 1024
EXCEPTION_MIN_BYTES = 2 * 1024  # held back for the traceback, so a long message cannot crowd it out
MAX_ITEMS = 50  # of a bound list or dict
_PLAIN = (bool, int, float, type(None))


def _clip(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes of the start of `text`, ending before a split word, plus a note of the cut."""
    if len(text) * 4 <= limit:  # no character takes more than 4 bytes
        return text
    head = text[:limit].encode()[:limit].decode("utf-8", "ignore")
    if len(head) == len(text):
        return text
    space = head.rfind(" ", max(0, len(head) - 32))  # do not leave half a phone number for the masker to miss
    head = head[:space] if space > 0 else head
    return f"{head}…[+{len(text) - len(head)} chars]"


def _clip_middle(text: str, limit: int) -> str:
    """A traceback: its start (where it happened) and its end (the exception itself), the middle cut."""
    if len(text) * 4 <= limit:
        return text
    half = limit // 2
    head = text[:half].encode()[:half].decode("utf-8", "ignore")
    tail = text[-half:].encode()[-half:].decode("utf-8", "ignore")
    if len(head) + len(tail) >= len(text):  # both ends cover it: it fits
        return text
    return f"{head}\n…[+{len(text) - len(head) - len(tail)} chars]…\n{tail}"


class _Budget:
    """What is left of RECORD_MAX_BYTES for one record; every piece of text is cut to it, then masked."""

    def __init__(self, total: int) -> None:
        self.left = total

    def scrub(self, text: str, cap: int, *, middle: bool = False) -> str:
        clipped = (_clip_middle if middle else _clip)(text, max(0, min(cap, self.left)))
        self.left -= len(clipped.encode())
        return mask_pii(redact_credentials(clipped))

    def value(self, value: Any) -> Any:
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, dict):
            kept = self._items(list(value.values()))
            out = dict(zip(value, kept, strict=False))
            if len(kept) > len(out):  # cut: the note of it under its own key
                out["…"] = kept[-1]
            return out
        if isinstance(value, list | tuple):
            return self._items(list(value))
        return self.scrub(value if isinstance(value, str) else str(value), VALUE_MAX_BYTES)

    def _items(self, values: list[Any]) -> list[Any]:
        kept = []
        for item in values[:MAX_ITEMS]:
            if self.left <= 0:
                break
            kept.append(self.value(item))
        return kept if len(kept) == len(values) else [*kept, f"…[+{len(values) - len(kept)} items]"]


def _exception_text(record: Record, budget: _Budget) -> str:
    exc = record["exception"]
    if exc is None:
        return ""
    budget.left += EXCEPTION_MIN_BYTES
    text = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
    return budget.scrub(text, RECORD_MAX_BYTES, middle=True)


def _patch(record: Record) -> None:
    """Cut, then mask PII and credentials in the message, the bound extras and the traceback before any sink sees
    them."""
    budget = _Budget(RECORD_MAX_BYTES - (EXCEPTION_MIN_BYTES if record["exception"] is not None else 0))
    record["message"] = budget.scrub(record["message"], MESSAGE_MAX_BYTES)
    extra = record["extra"]
    for key in list(extra):
        if not key.startswith("_"):
            extra[key] = budget.value(extra[key])
    exc_text = _exception_text(record, budget)
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
        base = mask_url(settings.openai_base_url or "https://api.openai.com/v1", keep_user=False)  # may hold a key
        logger.bind(model=settings.openai_model, base_url=base).log(
            _notice_level(), "✅ LLM 서비스 활성화 (OpenAI API)"
        )
    else:
        logger.warning("⚠️ LLM 서비스 비활성화 — OPENAI_API_KEY is not set (check .env); answers are extractive")
