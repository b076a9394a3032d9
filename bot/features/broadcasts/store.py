"""Broadcasts repository: the broadcast rows, who a scope and audience reach, and progress counted from the outbox
rows each broadcast wrote (no counters of its own)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso, parse_iso
from bot.features.broadcasts.model import Audience, Broadcast, Progress, Recipient
from bot.storage.db import Row, Tx


def _broadcast(row: Row) -> Broadcast:
    finished = row["finished_at"]
    return Broadcast(row["id"], row["created_by"], row["channel"], row["chat_id"], row["unit_id"],
                     Audience(row["audience"]), row["text"], row["photo"], row["total"], parse_iso(row["created_at"]),
                     None if finished is None else parse_iso(finished))


async def recipients(tx: Tx, unit_id: int, audience: Audience) -> list[Recipient]:
    """Reachable accounts of the people `audience` names in `unit_id` and every unit below it, once per account."""
    rows = await tx.all(
        """WITH RECURSIVE scope(id) AS (
               SELECT id FROM grid_units WHERE id = :unit
               UNION SELECT g.id FROM grid_units g JOIN scope ON g.parent_id = scope.id),
           chosen(person_id) AS (
               SELECT id FROM people WHERE :residents AND building_id IN (SELECT id FROM scope)
               UNION SELECT person_id FROM roles WHERE :members AND unit_id IN (SELECT id FROM scope)
               UNION SELECT person_id FROM duties WHERE :members AND unit_id IN (SELECT id FROM scope))
           SELECT a.channel, a.user_id, a.chat_id, p.locale
           FROM chosen c JOIN people p ON p.id = c.person_id JOIN channel_accounts a ON a.person_id = p.id
           WHERE a.unreachable_at IS NULL
           ORDER BY p.id, a.channel, a.user_id""",
        {"unit": unit_id, "residents": int(audience.residents), "members": int(audience.members)},
    )
    return [Recipient(row["channel"], row["user_id"], row["chat_id"], row["locale"]) for row in rows]


async def insert(tx: Tx, *, created_by: int, channel: str, chat_id: str, unit_id: int, audience: Audience, text: str,
                 photo: str, total: int, now: datetime) -> int:
    return await tx.execute(
        """INSERT INTO broadcasts (created_by, channel, chat_id, unit_id, audience, text, photo, total, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (created_by, channel, chat_id, unit_id, audience.value, text, photo, total, iso(now)),
    )


async def get(tx: Tx, broadcast_id: int) -> Broadcast | None:
    row = await tx.one("SELECT id, created_by, channel, chat_id, unit_id, audience, text, photo, total, created_at, "
                       "finished_at FROM broadcasts WHERE id = ?", (broadcast_id,))
    return None if row is None else _broadcast(row)


async def unfinished(tx: Tx) -> list[int]:
    """Broadcasts whose delivery report has not been queued yet, oldest first."""
    rows = await tx.all("SELECT id FROM broadcasts WHERE finished_at IS NULL ORDER BY id")
    return [row[0] for row in rows]


async def progress(tx: Tx, broadcast: Broadcast) -> Progress:
    """How far `broadcast` has got: its outbox rows counted by status."""
    rows = await tx.all("SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
                        (broadcast.id,))
    counts = {row[0]: int(row[1]) for row in rows}
    return Progress(broadcast.total, counts.get("sent", 0), counts.get("unreachable", 0), counts.get("failed", 0),
                    counts.get("pending", 0) + counts.get("in_flight", 0))


async def has_open_rows(tx: Tx, broadcast_id: int) -> bool:
    """Whether any of its messages is still waiting or being sent (a quick index look-up)."""
    return bool(await tx.scalar(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE broadcast_id = ? AND status IN ('pending', 'in_flight'))",
        (broadcast_id,),
    ))


async def finish(tx: Tx, broadcast_id: int, now: datetime) -> bool:
    """Mark the broadcast finished; False if it already was (so its report is queued once)."""
    changed = await tx.execute("UPDATE broadcasts SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                               (iso(now), broadcast_id))
    return changed == 1
