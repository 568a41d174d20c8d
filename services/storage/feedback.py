"""👍/👎 feedback: one vote per user per message, from a reaction or a button."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from loguru import logger

from services.privacy import mask_pii
from services.storage.records import MAX_COMMENT_CHARS, RATINGS, VIAS, check_choice, clip_optional, clip_reasons

# Re-voting replaces the vote. Repeating the same rating without details (e.g. the reaction added again
# after the 👎 modal was filled in) keeps the reasons and comment already given.
_UPSERT_VOTE = """
INSERT INTO feedback AS f (message_id, asked_at, team_id, user_id, rating, via, reasons, comment)
SELECT m.id, m.created_at, $2, $3, $4, $5, $6, $7 FROM messages m WHERE m.id = $1
ON CONFLICT (message_id, team_id, user_id) DO UPDATE SET
    rating = excluded.rating,
    via = excluded.via,
    reasons = CASE WHEN f.rating = excluded.rating AND cardinality(excluded.reasons) = 0
                   THEN f.reasons ELSE excluded.reasons END,
    comment = CASE WHEN f.rating = excluded.rating AND excluded.comment IS NULL
                   THEN f.comment ELSE excluded.comment END,
    updated_at = now()
RETURNING id"""

_REMOVE_VOTE = """
DELETE FROM feedback
WHERE message_id = $1 AND team_id = $2 AND user_id = $3 AND via = $4 AND ($5::smallint IS NULL OR rating = $5)"""


class FeedbackStore:
    """Records, replaces and removes votes."""

    _pool: asyncpg.Pool

    async def record_feedback(
        self,
        message_id: int,
        team_id: str,
        user_id: str,
        rating: int,
        via: str,
        reasons: Sequence[str] = (),
        comment: str | None = None,
    ) -> None:
        """Record the user's vote on the message, replacing an earlier one."""
        check_choice("rating", rating, RATINGS)
        check_choice("via", via, VIAS)
        args = (
            message_id,
            team_id,
            user_id,
            rating,
            via,
            clip_reasons(reasons),
            clip_optional(mask_pii(comment) if comment else None, MAX_COMMENT_CHARS),  # defence in depth
        )
        async with self._pool.acquire() as conn:
            stored = await conn.fetchval(_UPSERT_VOTE, *args)
        if stored is None:
            logger.bind(message_id=message_id).warning("feedback for a message that is not stored; ignored")

    async def remove_feedback(
        self, message_id: int, team_id: str, user_id: str, via: str = "reaction", *, rating: int | None = None
    ) -> bool:
        """Remove the user's vote if it came `via` (and, when given, has `rating`); True when one was removed."""
        check_choice("via", via, VIAS)
        if rating is not None:
            check_choice("rating", rating, RATINGS)
        async with self._pool.acquire() as conn:
            status = await conn.execute(_REMOVE_VOTE, message_id, team_id, user_id, via, rating)
        return bool(status != "DELETE 0")
