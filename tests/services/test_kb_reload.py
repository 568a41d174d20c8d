"""Knowledge reloads through real Redis: only signed, fresh requests count, each once, and a burst is one reload."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis

from services.kb_reload import SEEN_SECONDS, KnowledgeReloader
from services.metrics import Metrics
from services.signing import Keyring

if TYPE_CHECKING:
    from loguru import Record

pytestmark = pytest.mark.timeout(60)
KEYS = Keyring("k" * 64)
QUIET = 0.3  # the burst's quiet period, short for the test


class Counter:
    """A reload that counts its calls and lets the test await the next one."""

    def __init__(self) -> None:
        self.calls = 0
        self.called = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        self.called.set()


@pytest.fixture
async def make_reloader(
    redis_client: aioredis.Redis, key_prefix: str
) -> AsyncIterator[Callable[..., KnowledgeReloader]]:
    """Start reloaders on the shared Redis (stopped afterwards)."""
    started: list[KnowledgeReloader] = []

    def make(reload: Counter, metrics: Metrics, keys: Keyring = KEYS) -> KnowledgeReloader:
        reloader = KnowledgeReloader(
            redis_client,
            key_prefix=key_prefix,
            reload=reload,
            signer=keys.signer("kb-reload"),
            metrics=metrics,
            quiet_seconds=QUIET,
        )
        started.append(reloader)
        return reloader

    yield make
    for reloader in started:
        await reloader.aclose()


def _errors(metrics: Metrics, kind: str) -> float:
    return metrics.registry.get_sample_value("errors_total", {"type": f"kb_reload_{kind}"}) or 0.0


async def _listening(reloader: KnowledgeReloader) -> None:
    await reloader.start()
    await asyncio.wait_for(reloader.subscribed.wait(), 10)


async def test_twenty_one_signed_requests_in_a_burst_are_one_reload(
    make_reloader: Callable[..., KnowledgeReloader],
) -> None:
    reload, metrics = Counter(), Metrics()
    listener, publisher = make_reloader(reload, metrics), make_reloader(Counter(), Metrics())
    await _listening(listener)
    receivers = [await publisher.publish() for _ in range(21)]
    assert receivers == [1] * 21
    await asyncio.wait_for(reload.called.wait(), 10)
    await asyncio.sleep(QUIET * 4)  # room for a second reload, were the burst not debounced
    assert reload.calls == 1
    reload.called.clear()
    await publisher.publish()  # a request after the burst is a reload of its own
    await asyncio.wait_for(reload.called.wait(), 10)
    assert reload.calls == 2


async def test_unsigned_forged_stale_and_own_requests_are_ignored_with_one_warning(
    make_reloader: Callable[..., KnowledgeReloader], redis_client: aioredis.Redis, warnings_logged: list[Record]
) -> None:
    reload, metrics = Counter(), Metrics()
    listener = make_reloader(reload, metrics)
    await _listening(listener)
    signer = KEYS.signer("kb-reload")
    stale = json.dumps({"origin": "elsewhere", "at": time.time() - 600, "nonce": "n"})
    attacks = [
        "another-instance-id",  # what any Redis client could publish before
        make_reloader(Counter(), Metrics(), Keyring("j" * 64)).request(),  # signed with another SECRET_KEY
        "s1." + "A" * 43 + '.{"origin": "x", "at": 0}',  # a made-up signature
        signer.seal(stale, context=listener.channel),  # a captured request, replayed later
        signer.seal("not json", context=listener.channel),
    ]
    for message in attacks * 4 + [listener.request()]:  # and its own request, which it has reloaded already
        await redis_client.publish(listener.channel, message)
    await asyncio.sleep(QUIET * 4)  # no event to await: nothing must happen
    assert reload.calls == 0
    assert {k: _errors(metrics, k) for k in ("unsigned", "bad_signature", "stale", "malformed")} == {
        "unsigned": 4,
        "bad_signature": 8,
        "stale": 4,
        "malformed": 4,
    }
    warnings = [r for r in warnings_logged if r["name"] == "services.kb_reload"]  # the reloader's own
    assert len(warnings) == 1
    assert warnings[0]["message"] == "knowledge reload request ignored"
    assert "another-instance-id" not in str(warnings[0]["extra"])


async def test_a_replayed_signed_request_is_ignored_and_a_new_one_still_reloads(
    make_reloader: Callable[..., KnowledgeReloader], redis_client: aioredis.Redis, key_prefix: str
) -> None:
    reload, metrics = Counter(), Metrics()
    listener, publisher = make_reloader(reload, metrics), make_reloader(Counter(), Metrics())
    await _listening(listener)
    captured = publisher.request()
    await redis_client.publish(listener.channel, captured)
    await asyncio.wait_for(reload.called.wait(), 10)
    reload.called.clear()
    await redis_client.publish(listener.channel, captured)  # the same bytes again, well inside MAX_AGE_SECONDS
    await publisher.publish()  # handled after the replay: its reload means the replay was handled too
    await asyncio.wait_for(reload.called.wait(), 10)
    assert (reload.calls, _errors(metrics, "replayed")) == (2, 1)
    seen = [key async for key in redis_client.scan_iter(match=f"{key_prefix}kb:reload-seen:{listener.instance}:*")]
    assert len(seen) == 2
    assert 0 < await redis_client.ttl(seen[0]) <= SEEN_SECONDS


async def test_a_signed_request_without_an_id_is_ignored(
    make_reloader: Callable[..., KnowledgeReloader], redis_client: aioredis.Redis
) -> None:
    reload, metrics = Counter(), Metrics()
    listener = make_reloader(reload, metrics)
    await _listening(listener)
    signer = KEYS.signer("kb-reload")
    for body in ({"origin": "elsewhere", "at": time.time()}, {"origin": "elsewhere", "at": time.time(), "nonce": ""}):
        await redis_client.publish(listener.channel, signer.seal(json.dumps(body), context=listener.channel))
    await redis_client.publish(listener.channel, make_reloader(Counter(), Metrics()).request())
    await asyncio.wait_for(reload.called.wait(), 10)  # the valid request after them: both were handled by now
    assert (reload.calls, _errors(metrics, "malformed")) == (1, 2)
