"""Conversation state per (channel, user)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.clock import iso
from bot.storage.db import Tx


async def load(tx: Tx, channel: str, user_id: str) -> tuple[str, str, dict[str, Any]] | None:
    """(flow, state, data) of the person's conversation, if one is saved."""
    row = await tx.one("SELECT flow, state, data FROM conversations WHERE channel = ? AND user_id = ?",
                       (channel, user_id))
    return None if row is None else (row["flow"], row["state"], json.loads(row["data"]))


async def save(tx: Tx, channel: str, user_id: str, flow: str, state: str, data: dict[str, Any],
               now: datetime) -> None:
    await tx.execute(
        """INSERT INTO conversations (channel, user_id, flow, state, data, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (channel, user_id) DO UPDATE
           SET flow = excluded.flow, state = excluded.state, data = excluded.data, updated_at = excluded.updated_at""",
        (channel, user_id, flow, state, json.dumps(data, ensure_ascii=False), iso(now)),
    )


async def delete(tx: Tx, channel: str, user_id: str) -> None:
    await tx.execute("DELETE FROM conversations WHERE channel = ? AND user_id = ?", (channel, user_id))
