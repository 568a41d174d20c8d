"""`endy kb export-learned DIR`: knowledge learned in Slack as faq.yaml and kb.yaml, for the company's repository."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg

from config.settings import Settings
from services import kb_texts
from services.db import open_pool
from services.knowledge import load_knowledge_base
from services.learning_files import export_files
from services.learning_store import LearningStore


async def export_learned(settings: Settings, directory: Path, root: Path) -> int:
    """Write DIR/faq.yaml and DIR/kb.yaml; exit 2 when the database has no learned knowledge tables yet."""
    kb = await asyncio.to_thread(load_knowledge_base, root)
    async with AsyncExitStack() as stack:
        pool = await open_pool(settings, stack)
        try:
            learned = await LearningStore(pool).snapshot()
        except asyncpg.UndefinedTableError:
            print(kb_texts.EXPORT_NO_TABLES, file=sys.stderr)
            return 2
    faq, kb_yaml = export_files(learned, kb, directory)
    print(kb_texts.EXPORT_FAQ_WRITTEN.format(path=faq, faq=len(learned.faq), phrasings=len(learned.phrasings)))
    print(kb_texts.EXPORT_SYNONYMS_WRITTEN.format(path=kb_yaml, pairs=len(learned.synonyms)))
    return 0
