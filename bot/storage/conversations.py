"""Conversation state per (channel, user) and the record of inbound events already handled."""

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


async def first_sighting(tx: Tx, event_id: str, now: datetime) -> bool:
    """Record an inbound event id; False when it was handled before (a redelivery)."""
    await tx.execute("INSERT OR IGNORE INTO inbound_seen (event_id, seen_at) VALUES (?, ?)", (event_id, iso(now)))
    return bool(await tx.scalar("SELECT changes()") == 1)


async def forget_events_before(tx: Tx, cutoff: datetime) -> int:
    return await tx.execute("DELETE FROM inbound_seen WHERE seen_at < ?", (iso(cutoff),))
