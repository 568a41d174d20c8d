"""`endy kb export-learned DIR`: knowledge learned in Slack as faq.yaml and kb.yaml, for the company's repository."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg

from config.settings import Settings
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
            print("⚠️ 배운 지식을 저장하는 표가 아직 없어요. 먼저 `endy migrate`를 실행해 주세요.", file=sys.stderr)
            return 2
    faq, kb_yaml = export_files(learned, kb, directory)
    print(f"{faq}: FAQ {len(learned.faq)}개, 배운 질문 {len(learned.phrasings)}개")
    print(f"{kb_yaml}: 동의어 {len(learned.synonyms)}쌍")
    return 0
