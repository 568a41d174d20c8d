"""The HTTP surface under attack: forged, stale and replayed Slack requests; probing the sidecar for more than it shows.

Requests go over raw TCP where a client library would tidy them up (``/../etc/passwd``, garbage request lines),
so the server sees exactly what an attacker sends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from loguru import logger
from slack_bolt.request.async_request import AsyncBoltRequest

from config.settings import Settings
from endy_bot.slack_http import MAX_SKEW_SECONDS, ReadTimeouts
from services.logging import LOG_FILE_NAME, configure_logging
from tests.endy import SIGNING_SECRET, Endy, StartEndy
from tests.fakes.slack_payloads import http_body, sign
from tests.helpers import eventually

pytestmark = pytest.mark.timeout(120)
USER, CHANNEL = "U0MALLORY1", "C0TARGET"
ENDPOINTS = ("/health", "/readiness", "/liveness", "/metrics")
CANARY = "canary.kim@example.com"  # in refused requests: it must never reach the log
LOG_BYTES_PER_REFUSAL = 300  # one short line
# What a body must never show: a traceback, a source or system path, a directory listing, a connection string.
LEAK = re.compile(
    r"Traceback|File \"|\.py\b|site-packages|/work/|/usr/|/etc/|/root|root:x:|Index of|<a href|postgres(?:ql)?://|redis://|unix://",
    re.IGNORECASE,
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


async def raw_http(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> Reply:
    """One request exactly as written (no path normalisation), ``Connection: close``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return await _read_reply(reader, writer)


async def raw_bytes(port: int, data: bytes) -> Reply:
    """Send arbitrary bytes as a request; read whatever comes back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    return await _read_reply(reader, writer)


async def _read_reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Reply:
    try:
        async with asyncio.timeout(10):
            raw = await reader.read(-1)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return Reply(int(status_line.split()[1]), headers, body.decode("utf-8", errors="replace"))


def assert_clean(reply: Reply, what: str) -> None:
    """No traceback, path, listing or secret in the body; no framework or version named in Server."""
    assert not LEAK.search(reply.body), f"{what}: body leaks {LEAK.search(reply.body)!r}: {reply.body[:300]!r}"
    assert reply.headers.get("server") == "endy", f"{what}: Server: {reply.headers.get('server')}"


async def slack_post(endy: Endy, body: bytes, headers: dict[str, str]) -> Reply:
    port = endy.deps.settings.slack_http_port
    return await raw_http(port, "POST", "/slack/events", {"Content-Type": "application/json", **headers}, body)


def mention(endy: Endy, text: str = "연차 신청 방법 알려줘") -> bytes:
    body, _ = http_body("events_api", endy.slack.event_app_mention(USER, text, channel=CHANNEL))
    return body


async def settle(endy: Endy) -> None:
    """Bounded poll until no answer is in flight (finishing a task changes nothing the fake could signal)."""
    await eventually(lambda: len(endy.server.tasks) == 0, "an end to the answers in flight", 10)


def errors_total(endy: Endy) -> dict[str, float]:
    """errors_total by type: the door's refusals are http_*; anything else is an unhandled error."""
    return {
        s.labels["type"]: s.value
        for m in endy.deps.metrics.registry.collect()
        if m.name == "errors"
        for s in m.samples
        if s.name == "errors_total" and s.value
    }


@dataclass
class LogFile:
    """Endy's LOG_DIR/endy.log."""

    path: Path

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else ""


@pytest.fixture
def endy_log(make_settings: Callable[..., Settings]) -> Iterator[LogFile]:
    """Logging set up as `endy serve` does before Endy starts (at LOG_LEVEL=debug, the most that is ever written),
    into the LOG_DIR Endy's settings get too. Request it before start_endy: it is undone after Endy stopped."""
    settings = make_settings(log_level="debug")
    configure_logging(settings, console_level="CRITICAL")
    yield LogFile(settings.log_dir / LOG_FILE_NAME)
    logger.remove()
    logging.basicConfig(handlers=[], force=True)


