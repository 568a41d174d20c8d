"""Cache versions derived from the code and settings that shape what is cached, never bumped by hand.

- The token cache (tokens of every section, on disk) depends on the tokenizer, on how sections are built from
  the knowledge folder, and on Kiwi itself: `token_cache_version()` hashes the source of `services.tokenizer` and
  `services.knowledge` with everything in `services` they import, plus the Kiwi package versions.
- The answer cache (finished answers, in Redis) depends on the whole answer pipeline and on the settings that
  change an answer: `engine_version(answer_shaping(settings))` hashes the source of `services.answering` with
  everything in `services` it imports (retrieval, ranking constants, composition, extraction, prompts, …), the
  package data (the lexicon), the versions of the libraries that score, and those settings.

A deploy that changes any of these starts from fresh caches; one that changes nothing keeps them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings

_IMPORT = re.compile(r"^\s*(?:from\s+(services(?:\.\w+)*)\s+import\s+([\w ,()]+)|import\s+(services\.\w+))", re.M)
_TOKEN_ROOTS = ("services.tokenizer", "services.knowledge")
_ENGINE_ROOTS = ("services.answering",)
_TOKEN_LIBRARIES = ("kiwipiepy", "kiwipiepy_model")
_ENGINE_LIBRARIES = (*_TOKEN_LIBRARIES, "bm25s", "numpy")
_DIGEST = 12


def _source(module: str) -> bytes:
    """A module's source file, read without importing it (empty when it has none)."""
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec else None
    if not origin or not origin.endswith(".py"):
        return b""
    return Path(origin).read_bytes()


def _imports(source: str) -> set[str]:
    """The `services` modules a source imports (at module level or inside functions)."""
    found: set[str] = set()
    for m in _IMPORT.finditer(source):
        if m.group(3):
            found.add(m.group(3))
        elif m.group(1) == "services":
            found |= {f"services.{name}" for name in re.findall(r"\w+", m.group(2).split(" as ")[0])}
        else:
            found.add(m.group(1))
    return found


def module_closure(roots: Iterable[str]) -> list[str]:
    """The roots and every `services` module they import, transitively, sorted."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module in seen or importlib.util.find_spec(module) is None:
            continue
        seen.add(module)
        todo += _imports(_source(module).decode("utf-8", "replace")) - seen
    return sorted(seen)


def _library_versions(names: Iterable[str]) -> str:
    versions = []
    for name in names:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=none")
    return ",".join(versions)


def _package_data() -> bytes:
    """The files of services/data (the built-in lexicon), in name order."""
    folder = resources.files("services") / "data"
    return b"".join(f.name.encode() + b"\0" + f.read_bytes() for f in sorted(folder.iterdir(), key=lambda f: f.name))


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()[:_DIGEST]


def code_digest(modules: Iterable[str]) -> str:
    """A short hash of the named modules' sources (and their names)."""
    return _digest(m.encode() + b"\0" + _source(m) for m in sorted(modules))


def function_digest(*functions: Callable[..., Any]) -> str:
    """A short hash of some functions' source (their bytecode when the source is not available)."""
    parts = []
    for fn in functions:
        try:
            parts.append(inspect.getsource(fn).encode())
        except (OSError, TypeError):
            parts.append(fn.__code__.co_code)
    return _digest(parts)[:8]


@cache
def token_cache_version() -> str:
    """Part of the token-cache key: the tokenizer's and the section builder's code, and Kiwi's versions."""
    return _digest([code_digest(module_closure(_TOKEN_ROOTS)).encode(), _library_versions(_TOKEN_LIBRARIES).encode()])


@cache
def _engine_code() -> str:
    modules = module_closure(_ENGINE_ROOTS)
    return _digest([code_digest(modules).encode(), _package_data(), _library_versions(_ENGINE_LIBRARIES).encode()])


def engine_version(shaping: Mapping[str, object] | None = None) -> str:
    """Part of the answer-cache key: the answer pipeline's code and the settings that shape an answer."""
    settings = json.dumps(dict(shaping or {}), sort_keys=True, default=str).encode()
    return _digest([_engine_code().encode(), settings])


def answer_shaping(settings: Settings) -> dict[str, object]:
    """The settings that change an answer for the same question and knowledge base."""
    return {
        "answer_min_confidence": settings.answer_min_confidence,
        "answer_hedge_confidence": settings.answer_hedge_confidence,
        "llm_enabled": settings.llm_enabled,
        "openai_base_url": settings.openai_base_url,
        "openai_model": settings.openai_model,
        "openai_embedding_model": settings.openai_embedding_model,
    }
