"""Dense section embeddings via the OpenAI embeddings API, cached on disk by content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from loguru import logger

from services.errors import LlmUnavailable
from services.knowledge import Section
from services.llm import LlmClient
from services.retrieval import section_index_text

_BATCH = 64


class DenseIndex:
    """Unit-normalised section vectors; a question is scored by cosine similarity."""

    def __init__(self, llm: LlmClient, sections: list[Section], cache_dir: Path) -> None:
        self._llm = llm
        self._texts = [section_index_text(s) for s in sections]
        self._hashes = [hashlib.sha256(t.encode()).hexdigest()[:24] for t in self._texts]
        slug = "".join(ch if ch.isalnum() else "-" for ch in llm.embedding_model)
        self._path = cache_dir / f"embeddings-{slug}.npz"
        self._matrix: np.ndarray | None = None

    @property
    def ready(self) -> bool:
        """True once every section has a vector."""
        return self._matrix is not None

    async def prepare(self) -> None:
        """Embed the sections missing from the disk cache; keep lexical-only on failure."""
        cached = self._load()
        missing = [i for i, h in enumerate(self._hashes) if h not in cached]
        try:
            for start in range(0, len(missing), _BATCH):
                batch = missing[start : start + _BATCH]
                vectors = await self._llm.embed([self._texts[i] for i in batch])
                for i, vec in zip(batch, vectors, strict=True):
                    cached[self._hashes[i]] = _unit(np.asarray(vec, dtype=np.float32))
        except LlmUnavailable:
            logger.warning("section embeddings unavailable; retrieval stays lexical-only")
            return
        if missing:
            self._save(cached)
        self._matrix = np.vstack([cached[h] for h in self._hashes]) if self._hashes else None
        logger.bind(sections=len(self._hashes), embedded=len(missing)).info("dense index ready")

    async def scores(self, question: str) -> np.ndarray | None:
        """Cosine similarity of the question to every section, or None if embeddings are unavailable."""
        if self._matrix is None:
            return None
        try:
            vec = (await self._llm.embed([question]))[0]
        except LlmUnavailable:
            return None
        return np.asarray(self._matrix @ _unit(np.asarray(vec, dtype=np.float32)))

    def _load(self) -> dict[str, np.ndarray]:
        if not self._path.exists():
            return {}
        try:
            with np.load(self._path) as data:
                return dict(zip(data["hashes"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            logger.bind(path=str(self._path)).warning("embedding cache unreadable; re-embedding")
            return {}

    def _save(self, cached: dict[str, np.ndarray]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(cached)
        tmp = self._path.with_name(self._path.stem + ".tmp.npz")
        np.savez(tmp, hashes=np.array(keys), vectors=np.vstack([cached[k] for k in keys]))
        tmp.replace(self._path)


def _unit(vec: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec
