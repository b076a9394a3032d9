"""Outbox repository: pushes written in the caller's transaction, claimed and settled by the delivery worker."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
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
    payload: str  # JSON of the reply: read only for the rows that are sent (a pass looks at many more)
    attempts: int
    replace: str = ""  # the platform reference of the message an earlier row of the same slot left in this chat
    broadcast_id: int | None = None

    @property
    def reply(self) -> Reply:
        return Reply.from_json(json.loads(self.payload))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to queue: its idempotency key, and the chat it goes to."""

    key: str
    channel: str
    chat_id: str
    reply: Reply


def _item(row: Row) -> OutboxItem:
    return OutboxItem(row["id"], row["channel"], row["chat_id"], row["payload"], row["attempts"],
                      row["replace_with"] or "", row["broadcast_id"])


async def enqueue(tx: Tx, *, key: str, channel: str, chat_id: str, reply: Reply, now: datetime,
                  not_before: datetime | None = None, broadcast_id: int | None = None) -> bool:
    """Queue `reply` for `chat_id` unless a row with this idempotency key exists; True if queued."""
    return await enqueue_all(tx, [Outgoing(key, channel, chat_id, reply)], now=now, not_before=not_before,
                             broadcast_id=broadcast_id) == 1


async def enqueue_all(tx: Tx, messages: Iterable[Outgoing], *, now: datetime, not_before: datetime | None = None,
                      broadcast_id: int | None = None) -> int:
    """`enqueue` for many messages in one statement (a broadcast's thousands of rows); returns how many were
    queued (rows whose idempotency key exists are skipped). Each distinct reply is serialized once.

    A reply with a slot takes the place of one of the same slot still waiting for its chat (a status line that
    has moved on before the last one went out): only the newest is sent."""
    payloads: dict[Reply, str] = {}

    def payload(reply: Reply) -> str:
        text = payloads.get(reply)
        if text is None:
            text = payloads[reply] = json.dumps(reply.to_json(), ensure_ascii=False)
        return text

    due, created = iso(not_before or now), iso(now)
    fresh: list[Outgoing] = []
    replaced = 0
    for message in messages:
        if message.reply.slot and await _replace_waiting(tx, message, payload(message.reply)):
            replaced += 1
        else:
            fresh.append(message)
    before = int(await tx.scalar("SELECT total_changes()"))
    await tx.executemany(
        """INSERT INTO outbox (idempotency_key, channel, chat_id, payload, not_before, created_at, broadcast_id, slot)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING""",
        ((m.key, m.channel, m.chat_id, payload(m.reply), due, created, broadcast_id, m.reply.slot) for m in fresh),
    )
    return int(await tx.scalar("SELECT total_changes()")) - before + replaced


async def _replace_waiting(tx: Tx, message: Outgoing, payload: str) -> bool:
    """Put `message` in the place of its slot's newest row still pending for its chat, unless its key is already
    known; whether it did. (Two may be pending: one queued while an earlier one was in flight that then failed and
    waits to be retried; that one goes out first, and this one replaces it.)"""
    if await tx.scalar("SELECT 1 FROM outbox WHERE idempotency_key = ?", (message.key,)) is not None:
        return False
    changed = await tx.execute(
        """UPDATE outbox SET payload = ?, idempotency_key = ? WHERE id = (
               SELECT MAX(id) FROM outbox INDEXED BY outbox_slot
               WHERE channel = ? AND chat_id = ? AND slot = ? AND slot != '' AND status = 'pending')""",
        (payload, message.key, message.channel, message.chat_id, message.reply.slot),
    )
    return changed > 0


async def add_claimed(tx: Tx, messages: Iterable[tuple[Outgoing, str]], now: datetime) -> list[OutboxItem]:
    """Queue replies already claimed (in flight) for an immediate send by the caller, each with the reference of
    the message it replaces ('' for none); rows whose idempotency key exists are skipped. The caller settles them
    through the outbox worker, and a crash before that leaves them in flight, so the worker sends them at start."""
    items = []
    for message, replace in messages:
        row = await tx.one(
            """INSERT INTO outbox (idempotency_key, channel, chat_id, payload, status, attempts, not_before, created_at,
                                   replace_ref)
               VALUES (?, ?, ?, ?, 'in_flight', 1, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING id, channel, chat_id, payload, attempts, replace_ref AS replace_with, broadcast_id""",
            (message.key, message.channel, message.chat_id, json.dumps(message.reply.to_json(), ensure_ascii=False),
             iso(now), iso(now), replace),
        )
        if row is not None:
            items.append(_item(row))
    return items


def reply_key(event_id: str, n: int) -> str:
    """The idempotency key of the `n`-th reply to an inbound event."""
    return f"reply:{event_id}:{n}"


_BLANK = '{"text": ""}'  # the payload of a row that must keep nothing of what it said
# A row to someone forgotten: no address, key or text is left, and an unsent one is settled.
_FORGET = ("chat_id = '', payload = '" + _BLANK + "', idempotency_key = 'forgotten:' || id, slot = '', "
           "message_ref = '', last_error = 'forgotten', "
           "status = CASE status WHEN 'pending' THEN 'unreachable' ELSE status END")


async def forget_person(tx: Tx, person_id: int) -> None:
    """Leave no trace of the person in the outbox: rows to their chats lose address, key and text (those not sent
    yet are settled as unreachable), and settled rows to others about their reports, topics and the messages they
    passed to their party contact or household (which may quote their room or words) lose their text. Rows still
    waiting for the grid are left to go out."""
    await tx.execute(
        f"UPDATE outbox SET {_FORGET} WHERE (channel, chat_id) IN "  # noqa: S608 (constant SQL)
        "(SELECT channel, chat_id FROM channel_accounts WHERE person_id = ?)",
        (person_id,),
    )
    await tx.execute(
        "UPDATE outbox SET payload = ?2 WHERE status NOT IN ('pending', 'in_flight') AND ("
        "EXISTS (SELECT 1 FROM issues i WHERE i.reporter_id = ?1 AND outbox.idempotency_key LIKE 'issue:' || i.id "
        "|| ':%') OR EXISTS (SELECT 1 FROM meeting_topics m WHERE m.submitter_id = ?1 "
        "AND outbox.idempotency_key LIKE 'meeting:topic:' || m.id || ':%') OR EXISTS (SELECT 1 FROM "
        "contact_messages c WHERE c.sender_id = ?1 AND outbox.idempotency_key LIKE 'contact:msg:' || c.id || ':%'))",
        (person_id, _BLANK),
    )


async def forget_if_nobody(tx: Tx, item_id: int) -> None:
    """A reply sent to a chat nobody holds (any more): the farewell to someone just forgotten, or what someone who
    never joined was told, keeps nothing of them either."""
    await tx.execute(
        f"UPDATE outbox SET {_FORGET} WHERE id = ? AND idempotency_key LIKE 'reply:%' "  # noqa: S608
        "AND NOT EXISTS (SELECT 1 FROM channel_accounts a WHERE a.channel = outbox.channel "
        "AND a.chat_id = outbox.chat_id)",
        (item_id,),
    )


async def recover_in_flight(tx: Tx) -> int:
    """After a crash: rows that were being sent go back to pending (they may be delivered twice)."""
    return await tx.execute("UPDATE outbox SET status = 'pending' WHERE status = 'in_flight'")


async def due(tx: Tx, now: datetime, channel: str, limit: int) -> list[OutboxItem]:
    """The oldest unsettled row of each chat on `channel`, if it is pending and due (later rows wait behind it).

    Rows of a broadcast come after every other due row, so that a push about one person's business (and a
    broadcast's own status line) is not queued behind thousands of broadcast messages. A row with a slot carries
    the message reference the latest earlier row of that slot in its chat left, to be replaced. One channel at a
    time, so that rows of one that cannot go yet never hide another's.

    Rows are read in that order from an index (named, so that the planner does not sort the whole queue instead)
    and each is checked to be its chat's oldest open row (another index look-up), so a pass costs about `limit`
    look-ups however long the queue is."""
    rows = await tx.all(
        """SELECT o.id, o.channel, o.chat_id, o.payload, o.attempts, o.broadcast_id,
                  CASE WHEN o.replace_ref != '' THEN o.replace_ref WHEN o.slot = '' THEN '' ELSE (
                      SELECT p.message_ref FROM outbox p
                      WHERE p.channel = o.channel AND p.chat_id = o.chat_id AND p.slot = o.slot AND p.id < o.id
                        AND p.slot != '' AND p.message_ref != ''
                      ORDER BY p.id DESC LIMIT 1) END AS replace_with
           FROM outbox o INDEXED BY outbox_channel_queue
           WHERE o.channel = ? AND o.status = 'pending' AND o.not_before <= ?
             AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND e.chat_id = o.chat_id
                             AND e.id < o.id AND e.status IN ('pending', 'in_flight'))
           ORDER BY o.broadcast_id IS NOT NULL, o.not_before, o.id LIMIT ?""",
        (channel, iso(now), limit),
    )
    return [_item(row) for row in rows]


