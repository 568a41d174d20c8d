"""Shared fixtures: isolated settings, one tokenizer per run, the sample knowledge base and its retriever."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from services.knowledge import KnowledgeBase, load_knowledge_base, sample_kb_dir
from services.retrieval import Retriever
from services.tokenizer import KoreanTokenizer

DATA = Path(__file__).parent / "data"
# The machine's own configuration (CI sets DATABASE_URL / REDIS_URL), captured before tests isolate it.
HOST_ENV = {name.upper(): os.environ.get(name.upper()) for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's or CI's Endy variables unless it sets them itself."""
    for name in HOST_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings that ignore the developer's .env and keep state under the test's tmp dir."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "log_dir": tmp_path / "logs"}
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return factory


@pytest.fixture(scope="session")
def tokenizer() -> KoreanTokenizer:
    """One Kiwi model per test run (loading it takes a second or two)."""
    tok = KoreanTokenizer()
    tok.warm_up()
    return tok


@pytest.fixture(scope="session")
def sample_kb() -> KnowledgeBase:
    """The bundled sample handbook."""
    return load_knowledge_base(sample_kb_dir())


@pytest.fixture(scope="session")
def retriever(
    sample_kb: KnowledgeBase, tokenizer: KoreanTokenizer, tmp_path_factory: pytest.TempPathFactory
) -> Retriever:
    """A lexical retriever over the sample handbook."""
    return Retriever(sample_kb, tokenizer, cache_dir=tmp_path_factory.mktemp("cache"))
