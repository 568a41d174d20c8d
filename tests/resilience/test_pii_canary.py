"""PII canary: realistic Korean handbook questions carrying every kind of personal data go through every door.

Doors: DM, @mention, a thread follow-up, /endy (and its share button), the 👎 modal's comment, escalation to the
owning team, the admin report and CSV export, and the terminal (`endy ask`, `endy chat` as subprocesses on embedded
PostgreSQL/Redis). Afterwards every place the data could have landed is searched for every canary value: each log
file and every other file the run wrote, every text-like column of every table, every Redis key and value, every
request body the fake OpenAI received, everything Endy sent to Slack. The placeholders must show up instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from loguru import logger

from config.settings import Settings
from services.logging import LOG_FILE_NAME, configure_logging
from services.privacy import PLACEHOLDERS, mask_pii
from tests.conftest import HOST_ENV
from tests.endy import Endy, StartEndy, TokenizerPool
from tests.fakes.openai_server import FakeOpenAI
from tests.resilience.helpers import HIGH_LIMIT, report, settle

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(300)]
USER, ADMIN, CHANNEL = "U0PIIUSER", "U0PIIADMIN", "C0PIICANARY"
MARKS = frozenset(PLACEHOLDERS.values())
NOT_FOUND = "찾지 못했어요"

# (message, canary values in it). Every message is also a question the handbook can (or cannot) answer. Emails in
# Slack doors arrive the way Slack sends them: <mailto:x|x>.
CORPUS: list[tuple[str, tuple[str, ...]]] = [
    (
        "연차 신청은 어떻게 하나요? 결재 알림은 minji.kim@encar-test.co.kr 로 받고 싶어요",
        ("minji.kim@encar-test.co.kr",),
    ),
    ("사번 E20931 인데 재직증명서 발급은 어디서 하나요?", ("E20931",)),
    ("급여일이 언제예요? 급여 통장을 국민은행 123456-01-987654 로 바꾸고 싶어요", ("123456-01-987654",)),
    ("법인카드 분실했어요. 카드번호 4532-7781-2290-1187 인데 어떻게 신고하나요?", ("4532-7781-2290-1187",)),
    ("연말정산 부양가족 등록하려는데 아이 주민번호 180715-3456789 어디에 넣어요?", ("180715-3456789",)),
    ("외국인등록번호 920304-5123456 으로 재직증명서 영문 발급 되나요?", ("920304-5123456",)),
    ("VPN 접속이 안 돼요. 제 휴대폰 010-4821-7730 으로 연락 주세요", ("010-4821-7730",)),
    ("출장 경비 처리 어떻게 해요? 현지에서 받는 번호는 +82 10-3377-9102 이에요", ("+82 10-3377-9102",)),
    ("와이파이 비번 뭐예요? 연락처 01093518824", ("01093518824",)),
    ("노트북 교체 신청하려고요. 자리 내선은 02-3456-7812 입니다", ("02-3456-7812",)),
    ("경조금 신청 방법 알려주세요. 신한 110-482-993817 로 입금 부탁드려요", ("110-482-993817",)),
    ("건강검진 예약은 어디서 해요? 사원번호: 2019004417", ("2019004417",)),
    (
        "복지포인트 사용처 안내를 <mailto:jh_park88@naver.com|jh_park88@naver.com> 로 받고 싶어요",
        ("jh_park88@naver.com",),
    ),
    ("출산휴가 신청하려면 뭐가 필요해요? 배우자 주민등록번호는 9103152234567 이에요", ("9103152234567",)),
    ("식대 한도가 얼마예요? 체크카드 번호는 9410123456781234 예요", ("9410123456781234",)),
    ("택시비 영수증 처리 어떻게 해요? 카카오뱅크 3333-08-6627194 로 환급 받을 수 있나요?", ("3333-08-6627194",)),
    ("재택근무 신청 방법이요. Employee ID: E77120, 연락은 +821055417789", ("E77120", "+821055417789")),
    (
        "명함 신청은 어디서 하나요? 휴대폰 010.2278.6613, 메일 <mailto:sora.lee@encar-test.co.kr|sora.lee@encar-test.co.kr>",  # noqa: E501
        ("010.2278.6613", "sora.lee@encar-test.co.kr"),
    ),
    ("사내 어린이집 신청은 어떻게 해요? 제 번호 010-5555-6612", ("010-5555-6612",)),
    (
        "비트코인 동호회 있어요? 사번 ENC-402288, 아멕스 3782-822463-10005 로 회비 낼게요",
        ("ENC-402288", "3782-822463-10005"),
    ),
    (
        "주차 등록 어떻게 해요? 차주 연락처 (031) 8892-4410, 외국인 직원 ARC 011231 8765432",
        ("(031) 8892-4410", "011231 8765432"),
    ),
    (
        "법인차량 주차 등록은 어떻게 해요? 차량 34나7781 이고 담당은 윤재희 과장 010-6614-2093 이에요",
        ("34나7781", "윤재희", "010-6614-2093"),
    ),
    (
        "해외 출장 갈 때 출장비는 어떻게 정산해요? 여권번호 M48213377, 운전면허 11-22-483921-55 이고"
        " 집은 테헤란로 427 이에요",
        ("M48213377", "11-22-483921-55", "테헤란로 427"),
    ),
]
VALUES = [v for _, values in CORPUS for v in values]


def needles(value: str) -> set[str]:
    """The value as typed, and as digits only (a separator dropped somewhere must not hide a leak)."""
    found, digits = {value}, re.sub(r"\D", "", value)
    if len(digits) >= 9:
        found |= {digits} | ({"0" + digits[2:]} if value.startswith("+82") else set())
    return found


NEEDLES = {n: v for v in VALUES for n in needles(v)}


def leaks(places: Mapping[str, str | bytes]) -> dict[str, list[str]]:
    """Canary values found per place (text or raw bytes)."""
    found: dict[str, list[str]] = {}
    for where, content in places.items():
        hay = content if isinstance(content, bytes) else content.encode()
        hits = sorted({v for n, v in NEEDLES.items() if n.encode() in hay})
        if hits:
            found[where] = hits
    return found


def marks_in(places: Mapping[str, str | bytes]) -> set[str]:
    """Which placeholders appear anywhere in these places."""
    text = "\n".join(c.decode("utf-8", "replace") if isinstance(c, bytes) else c for c in places.values())
    return {m for m in MARKS if m in text}


def files_under(root: Path) -> dict[str, bytes]:
    """Every file a run wrote (logs, spill, caches, embedded database and Redis files), as raw bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