async def next_due_at(tx: Tx, channels: Collection[str], after: datetime) -> datetime | None:
    """When the first chat on `channels` whose oldest row is pending but not yet due becomes due."""
    value: str | None = await tx.scalar(
        """SELECT o.not_before FROM outbox o
           WHERE o.status = 'pending' AND o.not_before > ? AND o.channel IN (SELECT value FROM json_each(?))
             AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND e.chat_id = o.chat_id
                             AND e.id < o.id AND e.status IN ('pending', 'in_flight'))
           ORDER BY o.not_before LIMIT 1""",
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


async def claim(tx: Tx, item_ids: Collection[int]) -> set[int]:
    """Mark pending rows as being sent (one more attempt each); returns the ids that were still pending."""
    rows = await tx.all(
        "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1 "
        "WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending' RETURNING id",
        (json.dumps(sorted(item_ids)),),
    )
    return {row[0] for row in rows}


async def unclaim(tx: Tx, item_ids: Collection[int]) -> None:
    """Claimed rows that were not sent after all go back to pending; the attempt does not count."""
    await tx.execute(
        "UPDATE outbox SET status = 'pending', attempts = MAX(attempts - 1, 0) "
        "WHERE id IN (SELECT value FROM json_each(?)) AND status = 'in_flight'",
        (json.dumps(sorted(item_ids)),),
    )


async def has_open(tx: Tx, channel: str, chat_id: str) -> bool:
    """Whether `chat_id` has a row not yet settled (e.g. one waiting behind the row just settled)."""
    return bool(await tx.scalar(
        "SELECT EXISTS (SELECT 1 FROM outbox INDEXED BY outbox_open WHERE channel = ? AND chat_id = ? "
        "AND status IN ('pending', 'in_flight'))",
        (channel, chat_id),
    ))


async def mark_sent(tx: Tx, item_id: int, now: datetime, ref: str = "") -> None:
    """Delivered; `ref` is the platform's reference of the message it left (kept for rows with a slot)."""
    await tx.execute("UPDATE outbox SET status = 'sent', sent_at = ?, message_ref = ? WHERE id = ?",
                     (iso(now), ref, item_id))


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


async def drop_pending_for(tx: Tx, channel: str, chat_id: str, error: str) -> list[int | None]:
    """The recipient blocked us: every pending push to them is settled as unreachable. Returns the broadcast id
    (None for other pushes) of each row settled."""
    rows = await tx.all(
        "UPDATE outbox SET status = 'unreachable', last_error = ? WHERE channel = ? AND chat_id = ? "
        "AND status = 'pending' RETURNING broadcast_id",
        (error[:500], channel, chat_id),
    )
    return [row[0] for row in rows]


async def prune_sent(tx: Tx, before: datetime, limit: int) -> int:
    """Delete up to `limit` rows sent before `before`, oldest first; how many. Kept, however old: a slot's newest
    row that left a message (a later row of that slot would replace it), and the rows of a broadcast not yet
    finished (its progress is counted from them)."""
    return await tx.execute(
        """DELETE FROM outbox WHERE id IN (
               SELECT o.id FROM outbox o INDEXED BY outbox_sent
               WHERE o.status = 'sent' AND o.sent_at < ?
                 AND (o.slot = '' OR o.message_ref = '' OR EXISTS (
                     SELECT 1 FROM outbox n WHERE n.channel = o.channel AND n.chat_id = o.chat_id
                       AND n.slot = o.slot AND n.slot != '' AND n.id > o.id AND n.message_ref != ''))
                 AND (o.broadcast_id IS NULL OR EXISTS (
                     SELECT 1 FROM broadcasts b WHERE b.id = o.broadcast_id AND b.finished_at IS NOT NULL))
               ORDER BY o.sent_at LIMIT ?)""",
        (iso(before), limit),
    )


async def counts(tx: Tx) -> dict[str, int]:
    rows = await tx.all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    return {row[0]: row[1] for row in rows}
