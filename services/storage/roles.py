"""Roles of Slack users ('admin' or 'user'), with an audit row for every change."""

from __future__ import annotations

import asyncpg

from services.storage.records import ROLES, check_choice

_GET_ROLE = "SELECT role FROM slack_users WHERE team_id = $1 AND user_id = $2"
_ENSURE_USER = "INSERT INTO slack_users (team_id, user_id) VALUES ($1, $2) ON CONFLICT (team_id, user_id) DO NOTHING"
_LOCK_ROLE = "SELECT role FROM slack_users WHERE team_id = $1 AND user_id = $2 FOR UPDATE"
_SET_ROLE = "UPDATE slack_users SET role = $3, updated_at = now() WHERE team_id = $1 AND user_id = $2"
_AUDIT = """
INSERT INTO role_changes (team_id, target_id, actor_id, old_role, new_role) VALUES ($1, $2, $3, $4, $5)"""


class RoleStore:
    """Reads and changes roles."""

    _pool: asyncpg.Pool

    async def get_role(self, team_id: str, user_id: str) -> str:
        """The user's role; 'user' when the user is unknown."""
        async with self._pool.acquire() as conn:
            role = await conn.fetchval(_GET_ROLE, team_id, user_id)
        return "user" if role is None else str(role)

    async def set_role(self, team_id: str, user_id: str, role: str, actor: str) -> str:
        """Give the user `role` and return the old one; a real change is audited in the same transaction."""
        check_choice("role", role, ROLES)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_ENSURE_USER, team_id, user_id)
            old = str(await conn.fetchval(_LOCK_ROLE, team_id, user_id))
            if old != role:
                await conn.execute(_SET_ROLE, team_id, user_id, role)
                await conn.execute(_AUDIT, team_id, user_id, actor, old, role)
        return old
