"""Knowledge reloads through real Redis: only signed, fresh requests count, and a burst is one reload."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis

from services.kb_reload import KnowledgeReloader
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