async def test_forged_stale_and_replayed_slack_requests_are_refused(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(mode="http")
    now = int(time.time())
    body = mention(endy)
    refused = {
        "no signature": {},
        "forged secret": sign(body, "forged-secret", now),
        "signature of another body": sign(mention(endy, "급여일"), SIGNING_SECRET, now),
        "stale timestamp (6 min)": sign(body, SIGNING_SECRET, now - 6 * 60),
        "stale by one second past 5 min": sign(body, SIGNING_SECRET, now - 5 * 60 - 2),
        "timestamp from the future": sign(body, SIGNING_SECRET, now + 10 * 60),
        "signature without v0=": {**sign(body, SIGNING_SECRET, now), "X-Slack-Signature": "deadbeef"},
    }
    for what, headers in refused.items():
        reply = await slack_post(endy, body, headers)
        assert reply.status == 401, f"{what}: {reply.status} {reply.body!r}"
        assert_clean(reply, what)
    # A request captured 10 minutes ago, replayed byte for byte (its signature was valid then).
    captured = mention(endy, "와이파이 비번 뭐야?")
    old = sign(captured, SIGNING_SECRET, now - 10 * 60)
    assert (await slack_post(endy, captured, old)).status == 401
    # ... and the same capture with a fresh timestamp but the old signature.
    fresh_ts = {**old, "X-Slack-Request-Timestamp": str(now)}
    assert (await slack_post(endy, captured, fresh_ts)).status == 401
    assert (await slack_post(endy, body, sign(body, SIGNING_SECRET))).status == 200  # the genuine request
    (answer,) = await endy.slack.wait_for_messages(1)
    assert "e-HR" in answer.text  # only the genuine request was answered
    await settle(endy)
    assert len(endy.slack.messages()) == 1
    assert errors_total(endy) == {"http_unsigned": 1, "http_bad_signature": 4, "http_stale_timestamp": 4}


async def test_a_malformed_timestamp_is_refused_without_side_effects(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(mode="http")
    body = mention(endy)
    for ts in ("abc", "", "1e3", "12.5"):
        reply = await slack_post(endy, body, {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=00"})
        assert_clean(reply, f"timestamp {ts!r}")
        assert reply.status == 401, f"timestamp {ts!r}: {reply.status}"
    marker = mention(endy, "급여일이 언제예요?")
    assert (await slack_post(endy, marker, sign(marker, SIGNING_SECRET))).status == 200
    await endy.slack.wait_for_messages(1)
    await settle(endy)
    assert [m.text for m in endy.slack.messages() if "참조 번호" in m.text] == []  # no apology to a forged channel
    assert errors_total(endy) == {"http_bad_timestamp": 3, "http_unsigned": 1}  # refusals, no unhandled error


async def test_the_slack_listener_exposes_only_its_post_endpoint(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(mode="http")
    port = endy.deps.settings.slack_http_port
    for path in ("/", "/health", "/metrics", "/slack", "/slack/events/../../etc/passwd", "/static/"):
        reply = await raw_http(port, "GET", path)
        assert reply.status == 404, f"GET {path}: {reply.status}"
        assert_clean(reply, f"GET {path}")
    reply = await raw_http(port, "GET", "/slack/events")
    assert reply.status == 405
    assert "POST" in reply.headers.get("allow", "")
    assert_clean(reply, "GET /slack/events")
    too_big = b'{"type": "event_callback", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    reply = await slack_post(endy, too_big, sign(too_big, SIGNING_SECRET))
    assert reply.status == 413, reply.status  # the 1 MiB limit, before any parsing or signature work
    assert_clean(reply, "2 MiB body")
    assert endy.slack.messages() == []
    assert errors_total(endy) == {"http_not_found": 6, "http_method_not_allowed": 1, "http_too_large": 1}


async def test_sidecar_serves_only_its_documented_endpoints(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(allowed_origins=["https://grafana.example"])
    port = endy.deps.settings.port
    await endy.slack.send_event(endy.slack.event_message_im("U0SECRETUSER", "연차는 어떻게 신청하나요?"))
    await endy.slack.wait_for_messages(1)
    for path in ENDPOINTS:
        reply = await raw_http(port, "GET", path, {"Origin": "https://evil.example"})
        assert reply.status in (200, 503), f"GET {path}: {reply.status}"
        assert_clean(reply, f"GET {path}")
        assert reply.headers.get("x-content-type-options") == "nosniff"
        assert "access-control-allow-origin" not in reply.headers  # not an allowed origin
    metrics = (await raw_http(port, "GET", "/metrics")).body
    assert "api_requests_total" in metrics
    assert "U0SECRETUSER" not in metrics  # no user ids in labels
    health = json.loads((await raw_http(port, "GET", "/health")).body)
    assert set(health) == {"status", "timestamp", "version", "checks"}
    unknown = [
        "/",
        "/static/",
        "/static/../../etc/passwd",
        "/../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/.env",
        "/.git/config",
        "/health/",
        "/health/../../etc/passwd",
        "/metrics.json",
        "/admin",
        "/debug/pprof",
        "/slack/events",
        "/%ZZ",
        "/" + "a" * 4000,
    ]
    for path in unknown:
        reply = await raw_http(port, "GET", path)
        assert reply.status in (400, 404), f"GET {path}: {reply.status}"
        assert_clean(reply, f"GET {path}")
    for path in ENDPOINTS:
        for method in ("POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS"):
            reply = await raw_http(port, method, path, body=b'{"x": 1}' if method in ("POST", "PUT", "PATCH") else b"")
            assert reply.status == 405, f"{method} {path}: {reply.status}"
            assert "GET" in reply.headers.get("allow", ""), f"{method} {path}: {reply.status}"
            assert_clean(reply, f"{method} {path}")
            assert '{"x": 1}' not in reply.body  # TRACE must not echo the request


async def test_garbage_on_the_wire_gets_a_bare_400(endy_log: LogFile, start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(mode="http")
    garbage = (
        b"GARBAGE\r\n\r\n",
        b"GET /health HTTP/9.9\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Evil: " + CANARY.encode() + b"a" * 70_000 + b"\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
    )
    for port in (endy.deps.settings.port, endy.deps.settings.slack_http_port):
        for data in garbage:
            before = endy_log.size()
            reply = await raw_bytes(port, data)
            assert 400 <= reply.status < 500, f"{data[:40]!r} on {port}: {reply.status}"
            assert not LEAK.search(reply.body), f"{data[:40]!r}: {reply.body[:300]!r}"
            written = endy_log.size() - before
            assert written <= LOG_BYTES_PER_REFUSAL, f"{data[:40]!r}: {written} bytes of log"
    text = endy_log.text()
    assert "Traceback" not in text
    assert CANARY not in text  # one short line each, not the parser's traceback
    assert errors_total(endy) == {"http_malformed_request": 2 * len(garbage)}
    assert (await raw_http(endy.deps.settings.port, "GET", "/liveness")).status == 200  # still serving


MIB = 1024 * 1024
# Bodies no Slack request looks like; Bolt's parsing failed on several of them (a 500 and a traceback each).
BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "form payload that is a JSON list": (
        b'payload=[1,"' + CANARY.encode() + b'"]',
        "application/x-www-form-urlencoded",
    ),
    "form payload that is not JSON": (b"payload=%7B%22" + CANARY.encode(), "application/x-www-form-urlencoded"),
    "JSON list": (b'[1, "' + CANARY.encode() + b'"]', "application/json"),
    "JSON string": (b'"' + CANARY.encode() + b'"', "application/json"),
    "truncated JSON": (b'{"type": "event_callback", "event": {"text": "' + CANARY.encode(), "application/json"),
    "authorizations not a list": (
        b'{"type": "event_callback", "authorizations": "' + CANARY.encode() + b'"}',
        "application/json",
    ),
    "not UTF-8": (b"payload=\xff\xfe" + CANARY.encode(), "application/x-www-form-urlencoded"),
    "deeply nested JSON": (b"[" * 100_000, "application/json"),
}
UNSIGNED_ONLY: dict[str, tuple[bytes, str]] = {
    "url_verification": (b'{"type": "url_verification", "challenge": "' + CANARY.encode() + b'"}', "application/json"),
    "1 MiB of contact details": (((CANARY + " 010-1234-5678 ") * 40_000).encode()[: MIB - 1024], "text/plain"),
}


def forgeries(body: bytes) -> dict[str, dict[str, str]]:
    """Ways an attacker signs a request: not at all, with a guessed secret, with a timestamp that is no number."""
    return {
        "unsigned": {},
        "forged signature": sign(body, "forged-secret"),
        "malformed timestamp": {"X-Slack-Request-Timestamp": "1e3", "X-Slack-Signature": "v0=00"},
    }


def refused_quietly(endy_log: LogFile, what: str, reply: Reply, before: int) -> None:
    """A clean refusal that left at most one short line in the log, without the body or a traceback."""
    assert reply.status in (400, 401), f"{what}: {reply.status} {reply.body[:200]!r}"
    assert_clean(reply, what)
    written = endy_log.size() - before
    assert written <= LOG_BYTES_PER_REFUSAL, f"{what}: {written} bytes of log"


async def test_a_body_is_never_parsed_nor_logged_before_its_signature_is_verified(
    endy_log: LogFile, start_endy: StartEndy
) -> None:
    endy: Endy = await start_endy(mode="http")
    for name, (body, content_type) in (BAD_BODIES | UNSIGNED_ONLY).items():
        for forgery, headers in forgeries(body).items():
            before = endy_log.size()
            reply = await slack_post(endy, body, {"Content-Type": content_type, **headers})
            refused_quietly(endy_log, f"{name}, {forgery}", reply, before)
            assert reply.status == 401
    text = endy_log.text()
    assert CANARY not in text
    assert "Traceback" not in text
    assert "010-1234-5678" not in text
    n = len(BAD_BODIES | UNSIGNED_ONLY)
    assert errors_total(endy) == {"http_unsigned": n, "http_bad_signature": n, "http_bad_timestamp": n}
    marker = mention(endy, "급여일이 언제예요?")  # honest users are still answered
    assert (await slack_post(endy, marker, sign(marker, SIGNING_SECRET))).status == 200
    await endy.slack.wait_for_messages(1)


async def test_a_signed_but_malformed_body_is_a_clean_400(endy_log: LogFile, start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(mode="http")
    for name, (body, content_type) in BAD_BODIES.items():
        before = endy_log.size()
        reply = await slack_post(endy, body, {"Content-Type": content_type, **sign(body, SIGNING_SECRET)})
        refused_quietly(endy_log, name, reply, before)
        assert reply.status == 400
    text = endy_log.text()
    assert CANARY not in text
    assert "Traceback" not in text
    assert errors_total(endy) == {"http_malformed_body": len(BAD_BODIES)}


async def test_bolts_own_verifier_behind_the_door_never_logs_a_body(endy_log: LogFile, start_endy: StartEndy) -> None:
    """Bolt verifies again: a request the door passed an instant before its timestamp left the window is refused
    there, and Bolt's refusal line (the whole body, at INFO) must not be written either."""
    endy: Endy = await start_endy(mode="http")
    body = mention(endy, "BODY-MARKER-7f3a " * 50)
    headers: dict[str, str | Sequence[str]] = {**sign(body, SIGNING_SECRET, int(time.time()) - MAX_SKEW_SECONDS - 1)}
    before = endy_log.size()
    response = await endy.server.app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
    assert response.status == 401
    assert "BODY-MARKER" not in endy_log.text()
    assert endy_log.size() - before <= LOG_BYTES_PER_REFUSAL


async def closed_within(reader: asyncio.StreamReader, bound: float) -> bytes:
    """Everything the server sent until it closed the connection (bounded: a liveness bound, not a timing)."""
    async with asyncio.timeout(bound):
        return await reader.read(-1)


async def test_slow_clients_are_disconnected(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(
        mode="http", timeouts=ReadTimeouts(header_seconds=1.0, proxied_header_seconds=1.0, body_seconds=1.0)
    )
    ports = {"sidecar": endy.deps.settings.port, "slack": endy.deps.settings.slack_http_port}

    async def trickle(writer: asyncio.StreamWriter) -> None:
        for _ in range(200):  # a header byte every 50 ms: bytes that arrive must not keep the connection open
            writer.write(b"a")
            await asyncio.sleep(0.05)

    for name, port in ports.items():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /liveness HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        task = asyncio.create_task(trickle(writer))
        try:
            assert await closed_within(reader, 5) == b"", f"{name}: headers never finished"
        finally:
            task.cancel()
            writer.close()
    body = mention(endy)
    for name, port in ports.items():  # the headers arrive, the body never does
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = [f"POST {'/slack/events' if name == 'slack' else '/liveness'} HTTP/1.1", "Host: x"]
        head += [f"{k}: {v}" for k, v in sign(body, SIGNING_SECRET).items()] + [f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body[:10])
        try:
            reply = await closed_within(reader, 5)
        finally:
            writer.close()
        assert reply.startswith(b"HTTP/1.1 408" if name == "slack" else b"HTTP/1.1 405"), f"{name}: {reply[:60]!r}"
    assert errors_total(endy) == {"http_slow_body": 1}
    assert (await raw_http(ports["sidecar"], "GET", "/liveness")).status == 200  # still serving everyone else