async def database_columns(url: str) -> dict[str, str]:
    """Every text-like column (text, varchar, char, json, jsonb, text[]) of every table, cast to text."""
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
            " AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
            "      OR (c.data_type = 'ARRAY' AND c.udt_name IN ('_text', '_varchar')))"
        )
        found = {}
        for table, column in ((r["table_name"], r["column_name"]) for r in columns):
            sql = f'SELECT string_agg("{column}"::text, E\'\\n\') FROM "{table}"'
            found[f"db {table}.{column}"] = str(await conn.fetchval(sql) or "")
        return found
    finally:
        await conn.close()


async def redis_contents(url: str, prefix: str) -> dict[str, str]:
    """Every key under the run's prefix and its value, whatever the type."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    found: dict[str, str] = {}
    try:
        async for key in client.scan_iter(match=f"{prefix}*"):
            kind = await client.type(key)
            value: object = kind
            if kind == "string":
                value = await client.get(key)
            elif kind == "hash":
                value = await client.hgetall(key)
            elif kind == "list":
                value = await client.lrange(key, 0, -1)
            elif kind == "set":
                value = await client.smembers(key)
            elif kind == "zset":
                value = await client.zrange(key, 0, -1, withscores=True)
            found[f"redis {key}"] = f"{key} {value!r}"
    finally:
        await client.aclose()
    return found


def llm_bodies(llm: FakeOpenAI) -> dict[str, str]:
    """Every request body the fake OpenAI received."""
    return {f"openai #{i} {r.path}": json.dumps(r.body, ensure_ascii=False) for i, r in enumerate(llm.requests)}


def echo_llm(request: dict[str, Any]) -> str:
    """A model that repeats what it was asked: whatever it saw ends up in Slack and in the database."""
    question = str(request["messages"][-1]["content"]).rsplit("질문: ", 1)[-1]
    return f"문의하신 내용({question})은 안내 문서 기준으로 e-HR에서 처리해요. [1]"


@pytest.fixture
def file_logging(make_settings: Callable[..., Settings]) -> Iterator[Path]:
    """Endy's real log set-up (as `endy serve` has it) at DEBUG, writing to the test's LOG_DIR."""
    settings = make_settings(log_level="debug")
    configure_logging(settings, console_level="ERROR")
    yield settings.log_dir
    logger.remove()
    logger.add(sys.stderr)
    logging.basicConfig(handlers=[], force=True)


# ------------------------------------------------------------------------------------------------ Slack doors


def element(blocks: Any, key: str, value: str) -> dict[str, Any] | None:
    """The first block element with ``element[key] == value`` (buttons, feedback buttons)."""
    for block in blocks or []:
        for item in block.get("elements", []) if isinstance(block, dict) else []:
            if isinstance(item, dict) and item.get(key) == value:
                return item
    return None


async def ask_all(endy: Endy, payloads: list[dict[str, Any]]) -> list[Any]:
    """Send every event, then wait until each has a finished reply in its thread; the replies in order."""
    keys = [(p["event"]["channel"], p["event"].get("thread_ts") or p["event"]["ts"]) for p in payloads]

    def replies(key: tuple[str, str]) -> list[Any]:
        return [m for m in endy.slack.messages(key[0], thread_ts=key[1]) if m.stream_state != "in_progress"]

    want = [len(replies(k)) + 1 for k in keys]
    for payload in payloads:
        await endy.slack.send_event(payload)
    await endy.slack.wait_until(lambda: all(len(replies(k)) >= w for k, w in zip(keys, want, strict=True)), 60)
    return [replies(k)[w - 1] for k, w in zip(keys, want, strict=True)]


async def thumbs_down_with_comment(endy: Endy, reply: Any, comment: str) -> None:
    """👎 on an answer, then the modal submitted with reasons and a free-text comment."""
    buttons = element(reply.blocks, "type", "feedback_buttons")
    assert buttons is not None, "an answer ends with feedback buttons"
    opened = len(endy.slack.calls_to("views.open"))
    down = buttons["negative_button"]["value"]
    action = endy.slack.block_actions(USER, "feedback", down, reply.channel, reply.ts, action_type="feedback_buttons")
    await endy.slack.send_interactive(action)
    await endy.slack.wait_for("views.open", opened + 1)
    thanked = len(endy.slack.calls_to("chat.postEphemeral"))
    state = {
        "reasons": {"value": {"type": "checkboxes", "selected_options": [{"value": "inaccurate"}]}},
        "comment": {"value": {"type": "plain_text_input", "value": comment}},
    }
    await endy.slack.send_interactive(endy.slack.view_submission(USER, "feedback_modal", state_values=state))
    await endy.slack.wait_for("chat.postEphemeral", thanked + 1)


async def escalate_all(endy: Endy, replies: list[Any]) -> int:
    """Click "ask the team" on every not-found answer; returns how many were escalated."""
    escalated = 0
    for reply in replies:
        button = element(reply.blocks, "action_id", "escalate")
        if button is None:
            continue
        told = len(endy.slack.calls_to("chat.postEphemeral"))
        action = endy.slack.block_actions(USER, "escalate", button["value"], reply.channel, reply.ts)
        await endy.slack.send_interactive(action)
        await endy.slack.wait_for("chat.postEphemeral", told + 1)
        escalated += 1
    return escalated


async def slash_and_share(endy: Endy, text: str) -> bool:
    """/endy privately; an answer is then shared: the stored (masked) exchange is posted into the channel."""
    before = len(endy.slack.responses)
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy", text, USER, CHANNEL))
    response = (await endy.slack.wait_for_responses(before + 1))[before].body
    share = element(response.get("blocks"), "action_id", "share_answer")
    if NOT_FOUND in str(response.get("text")):
        assert share is None  # nothing to share: the not-found reply offers the escalation instead
        return False
    assert share is not None
    action = endy.slack.block_actions(USER, "share_answer", share["value"])
    action["container"] = {"type": "message", "channel_id": CHANNEL, "is_ephemeral": True, "message_ts": "1.2"}
    action["response_url"] = endy.slack.response_url()
    await endy.slack.send_interactive(action)
    await endy.slack.wait_for_responses(before + 2)
    return True


async def admin(endy: Endy, text: str) -> None:
    before = len(endy.slack.responses)
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy-admin", text, ADMIN))
    await endy.slack.wait_for_responses(before + 1, timeout=30)


def slack_output(endy: Endy) -> dict[str, str | bytes]:
    """Everything Endy sent towards Slack: Web API bodies, response_url posts, acks, uploaded files."""
    out: dict[str, str | bytes] = {
        f"slack {c.method} #{i}": json.dumps(c.body, ensure_ascii=False, default=repr)
        for i, c in enumerate(endy.slack.calls)
    }
    out |= {f"slack response #{i}": json.dumps(r.body, ensure_ascii=False) for i, r in enumerate(endy.slack.responses)}
    out |= {f"slack ack {k}": json.dumps(v, ensure_ascii=False) for k, v in endy.slack.acks.items()}
    out |= {f"slack file {f.filename}": f.content or b"" for f in endy.slack.files.values()}
    return out


async def test_no_canary_leaks_from_any_slack_door(
    start_endy: StartEndy, file_logging: Path, tmp_path: Path, pg_url: str, redis_url: str, key_prefix: str
) -> None:
    assert all(v not in mask_pii(text) for text, values in CORPUS for v in values), "the masker knows every canary"
    endy: Endy = await start_endy(
        llm=True, rate_limit_per_minute=HIGH_LIMIT, rate_limit_per_hour=HIGH_LIMIT, admin_user_ids=[ADMIN]
    )
    assert endy.llm is not None
    endy.llm.reply_fn = echo_llm
    n = len(CORPUS)
    dm_replies = await ask_all(endy, [endy.slack.event_message_im(USER, text) for text, _ in CORPUS])
    for i, reply in enumerate(dm_replies):
        await thumbs_down_with_comment(endy, reply, CORPUS[(i + 1) % n][0])
    mentions = [endy.slack.event_app_mention(USER, text, channel=CHANNEL) for text, _ in CORPUS]
    first = await ask_all(endy, mentions)
    follow_ups = [
        endy.slack.event_message_channel(USER, CORPUS[(i + 3) % n][0], channel=CHANNEL, thread_ts=m["event"]["ts"])
        for i, m in enumerate(mentions)
    ]
    second = await ask_all(endy, follow_ups)
    shared = [await slash_and_share(endy, text) for text, _ in CORPUS]
    escalated = await escalate_all(endy, dm_replies + first + second)
    await settle(endy)
    for command in ("report 7d", "export 7", "feedback negative"):
        await admin(endy, command)
    await endy.slack.wait_for("files.completeUploadExternal", 2, timeout=30)
    await settle(endy)

    slack = slack_output(endy)
    database = await database_columns(pg_url)
    places: dict[str, str | bytes] = {**slack, **database, **llm_bodies(endy.llm)}
    places |= await redis_contents(redis_url, key_prefix)
    places |= {f"file {name}": data for name, data in files_under(tmp_path).items()}
    assert leaks(places) == {}
    logs = [p for p in places if p.startswith(f"file {file_logging.name}/")]
    assert f"file {file_logging.name}/{LOG_FILE_NAME}" in logs
    assert "answered" in str(places[logs[0]])
    assert escalated >= 2
    assert any(str(c.body.get("channel")) in endy.slack.workspace.by_id for c in endy.slack.calls)
    assert len([m for m in endy.slack.messages(CHANNEL) if m.thread_ts is None]) == sum(shared) >= n // 2
    assert marks_in(database) == MARKS, "every kind reached the database, masked"
    assert marks_in(llm_bodies(endy.llm)) == MARKS, "every kind reached the model, masked"
    assert marks_in(slack) == MARKS, "every kind came back to Slack, masked"
    report(
        f"PII canary (Slack): {len(VALUES)} values via DM, @mention, thread, /endy (+{sum(shared)} shared), 👎, "
        f"{escalated} escalations, admin report/export; {len(places)} places searched "
        f"({len(database)} columns, {len(logs)} log files, {len(endy.llm.requests)} LLM bodies, "
        f"{len(slack)} Slack payloads): 0 leaks"
    )


# ------------------------------------------------------------------------------------------------ the terminal


async def endy_cli(cwd: Path, *args: str, stdin: str = "", **env: str) -> tuple[int, str, str]:
    """`python -m endy_bot …` as a user runs it (only ``env`` configured), without blocking the test's loop."""
    clean = {k: v for k, v in os.environ.items() if k not in HOST_ENV}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "endy_bot",
        *args,
        cwd=cwd,
        env={**clean, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 150)
    return proc.returncode or 0, out.decode(), err.decode()


