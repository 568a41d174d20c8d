"""HMAC-SHA256 signatures under SECRET_KEY for what Endy trusts later (cached answers, reload messages, buttons).

Each use gets its own key, derived from SECRET_KEY with HKDF (RFC 5869) and the use's name, so a value signed for
one purpose never verifies for another. A signed text is `s1.<tag>.<text>`; the tag may also cover a context that
is not stored (the Redis key of a cache entry), so a valid value copied elsewhere does not verify there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from pydantic import SecretStr

VERSION = "s1"
_SALT = b"endy/signing/v1"
_TAG_CHARS = 43  # 32 bytes of HMAC-SHA256, base64url without padding
_PREFIX = f"{VERSION}."


def derive_key(secret: bytes, purpose: str) -> bytes:
    """HKDF-SHA256 (extract, then one block of expand) of SECRET_KEY for one purpose."""
    prk = hmac.new(_SALT, secret, hashlib.sha256).digest()
    return hmac.new(prk, purpose.encode() + b"\x01", hashlib.sha256).digest()


class Signer:
    """Signs and verifies texts for one purpose (constant-time comparison)."""

    def __init__(self, key: bytes, purpose: str) -> None:
        self._key = key
        self.purpose = purpose

    def tag(self, text: str, *, context: str = "") -> str:
        """The signature of text (and of the context it is only valid in)."""
        data = context.encode() + b"\x00" + text.encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, data, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, text: str, tag: str, *, context: str = "") -> bool:
        """True when tag is the signature of text in that context."""
        given = tag.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(self.tag(text, context=context).encode(), given)

    def seal(self, text: str, *, context: str = "") -> str:
        """`s1.<tag>.<text>`."""
        return f"{_PREFIX}{self.tag(text, context=context)}.{text}"

    def unseal(self, sealed: str, *, context: str = "") -> str | None:
        """The text of a value this signer sealed in that context; None for anything else (unsigned, forged)."""
        head = len(_PREFIX) + _TAG_CHARS
        if not sealed.startswith(_PREFIX) or sealed[head : head + 1] != ".":
            return None
        text = sealed[head + 1 :]
        return text if self.verify(text, sealed[len(_PREFIX) : head], context=context) else None


class Keyring:
    """SECRET_KEY and the signers derived from it, one per purpose."""

    def __init__(self, secret: SecretStr | str) -> None:
        raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        self._secret = raw.encode()
        self._signers: dict[str, Signer] = {}

    def signer(self, purpose: str) -> Signer:
        """The signer for one purpose (e.g. "answer-cache", "kb-reload", "button:escalate")."""
        found = self._signers.get(purpose)
        if found is None:
            found = self._signers[purpose] = Signer(derive_key(self._secret, purpose), purpose)
        return found
