"""The inbox worker: handles the events channels stored, each person's one at a time in id order, different people
concurrently, and sends the replies as soon as the step has committed them.

Channels store an event (`accept`) before they acknowledge it to the platform, so an acknowledged event survives a
crash: at start every pending event is handled. The engine settles an event and writes its replies as outbox rows
in the step's transaction; they are sent at once, outside the outbox's pacing (a person waits for them), and a
reply the platform refused for now (429, a server error) or that a crash left unsent is the outbox worker's. A
channel's `prepare` runs first (fetching media, answering a button press); `handled` after the replies went out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.clock import Clock
from bot.conversations.engine import Engine
from bot.delivery.outbox import ChannelSender, OutboxWorker, SendResult, Sent, Transient
from bot.domain.messages import Inbound, Reply
from bot.storage import inbox, outbox
from bot.storage.db import Database
from bot.storage.inbox import Arrival, InboxEntry
from bot.storage.outbox import OutboxItem

log = logging.getLogger(__name__)

CONCURRENCY = 32  # people whose events are handled at once
_ERROR_PAUSE = 5.0  # real seconds before a person whose event could not be handled is tried again
# A person with more than FLOOD_BURST events waiting is flooding: their events are then handled FLOOD_RATE a second
# until the backlog is down to FLOOD_BURST (nothing is dropped), and they are told once per flood. Someone who waits
# for each answer never has a backlog, however fast they go; nobody else waits, as each person is served alone.
FLOOD_BURST = 12
FLOOD_RATE = 1.0


class InboxChannel(Protocol):
    """What a channel does around the engine for its stored events."""

    @property
    def sender(self) -> ChannelSender: ...

    async def prepare(self, entry: InboxEntry) -> Inbound | Reply:
        """The event for the engine (its media fetched), or a reply that answers it instead (a fetch failed)."""
        ...

    async def handled(self, entry: InboxEntry) -> None:
        """The event's replies have gone out (or to the outbox)."""
        ...


class InboxWorker:
    """Stores events (`accept`) and, once started, handles them."""

    def __init__(self, db: Database, clock: Clock, engine: Engine, *, concurrency: int = CONCURRENCY) -> None:
        self._db = db
        self._clock = clock
        self._engine = engine
        self._concurrency = concurrency
        self._channels: Mapping[str, InboxChannel] = {}
        self._outbox: OutboxWorker | None = None
        self._active: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._told_to_slow_down: set[tuple[str, str]] = set()
        self._wakeup = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    async def accept(self, arrivals: Sequence[Arrival]) -> None:
        """Store events in one transaction (redeliveries are skipped); once this returns they may be acknowledged."""
        if arrivals:
            async with self._db.write() as tx:
                await inbox.add_all(tx, arrivals, self._clock.now())
            self._wakeup.set()

    async def start(self, channels: Mapping[str, InboxChannel], outbox: OutboxWorker) -> None:
        """Handle every pending event, then new ones as they are accepted. The outbox worker must have started
        (it has taken back the replies a crash left unsent)."""
        self._channels = channels
        self._outbox = outbox
        self._stopping = False
        self._wakeup.set()
        self._loop = asyncio.create_task(self._run(), name="inbox")

    async def stop(self) -> None:
        """Start no more events; wait for those being handled."""
        self._stopping = True
        self._wakeup.set()
        if self._loop is not None:
            await self._loop
            self._loop = None
        await asyncio.gather(*self._active.values())

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            if len(self._active) < self._concurrency:
                try:
                    async with self._db.read() as tx:
                        waiting = await inbox.waiting_people(tx, self._channels, self._concurrency)
                except Exception:  # e.g. the database was busy: try again in a while
                    log.exception("inbox: could not read pending events")
                    await asyncio.sleep(_ERROR_PAUSE)
                    continue
                for key in waiting:
                    if key not in self._active and len(self._active) < self._concurrency:
                        self._active[key] = asyncio.create_task(self._serve(key), name="inbox-person")
            await self._wakeup.wait()

    async def _serve(self, key: tuple[str, str]) -> None:
        """Handle one person's pending events in order."""
        try:
            while not self._stopping:
                async with self._db.read() as tx:
                    entry = await inbox.next_for(tx, *key)
                if entry is None:
                    break
                await self._pace(key, entry)
                await self._process(entry)
        except Exception:
            log.exception("inbox: a %s event could not be handled; tried again later", key[0])
            await asyncio.sleep(_ERROR_PAUSE)
        finally:
            del self._active[key]
            self._wakeup.set()

    async def _pace(self, key: tuple[str, str], entry: InboxEntry) -> None:
        """While the person floods, wait FLOOD_RATE's interval before each event; the first wait tells them why."""
        async with self._db.read() as tx:
            backlog = await inbox.waiting_count(tx, *key, FLOOD_BURST + 1)
        if backlog <= FLOOD_BURST:
            self._told_to_slow_down.discard(key)  # not (or no longer) flooding
            return
        if key not in self._told_to_slow_down:
            self._told_to_slow_down.add(key)
            await self._tell_slow_down(entry)
        await self._clock.sleep(1 / FLOOD_RATE)

    async def _tell_slow_down(self, entry: InboxEntry) -> None:
        """One kind word through the outbox: their messages are all being handled, in order."""
        assert self._outbox is not None
        sender = entry.inbound.sender
        async with self._db.write() as tx:
            await outbox.enqueue(tx, key=f"inbox:slow:{entry.inbound.event_id}", channel=sender.channel,
                                 chat_id=sender.chat_id, reply=self._engine.say(entry.inbound, "inbox.slow_down"),
                                 now=self._clock.now())
        self._outbox.wake()

    async def _process(self, entry: InboxEntry) -> None:
        channel = self._channels[entry.inbound.sender.channel]
        try:
            prepared = await channel.prepare(entry)
        except Exception:  # a bug: the event is answered kindly rather than tried again for ever
            log.exception("inbox: preparing a %s event failed", entry.inbound.sender.channel)
            prepared = self._engine.apology(entry.inbound)
        if isinstance(prepared, Reply):
            items = await self._engine.answer_stored(entry, [prepared])
        else:
            items = await self._engine.handle_stored(entry, prepared)
        await self._send(channel.sender, items)
        await channel.handled(entry)

    async def _send(self, sender: ChannelSender, items: list[OutboxItem]) -> None:
        """Send committed replies in order; from the first not delivered on, the outbox worker has them."""
        assert self._outbox is not None
        for n, item in enumerate(items):
            result = await _send_one(sender, item)
            await self._outbox.settle(item, result)
            if not isinstance(result, Sent):
                await self._outbox.hand_over(items[n + 1:])
                return


async def _send_one(sender: ChannelSender, item: OutboxItem) -> SendResult:
    try:
        if item.replace:
            return await sender.send(item.chat_id, item.reply, replace=item.replace)
        return await sender.send(item.chat_id, item.reply)
    except Exception as exc:  # a sender bug: the outbox worker tries the row again
        log.exception("inbox: the %s sender raised on a reply", sender.channel)
        return Transient(type(exc).__name__)
