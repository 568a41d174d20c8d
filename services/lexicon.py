"""The built-in Korean workplace lexicon (package data), merged under a company's own synonym groups."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import yaml
from loguru import logger

Group = tuple[str, ...]


def _key(word: str) -> str:
    return "".join(word.split()).lower()


@lru_cache(maxsize=1)
def builtin_lexicon() -> tuple[Group, ...]:
    """The groups of `services/data/workplace_lexicon.yaml` (empty, with a warning, if it is unreadable)."""
    try:
        text = (resources.files("services") / "data" / "workplace_lexicon.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except (OSError, yaml.YAMLError) as err:
        logger.bind(error=str(err)).warning("built-in lexicon unreadable; only the company's synonyms apply")
        return ()
    groups = data.get("groups") if isinstance(data, dict) else None
    out = []
    for group in groups or []:
        if isinstance(group, list):
            words = tuple(dict.fromkeys(str(w).strip() for w in group if str(w).strip()))
            if len(words) >= 2:
                out.append(words)
    return tuple(out)


def merge_synonyms(builtin: Sequence[Group], company: Sequence[Group]) -> list[Group]:
    """Company groups first; a built-in group sharing any word with a company group is replaced by it."""
    taken = {_key(w) for group in company for w in group}
    return [*company, *(g for g in builtin if not any(_key(w) in taken for w in g))]