@asynccontextmanager
async def embedded_postgres(pgdata: Path) -> AsyncIterator[str]:
    """Start the CLI's embedded PostgreSQL again (it stops when the CLI exits) to read what it stored."""
    import pgserver

    def start() -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            return pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]

    server = await asyncio.to_thread(start)
    try:
        yield str(server.get_uri())
    finally:
        await asyncio.to_thread(server.cleanup)


async def test_no_canary_leaks_from_the_terminal(tmp_path: Path, tokenizers: TokenizerPool) -> None:
    cwd = tmp_path / "cli"
    cwd.mkdir()
    tokenizers.seed_child(cwd / ".endy")  # the handbook's caches, as the first run would write them (tests/endy.py)
    async with FakeOpenAI() as llm:
        llm.reply_fn = echo_llm
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url, "LOG_LEVEL": "debug"}
        env |= {"RATE_LIMIT_PER_MINUTE": str(HIGH_LIMIT), "RATE_LIMIT_PER_HOUR": str(HIGH_LIMIT)}
        consoles: dict[str, str | bytes] = {}
        for i in (0, 7):
            code, _, err = await endy_cli(cwd, "ask", CORPUS[i][0], **env)
            assert code == 0, err
            consoles[f"stderr of endy ask #{i}"] = err
        chat = "\n".join(text for text, _ in CORPUS) + "\n종료\n"
        code, out, err = await endy_cli(cwd, "chat", stdin=chat, **env)
        assert code == 0, err
        assert out.count("질문> ") == len(CORPUS) + 1, err
        consoles["stderr of endy chat"] = err
        files = {f"file {name}": data for name, data in files_under(cwd).items()}
        async with embedded_postgres(cwd / ".endy" / "postgres") as url:
            database = await database_columns(url)
        bodies = llm_bodies(llm)
    places: dict[str, str | bytes] = {**consoles, **files, **database, **bodies}
    assert leaks(places) == {}
    assert f"file logs/{LOG_FILE_NAME}" in files
    assert b"answered" in files[f"file logs/{LOG_FILE_NAME}"]
    assert marks_in(database) == MARKS
    assert marks_in(bodies) == MARKS
    rows = database["db messages.question"].count("\n") + 1
    assert rows == len(CORPUS) + 2, "every terminal question was stored (masked)"
    report(
        f"PII canary (terminal): {len(VALUES)} values via ask+chat, {len(places)} places searched "
        f"({len(files)} files incl. the embedded database and Redis, {len(database)} columns, "
        f"{len(bodies)} LLM bodies): 0 leaks"
    )
