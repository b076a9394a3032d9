"""Inbox repository: channel events stored before they are acknowledged, handled in id order per person."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import iso
from bot.domain.messages import Inbound
from bot.storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class Arrival:
    """An event as a channel accepted it: the neutral inbound (before media download) and what the channel needs
    later (e.g. a button press's query id); `reply_ref` names the pressed message a reply marked edit replaces."""

    inbound: Inbound
    reply_ref: str = ""
    extras: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """A stored event."""

    id: int
    arrival: Arrival

    @property
    def inbound(self) -> Inbound:
        return self.arrival.inbound


async def add_all(tx: Tx, arrivals: Iterable[Arrival], now: datetime) -> None:
    """Store events; one whose event id is stored already (a redelivery) is skipped."""
    await tx.executemany(
        "INSERT INTO inbox (event_id, channel, user_id, payload, received_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (event_id) DO NOTHING",
        ((a.inbound.event_id, a.inbound.sender.channel, a.inbound.sender.user_id, _payload(a), iso(now))
         for a in arrivals),
    )


def _payload(arrival: Arrival) -> str:
    data = {"inbound": arrival.inbound.to_json(), "reply_ref": arrival.reply_ref, "extras": dict(arrival.extras)}
    return json.dumps(data, ensure_ascii=False)


def _entry(row: Row) -> InboxEntry:
    data: dict[str, Any] = json.loads(row["payload"])
    return InboxEntry(row["id"], Arrival(Inbound.from_json(data["inbound"]), data["reply_ref"], data["extras"]))


async def waiting_people(tx: Tx, channels: Collection[str], limit: int) -> list[tuple[str, str]]:
    """(channel, user_id) of people on `channels` with pending events, whose oldest event came first."""
    rows = await tx.all(
        "SELECT channel, user_id FROM inbox INDEXED BY inbox_pending WHERE status = 'pending' "
        "AND channel IN (SELECT value FROM json_each(?)) GROUP BY channel, user_id ORDER BY MIN(id) LIMIT ?",
        (json.dumps(sorted(channels)), limit),
    )
    return [(row[0], row[1]) for row in rows]


async def next_for(tx: Tx, channel: str, user_id: str) -> InboxEntry | None:
    """The person's oldest pending event."""
    row = await tx.one(
        "SELECT id, payload FROM inbox WHERE status = 'pending' AND channel = ? AND user_id = ? ORDER BY id LIMIT 1",
        (channel, user_id),
    )
    return None if row is None else _entry(row)


async def waiting_count(tx: Tx, channel: str, user_id: str, up_to: int) -> int:
    """How many events of the person are pending, counted up to `up_to`."""
    return int(await tx.scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM inbox WHERE status = 'pending' AND channel = ? AND user_id = ? LIMIT ?)",
        (channel, user_id, up_to),
    ))


async def mark_done(tx: Tx, entry_id: int) -> bool:
    """Settle a pending event; False if it was settled already (handled before)."""
    return await tx.execute("UPDATE inbox SET status = 'done' WHERE id = ? AND status = 'pending'", (entry_id,)) == 1


async def forget_done_before(tx: Tx, cutoff: datetime) -> int:
    """Drop handled events older than `cutoff` (a redelivery after that would be handled again)."""
    return await tx.execute("DELETE FROM inbox WHERE status = 'done' AND received_at < ?", (iso(cutoff),))


async def forget_handled(tx: Tx, channel: str, user_id: str, token_prefix: str) -> None:
    """Blank what a person's handled events could tell of a secret choice (a ballot): the tokens they pressed that
    start with `token_prefix` and whatever they typed. Handled events are kept only to know a redelivery by its
    event id, so nothing reads these fields again; events still waiting are left alone."""
    await tx.execute(
        "UPDATE inbox SET payload = json_set(payload, '$.inbound.token', '', '$.inbound.text', '') "
        "WHERE channel = ? AND user_id = ? AND status = 'done' "
        "AND (json_extract(payload, '$.inbound.token') LIKE ? OR json_extract(payload, '$.inbound.text') != '')",
        (channel, user_id, f"{token_prefix}%"))
