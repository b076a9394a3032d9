"""Broadcasts (群发): who may address which part of the grid, writing a broadcast and all its messages at once, and
keeping its author told how it goes (the wording is notices.py's).

A broadcast is one row plus one outbox row per reachable account, written in one transaction; the outbox worker
sends them at the platform's limits and survives restarts. Progress is counted from those rows. The author's status
line is a push with the slot `broadcast:<id>`, so each update replaces the previous one in their chat, and the
delivery report is its last version.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Reply
from bot.domain.people import Person, Role
from bot.domain.refusal import Refusal
from bot.features.broadcasts import notices, store
from bot.features.broadcasts.model import Audience, Broadcast, BroadcastStatus, Progress
from bot.i18n import use_locale
from bot.storage import grid, outbox, people
from bot.storage.db import Database, Tx
from bot.storage.outbox import Outgoing

__all__ = ["MAX_TEXT", "STATUS_INTERVAL", "Audience", "Broadcast", "BroadcastError", "Progress", "ProgressReporter",
           "clean_text", "count", "create", "progress", "report_progress", "scope_of", "scopes_for"]

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters of a broadcast's text
STATUS_INTERVAL = timedelta(seconds=2)  # the author's status line is updated at most this often (and at the end)


class BroadcastError(Refusal):
    """A refused broadcast."""


async def scopes_for(tx: Tx, person: Person | None, is_admin: bool) -> list[GridUnit]:
    """The units `person` may address, each with everything below it: the whole street for a street admin
    (configured, or holding the street_admin role), else the units where they hold a role. Empty: none."""
    if person is None:
        return []
    if is_admin or any(grant.role is Role.STREET_ADMIN for grant in person.roles):
        return await grid.children(tx, None, Level.STREET)
    held = {grant.unit_id for grant in person.roles}
    roots: list[GridUnit] = []
    for unit_id in sorted(held):
        above = await grid.ancestry(tx, unit_id)
        if above and not any(unit.id in held for unit in above[1:]):  # not already inside another of their units
            roots.append(above[0])
    return roots


async def scope_of(tx: Tx, person: Person | None, is_admin: bool, unit_id: int) -> GridUnit | None:
    """The unit `unit_id` if `person` may address it (button tokens are untrusted: always ask this), else None."""
    roots = {unit.id for unit in await scopes_for(tx, person, is_admin)}
    above = await grid.ancestry(tx, unit_id) if roots else []
    return above[0] if any(unit.id in roots for unit in above) else None


def clean_text(text: str) -> str:
    """The text as it will be sent, or BroadcastError (to be fixed) when it is empty or too long."""
    text = text.strip()
    if not text:
        raise BroadcastError("broadcast.need_text", retry=True)
    if len(text) > MAX_TEXT:
        raise BroadcastError("broadcast.too_long", retry=True, count=len(text), max=MAX_TEXT)
    return text


async def count(tx: Tx, unit_id: int, audience: Audience) -> int:
    """How many accounts a broadcast to `audience` in `unit_id` would reach now."""
    return len(await store.recipients(tx, unit_id, audience))


async def create(tx: Tx, person: Person, is_admin: bool, *, channel: str, chat_id: str, unit_id: int,
                 audience: Audience, text: str, photo: str, now: datetime) -> Broadcast:
    """Write the broadcast and every one of its messages (one per reachable account, in each recipient's language)
    in the caller's transaction, and the author's first status line. The scope is checked again here."""
    unit = await scope_of(tx, person, is_admin, unit_id)
    if unit is None:
        raise BroadcastError("auth.denied")
    text = clean_text(text)
    recipients = await store.recipients(tx, unit.id, audience)
    if not recipients:
        raise BroadcastError("broadcast.nobody_sent", retry=True)
    broadcast_id = await store.insert(tx, created_by=person.id, channel=channel, chat_id=chat_id, unit_id=unit.id,
                                      audience=audience, text=text, photo=photo, total=len(recipients), now=now)
    rendered: dict[str, Reply] = {}
    for locale in sorted({recipient.locale for recipient in recipients}):
        with use_locale(locale):
            rendered[locale] = await notices.message(tx, unit.id, text, photo)
    queued = await outbox.enqueue_all(
        tx, (Outgoing(f"broadcast:{broadcast_id}:{r.channel}:{r.user_id}", r.channel, r.chat_id, rendered[r.locale])
             for r in recipients),
        now=now, broadcast_id=broadcast_id)
    broadcast = await store.get(tx, broadcast_id)
    assert broadcast is not None
    await _tell_author(tx, broadcast, Progress(broadcast.total, 0, 0, 0, broadcast.total), now)
    log.info("broadcast %d: %d messages queued to %s of unit %d", broadcast_id, queued, audience.value, unit.id)
    return broadcast


async def progress(tx: Tx, broadcast_id: int) -> Progress | None:
    """How far the broadcast has got (None if there is no such broadcast)."""
    broadcast = await store.get(tx, broadcast_id)
    return None if broadcast is None else await store.progress(tx, broadcast)


async def report_progress(tx: Tx, broadcast_id: int, now: datetime) -> bool:
    """Queue the author's status line as it stands now, or the delivery report once nothing is waiting (once);
    True if something was queued."""
    broadcast = await store.get(tx, broadcast_id)
    if broadcast is None or broadcast.status is BroadcastStatus.FINISHED:
        return False
    counts = await store.progress(tx, broadcast)
    if counts.finished and not await store.finish(tx, broadcast.id, now):
        return False
    return await _tell_author(tx, broadcast, counts, now)


async def _tell_author(tx: Tx, broadcast: Broadcast, counts: Progress, now: datetime) -> bool:
    """The status line (or, when finished, the report) to the chat the broadcast was made from, replacing the
    previous one. The key names how many messages were settled, so an unchanged count queues nothing."""
    author = None if broadcast.created_by is None else await people.by_id(tx, broadcast.created_by)
    if author is None:
        return False  # they have left: nobody to tell
    with use_locale(author.locale):
        reply = await notices.status_line(tx, broadcast, counts)
    key = f"broadcast:{broadcast.id}:" + ("report" if counts.finished else f"status:{counts.settled}")
    return await outbox.enqueue(tx, key=key, channel=broadcast.channel, chat_id=broadcast.chat_id, reply=reply,
                                now=now)


class ProgressReporter:
    """The outbox worker's `on_settled`: updates each broadcast's status line at most every STATUS_INTERVAL of the
    clock, and always once nothing is left to send (then the delivery report). `resume()` at start catches up on
    broadcasts whose report a stop came between."""

    def __init__(self, db: Database, clock: Clock, *, interval: timedelta = STATUS_INTERVAL) -> None:
        self._db = db
        self._clock = clock
        self._interval = interval
        self._last: dict[int, datetime] = {}  # broadcast → when its status line was last queued

    async def on_settled(self, broadcast_ids: Collection[int]) -> None:
        for broadcast_id in sorted(broadcast_ids):
            await self.update(broadcast_id)

    async def update(self, broadcast_id: int, *, force: bool = False) -> bool:
        """Queue the status line if it is due (or the report if the broadcast is over); True if queued."""
        now = self._clock.now()
        last = self._last.get(broadcast_id)
        if not force and last is not None and now - last < self._interval:
            async with self._db.read() as tx:
                if await store.has_open_rows(tx, broadcast_id):
                    return False  # too soon, and not the end
        async with self._db.write() as tx:
            queued = await report_progress(tx, broadcast_id, now)
            broadcast = await store.get(tx, broadcast_id)
        if broadcast is None or broadcast.status is BroadcastStatus.FINISHED:
            self._last.pop(broadcast_id, None)
        else:
            self._last[broadcast_id] = now
        return queued

    async def resume(self) -> int:
        """Bring every unfinished broadcast's status line up to date; returns how many queued something."""
        async with self._db.read() as tx:
            pending = await store.unfinished(tx)
        queued = 0
        for broadcast_id in pending:
            queued += await self.update(broadcast_id, force=True)
        return queued
