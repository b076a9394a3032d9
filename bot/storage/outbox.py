"""Outbox repository: pushes written in the caller's transaction, claimed and settled by the delivery worker."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.domain.messages import Reply
from bot.storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    channel: str
    chat_id: str
    reply: Reply
    attempts: int


def _item(row: Row) -> OutboxItem:
    return OutboxItem(row["id"], row["channel"], row["chat_id"], Reply.from_json(json.loads(row["payload"])),
                      row["attempts"])


async def enqueue(tx: Tx, *, key: str, channel: str, chat_id: str, reply: Reply, now: datetime,
                  not_before: datetime | None = None) -> bool:
    """Queue `reply` for `chat_id` unless a row with this idempotency key exists; True if queued."""
    await tx.execute(
        """INSERT INTO outbox (idempotency_key, channel, chat_id, payload, not_before, created_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING""",
        (key, channel, chat_id, json.dumps(reply.to_json(), ensure_ascii=False), iso(not_before or now), iso(now)),
    )
    return bool(await tx.scalar("SELECT changes()") == 1)


async def recover_in_flight(tx: Tx) -> int:
    """After a crash: rows that were being sent go back to pending (they may be delivered twice)."""
    return await tx.execute("UPDATE outbox SET status = 'pending' WHERE status = 'in_flight'")


async def due(tx: Tx, now: datetime, channels: Collection[str], limit: int) -> list[OutboxItem]:
    """The oldest unsettled row of each chat on `channels`, if it is pending and due (later rows wait behind it)."""
    rows = await tx.all(
        """SELECT o.id, o.channel, o.chat_id, o.payload, o.attempts FROM outbox o
           JOIN (SELECT MIN(id) AS id FROM outbox WHERE status IN ('pending', 'in_flight')
                 GROUP BY channel, chat_id) AS head ON head.id = o.id
           WHERE o.status = 'pending' AND o.not_before <= ? AND o.channel IN (SELECT value FROM json_each(?))
           ORDER BY o.not_before, o.id LIMIT ?""",
        (iso(now), json.dumps(sorted(channels)), limit),
    )
    return [_item(row) for row in rows]


async def next_due_at(tx: Tx, channels: Collection[str], after: datetime) -> datetime | None:
    """When the first chat on `channels` whose oldest row is pending but not yet due becomes due."""
    value: str | None = await tx.scalar(
        """SELECT MIN(o.not_before) FROM outbox o
           JOIN (SELECT MIN(id) AS id FROM outbox WHERE status IN ('pending', 'in_flight')
                 GROUP BY channel, chat_id) AS head ON head.id = o.id
           WHERE o.status = 'pending' AND o.not_before > ? AND o.channel IN (SELECT value FROM json_each(?))""",
        (iso(after), json.dumps(sorted(channels))),
    )
    return None if value is None else parse_iso(value)


async def unserved_channels(tx: Tx, channels: Collection[str]) -> list[str]:
    """Channels other than `channels` that have pending rows (no sender will ever pick them up)."""
    rows = await tx.all(
        "SELECT DISTINCT channel FROM outbox WHERE status = 'pending' "
        "AND channel NOT IN (SELECT value FROM json_each(?)) ORDER BY channel",
        (json.dumps(sorted(channels)),),
    )
    return [row[0] for row in rows]


async def claim(tx: Tx, item_id: int) -> bool:
    """Mark a pending row as being sent (one more attempt); False if it was no longer pending."""
    changed = await tx.execute(
        "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
        (item_id,),
    )
    return changed == 1


async def mark_sent(tx: Tx, item_id: int, now: datetime) -> None:
    await tx.execute("UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?", (iso(now), item_id))


async def retry_later(tx: Tx, item_id: int, at: datetime, error: str) -> None:
    await tx.execute("UPDATE outbox SET status = 'pending', not_before = ?, last_error = ? WHERE id = ?",
                     (iso(at), error[:500], item_id))


async def throttled(tx: Tx, item_id: int, at: datetime) -> None:
    """The platform asked us to slow down: back to pending at `at`, and the attempt does not count."""
    await tx.execute(
        "UPDATE outbox SET status = 'pending', not_before = ?, attempts = MAX(attempts - 1, 0), "
        "last_error = 'rate limited' WHERE id = ?",
        (iso(at), item_id),
    )


async def give_up(tx: Tx, item_id: int, status: str, error: str) -> None:
    """Settle a row that will never be sent: 'failed' or 'unreachable'."""
    await tx.execute("UPDATE outbox SET status = ?, last_error = ? WHERE id = ?", (status, error[:500], item_id))


async def drop_pending_for(tx: Tx, channel: str, chat_id: str, error: str) -> int:
    """The recipient blocked us: every pending push to them is settled as unreachable."""
    return await tx.execute(
        "UPDATE outbox SET status = 'unreachable', last_error = ? WHERE channel = ? AND chat_id = ? "
        "AND status = 'pending'",
        (error[:500], channel, chat_id),
    )


async def counts(tx: Tx) -> dict[str, int]:
    rows = await tx.all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    return {row[0]: row[1] for row in rows}
