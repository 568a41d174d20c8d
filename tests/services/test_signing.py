"""HMAC signing under SECRET_KEY: a value verifies only for its key, purpose and context, and nothing else does."""

from __future__ import annotations

import pytest

from services.signing import Keyring, derive_key

KEYS = Keyring("k" * 64)
SIGNER = KEYS.signer("button:escalate")
SEALED = SIGNER.seal('{"q": "연차 신청"}', context="ctx")


def test_a_sealed_text_opens_in_its_own_context() -> None:
    assert SIGNER.unseal(SEALED, context="ctx") == '{"q": "연차 신청"}'
    assert SEALED.startswith("s1.")
    assert SIGNER.verify('{"q": "연차 신청"}', SEALED[3:46], context="ctx")


@pytest.mark.parametrize(
    ("value", "signer", "context"),
    [
        (SEALED, KEYS.signer("button:share"), "ctx"),  # another purpose
        (SEALED, Keyring("j" * 64).signer("button:escalate"), "ctx"),  # another SECRET_KEY
        (SEALED, SIGNER, "other"),  # another context (a cache entry copied to another key)
        (SEALED, SIGNER, ""),
        (SEALED.replace("연차", "퇴직"), SIGNER, "ctx"),  # the text changed
        (SEALED[:10] + ("A" if SEALED[10] != "A" else "B") + SEALED[11:], SIGNER, "ctx"),  # the tag changed
        ('{"q": "연차 신청"}', SIGNER, "ctx"),  # unsigned
        ("s1." + "A" * 43 + '.{"q": "연차 신청"}', SIGNER, "ctx"),  # a made-up tag
        ("s1." + "가" * 43 + '.{"q": "연차 신청"}', SIGNER, "ctx"),  # a non-ASCII tag
        (SEALED[:45], SIGNER, "ctx"),  # cut short
        ("s2" + SEALED[2:], SIGNER, "ctx"),  # an unknown version
        ("", SIGNER, "ctx"),
    ],
    ids=[
        "purpose",
        "secret",
        "context",
        "no-context",
        "text",
        "tag",
        "unsigned",
        "made-up-tag",
        "non-ascii-tag",
        "truncated",
        "version",
        "empty",
    ],
)
def test_anything_else_does_not_open(value: str, signer: object, context: str) -> None:
    assert signer.unseal(value, context=context) is None  # type: ignore[attr-defined]


def test_keys_differ_per_purpose_and_per_secret() -> None:
    keys = {derive_key(b"s" * 32, p) for p in ("answer-cache", "kb-reload", "button:share")}
    assert len(keys) == 3
    assert derive_key(b"t" * 32, "kb-reload") not in keys
    reload_signer = KEYS.signer("kb-reload")
    assert KEYS.signer("kb-reload") is reload_signer  # one signer per purpose, made once
    assert KEYS.signer("answer-cache") is not reload_signer
