"""The delivery worker: drains the outbox through one sender per channel, within each platform's limits.

A pass reads each channel's due rows as a page of its own (a channel whose rows cannot go yet never keeps another
waiting), reserves each channel's rate slots a little ahead and claims (in_flight) the rows that fill them in one
transaction; a release task starts each at its slot, outside any transaction; outcomes are settled in batches. A
chat's rows go out one at a time in id order; different chats are sent concurrently; a broadcast's rows with the
same message share calls on channels that take many chats at once. Nothing here logs message text.

A row whose reply has a slot is sent with the reference of the message the previous row of that slot left in the
chat, and the sender replaces that message (an edit) instead of adding one. Rows may belong to a broadcast: after
some reach a final status the worker tells `on_settled` which broadcasts (coalesced, one call at a time); what
that means is the caller's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, assert_never, runtime_checkable

from bot.clock import Clock
from bot.domain.messages import Reply
from bot.storage import outbox, people
from bot.storage.db import Database, Tx
from bot.storage.outbox import OutboxItem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 30  # transient failures before a row is given up as 'failed'
MAX_BACKOFF = 15 * 60.0  # seconds
_BATCH = 256  # due rows looked at per pass
# Calls in flight at once, at most: 300 msg/s at 100 ms round trips, within the Telegram client's pool of 64
# connections, which replies and polling share. Within it, the worker keeps about twice what the rate needs at the
# round trips it sees (Little's law), and at least _MIN_CONCURRENCY: more would only queue inside the HTTP client,
# cost CPU there and bunch calls up on the wire.
CONCURRENCY = 32
_MIN_CONCURRENCY = 8
_ROUND_TRIP_WEIGHT = 0.1  # of the newest round trip in the moving average
_ERROR_PAUSE = 5.0  # real seconds to wait after a pass failed (e.g. the database was busy)
_NEVER = datetime.min.replace(tzinfo=UTC)
_SECOND = timedelta(seconds=1)
HEADROOM = 0.97  # share of a channel's rate limit the worker plans to use


@dataclass(frozen=True, slots=True)
class Sent:
    """Delivered; `ref` is the platform's reference of the message left in the chat (e.g. its message id), if any."""

    ref: str = ""


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """The platform said "too many requests": every send on the channel pauses for `seconds`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Transient:
    """A server error, timeout or network failure: this row is retried with exponential backoff."""

    error: str


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The recipient blocked the bot or is gone: the account is marked and its pending rows are settled."""

    error: str


@dataclass(frozen=True, slots=True)
class Permanent:
    """The platform rejected this message; sending it again cannot help."""

    error: str


SendResult = Sent | RetryAfter | Transient | Unreachable | Permanent


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """How fast a channel may send: calls per second overall, the minimum gap (s) between two messages to one
    chat, and how many chats one call may reach with the same message (a `BatchSender`'s `send_many`)."""

    per_second: float
    chat_interval: Callable[[str], float]
    batch: int = 1


class ChannelSender(Protocol):
    """Delivers a neutral reply on one channel. Errors are returned, never raised; their text is a short
    platform description (never message content).

    `replace` is the `Sent.ref` an earlier reply of the same slot left in this chat: replace that message with this
    reply where the platform can (else send a new one). It is only passed when there is something to replace."""

    channel: str
    limits: ChannelLimits

    async def send(self, chat_id: str, reply: Reply, replace: str = "") -> SendResult: ...


@runtime_checkable
class BatchSender(ChannelSender, Protocol):
    """A sender that can deliver one reply to up to `limits.batch` chats in one call (broadcasts)."""

    async def send_many(self, chat_ids: Sequence[str], reply: Reply) -> Mapping[str, SendResult]: ...


OnSettled = Callable[[Collection[int]], Awaitable[None]]


def backoff(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th transient failure of a row: 2, 4, 8 … capped at 15 minutes."""
    return min(2.0**attempt, MAX_BACKOFF)


class _Gate:
    """One channel's schedule: evenly spaced calls (a little under the limit, so that the jitter of the event loop
    and the network never bunches them past it), a flood-control pause and a minimum gap per chat."""

    def __init__(self, limits: ChannelLimits) -> None:
        self._chat_interval = limits.chat_interval
        self._per_window = max(1, math.floor(limits.per_second * HEADROOM))  # calls planned per second
        self._spacing = _span(1 / self._per_window)
        self._next_slot = _NEVER
        self._paused_until = _NEVER
        self._chat_next: dict[str, datetime] = {}
        self._window: deque[datetime] = deque()  # when the calls of the last second went out

    def slot_at(self, now: datetime) -> datetime:
        """When the channel's next call may go out."""
        return max(self._next_slot, self._paused_until, self.window_opens_at(now))

    def chat_ready_at(self, chat_id: str, now: datetime) -> datetime:
        """When a message to `chat_id` may go out, as far as that chat's gap and a pause are concerned."""
        return max(now, self._paused_until, self._chat_next.get(chat_id, _NEVER))

    def take(self, at: datetime) -> None:
        """A call goes out at `at`."""
        self._next_slot = at + self._spacing

    def take_chat(self, chat_id: str, at: datetime) -> None:
        """A message to `chat_id` goes out at `at`."""
        self._chat_next[chat_id] = at + _span(self._chat_interval(chat_id))

    def window_opens_at(self, now: datetime) -> datetime:
        """When a call may go out without more than the planned share of the limit in any one second; slots are
        spaced for that already, this keeps a late start (a busy event loop) from bunching calls up."""
        while self._window and self._window[0] <= now - _SECOND:
            self._window.popleft()
        return now if len(self._window) < self._per_window else self._window[0] + _SECOND

    def went_out(self, at: datetime) -> None:
        """A call was started at `at` (counted in the sliding second)."""
        self._window.append(at)

    def pause(self, until: datetime) -> None:
        self._paused_until = max(self._paused_until, until)
        self._next_slot = _NEVER  # the slots reserved before the pause are given back

    def forget_before(self, now: datetime) -> None:
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}


@dataclass(eq=False)
class _Shipment:
    """Claimed rows that go out in one call at `at`: one row, or a broadcast's rows with the same message."""

    at: datetime
    items: list[OutboxItem]

    @property
    def channel(self) -> str:
        return self.items[0].channel


class OutboxWorker:
    """Sends due outbox rows; `wake()` after enqueueing, `run_once()` in tests.

    A pass reserves rate slots up to `lookahead` seconds ahead and claims those rows in one transaction; the release
    task starts each at its slot. Outcomes are recorded in batches (one transaction for all that finished meanwhile).
    `run_once` looks no further than now, so a test sees exactly what is allowed at the clock's time."""

    def __init__(self, db: Database, clock: Clock, senders: Mapping[str, ChannelSender], *,
                 concurrency: int = CONCURRENCY, lookahead: float = 0.25,
                 on_settled: OnSettled | None = None) -> None:
        for name, sender in senders.items():
            if sender.channel != name:
                raise ValueError(f"sender for channel {sender.channel!r} configured as {name!r}")
            if sender.limits.batch > 1 and not isinstance(sender, BatchSender):
                raise ValueError(f"sender for channel {name!r} has a batch limit but no send_many")
        self._db = db
        self._clock = clock
        self._senders = dict(senders)
        self._gates = {name: _Gate(sender.limits) for name, sender in senders.items()}
        self._concurrency = concurrency
        self._rate = sum(sender.limits.per_second for sender in senders.values())
        self._round_trip = 0.1  # seconds, a moving average of the sends' real durations
        self._lookahead = lookahead
        # rows looked at per pass and channel: enough for a whole batch besides the other pushes due
        self._pages = {name: _BATCH + sender.limits.batch - 1 for name, sender in senders.items()}
        self._held: list[_Shipment] = []  # claimed, waiting for their slot; sorted by slot
        self._sends: set[asyncio.Task[int]] = set()
        self._wakeup = asyncio.Event()  # for passes
        self._release_due = asyncio.Event()  # for releases
        self._pass_lock = asyncio.Lock()
        self._dirty = True  # something may have become sendable that no pass has looked at
        self._next_pass_at: datetime | None = None
        self._check_unserved = True
        self._unserved_logged: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._outcomes: list[tuple[OutboxItem, SendResult, asyncio.Future[int]]] = []
        self._recording: asyncio.Task[None] | None = None
        self._on_settled = on_settled
        self._settled: set[int] = set()  # broadcasts with rows settled since on_settled was last called
        self._reporting: asyncio.Task[None] | None = None

    @property
    def next_pass_at(self) -> datetime | None:
        """When a row or a rate-limit slot becomes due, as of the last pass (None: only a wake or a finished
        send can bring more work)."""
        return self._next_pass_at

    async def start(self) -> None:
        """Requeue rows a crash left in flight (they may go out twice), then run the loop in the background."""
        async with self._db.write() as tx:
            recovered = await outbox.recover_in_flight(tx)
        if recovered:
            log.warning("outbox: %d rows were in flight at the last stop and will be sent again", recovered)
        self._stopping = False
        self._dirty = True
        self._tasks = [asyncio.create_task(self._passes(), name="outbox-passes"),
                       asyncio.create_task(self._releases(), name="outbox-releases")]

    async def stop(self) -> None:
        """Stop claiming rows, give back the ones waiting for their slot, and wait for the sends in flight to
        finish and settle."""
        self._stopping = True
        self._wakeup.set()
        self._release_due.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []
        await self._give_back()
        await asyncio.gather(*self._sends)
        if self._reporting is not None:
            await self._reporting

    def wake(self) -> None:
        """Something was enqueued: look at the outbox now."""
        self._check_unserved = True
        self._dirty = True
        self._wakeup.set()

    async def settle(self, item: OutboxItem, result: SendResult) -> None:
        """Record the outcome of a row claimed for a send made outside the worker (a reply sent at once): a row not
        delivered is then the worker's, as any other (after a 429 it waits retry_after, and the channel pauses)."""
        await self._record(item, result)
        if self._dirty:
            self._wakeup.set()

    async def hand_over(self, items: Collection[OutboxItem]) -> None:
        """Rows claimed for a send outside the worker that were not sent after all go to the worker as pending."""
        if items:
            async with self._db.write() as tx:
                await outbox.unclaim(tx, [item.id for item in items])
            self.wake()

    async def run_once(self) -> int:
        """Send everything due now and allowed by the limits; returns the rows that reached a final status."""
        await self._dispatch(0.0)
        return sum(await asyncio.gather(*self._release()[0]))

    async def _passes(self) -> None:
        """Claim rows whenever something may have become sendable, or the held ones run low."""
        while not self._stopping:
            self._wakeup.clear()
            try:
                at = self._next_pass_at
                if self._dirty or (at is not None and at <= self._clock.now()):
                    await self._dispatch(self._lookahead)
                timeout = _seconds_until(self._next_pass_at, self._clock)
            except Exception:
                log.exception("outbox: pass failed")
                timeout = _ERROR_PAUSE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def _releases(self) -> None:
        """Start each held shipment at its slot: a task of its own, so that a pass waiting for the database never
        delays (and so bunches up) the sends."""
        while not self._stopping:
            self._release_due.clear()
            timeout = _seconds_until(self._release()[1], self._clock)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release_due.wait(), timeout)

    async def _dispatch(self, lookahead: float) -> None:
        """Claim what may go out within `lookahead` seconds, hold it for its slot, and note when the next pass is
        worthwhile."""
        async with self._pass_lock:
            self._dirty = False
            now = self._clock.now()
            shipments: list[_Shipment] = []
            waits: list[datetime] = []
            async with self._db.write() as tx:
                await self._report_unserved(tx)
                for channel in self._senders:  # each channel's own page: one that is held back holds up no other
                    found = await outbox.due(tx, now, channel, self._pages[channel])
                    chosen, wait = self._choose(channel, found, now, now + _span(lookahead))
                    shipments.extend(chosen)
                    if wait is not None:
                        waits.append(wait)
                claimed = await outbox.claim(tx, [item.id for s in shipments for item in s.items])
                later = await outbox.next_due_at(tx, self._senders, now)
            next_pass = min(waits, default=None)
            for shipment in shipments:
                shipment.items = [item for item in shipment.items if item.id in claimed]
            self._held.extend(s for s in shipments if s.items)
            self._held.sort(key=lambda s: s.at)
            self._release_due.set()
            if next_pass is not None:
                next_pass -= _span(lookahead / 2)  # look again when half of what is held has gone
            self._next_pass_at = min((t for t in (next_pass, later) if t is not None), default=None)

    def _choose(self, channel: str, items: list[OutboxItem], now: datetime,
                horizon: datetime) -> tuple[list[_Shipment], datetime | None]:
        """Of one channel's page, the rows the limits allow before `horizon`, grouped into calls with their slots
        reserved, and when a pass could find more (None: only a wake or a finished send can)."""
        gate = self._gates[channel]
        gate.forget_before(now)
        page = self._pages[channel]
        # concurrency bounds the sends; this, what waits for them
        room = page - sum(1 for shipment in self._held if shipment.channel == channel)
        shipments: list[_Shipment] = []
        waits: list[datetime] = []
        for call in self._calls(items, page):
            if len(shipments) >= room:
                self._dirty = True  # a finished send makes room
                break
            at = gate.slot_at(now)
            if at > horizon:
                waits.append(at)
                continue
            ready = []
            for item in call:
                chat_ready = gate.chat_ready_at(item.chat_id, now)
                if chat_ready <= at:
                    ready.append(item)
                else:
                    waits.append(chat_ready)
            if ready:
                gate.take(at)
                for item in ready:
                    gate.take_chat(item.chat_id, at)
                shipments.append(_Shipment(at, ready))
        else:
            if len(items) == page and not waits:
                waits.append(now)  # all of a full page fitted: there may be more behind it
        return shipments, min(waits, default=None)

    def _calls(self, items: list[OutboxItem], page: int) -> list[list[OutboxItem]]:
        """The rows as calls: one row each, except that a broadcast's rows with the same message share calls of up to
        the channel's batch. Of a full page, the unfilled last calls are left to the next pass (more of their rows
        may follow the page), unless nothing else would go."""
        calls: list[list[OutboxItem]] = []
        filling: dict[tuple[str, int, str], list[OutboxItem]] = {}
        for item in items:
            size = self._senders[item.channel].limits.batch
            if size == 1 or item.broadcast_id is None or item.replace:
                calls.append([item])
                continue
            key = (item.channel, item.broadcast_id, item.payload)
            call = filling.get(key)
            if call is None or len(call) >= size:
                call = filling[key] = []
                calls.append(call)
            call.append(item)
        if len(items) == page:
            unfilled = [call for key, call in filling.items() if len(call) < self._senders[key[0]].limits.batch]
            kept = [call for call in calls if not any(call is other for other in unfilled)]
            if kept:
                return kept
        return calls

    def _release(self) -> tuple[list[asyncio.Task[int]], datetime | None]:
        """Start the held shipments whose slot has come, as far as the concurrency allows; and when the next one
        may start (None: none is held, or a finished send must make room first)."""
        now = self._clock.now()
        started: list[asyncio.Task[int]] = []
        while self._held and len(self._sends) < self._in_flight_limit():
            gate = self._gates[self._held[0].channel]
            at = max(self._held[0].at, gate.window_opens_at(now))
            if at > now:
                return started, at
            gate.went_out(now)
            started.append(self._start(self._held.pop(0)))
        return started, None

    async def _give_back(self) -> None:
        """The held shipments are not sent after all (the worker stops): their rows go back to pending."""
        returned, self._held = self._held, []
        if returned:
            async with self._db.write() as tx:
                await outbox.unclaim(tx, [item.id for shipment in returned for item in shipment.items])

    async def _report_unserved(self, tx: Tx) -> None:
        if not self._check_unserved:
            return
        self._check_unserved = False
        for channel in await outbox.unserved_channels(tx, self._senders):
            if channel not in self._unserved_logged:
                self._unserved_logged.add(channel)
                log.warning("outbox: rows for channel %s stay pending: no sender is configured for it", channel)

    def _start(self, shipment: _Shipment) -> asyncio.Task[int]:
        task = asyncio.create_task(self._deliver(shipment), name=f"outbox-{shipment.items[0].id}")
        self._sends.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[int]) -> None:
        self._sends.discard(task)
        self._wakeup.set()  # a concurrency slot is free again
        self._release_due.set()

    def _in_flight_limit(self) -> int:
        wanted = math.ceil(self._rate * self._round_trip * 2)
        return min(self._concurrency, max(_MIN_CONCURRENCY, wanted))

    async def _deliver(self, shipment: _Shipment) -> int:
        sender = self._senders[shipment.channel]
        items = shipment.items
        reply = items[0].reply
        started = time.monotonic()  # real time: how long the platform takes, whatever the injected clock says
        try:
            if len(items) > 1:
                assert isinstance(sender, BatchSender)
                outcomes = await sender.send_many([item.chat_id for item in items], reply)
                results = [outcomes.get(item.chat_id, Transient("no outcome")) for item in items]
            elif items[0].replace:
                results = [await sender.send(items[0].chat_id, reply, replace=items[0].replace)]
            else:
                results = [await sender.send(items[0].chat_id, reply)]
        except Exception as exc:  # a sender bug must not stop delivery
            log.exception("outbox row %d: %s sender raised", items[0].id, shipment.channel)
            results = [Transient(type(exc).__name__)] * len(items)
        self._round_trip += (time.monotonic() - started - self._round_trip) * _ROUND_TRIP_WEIGHT
        recorded = [self._record(item, result) for item, result in zip(items, results, strict=True)]
        return sum(await asyncio.gather(*recorded))

    async def _record(self, item: OutboxItem, result: SendResult) -> int:
        """Queue one outcome for the next recording transaction; the number of rows it settled."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._outcomes.append((item, result, done))
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_outcomes(), name="outbox-record")
        return await done

    async def _record_outcomes(self) -> None:
        """Write the queued outcomes, each batch in one transaction, until none are left."""
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            settled: list[list[int | None]] = []
            try:
                async with self._db.write() as tx:
                    for item, result, _ in batch:
                        settled.append(await self._settle(tx, item, result))
            except Exception:
                log.exception("outbox: %d outcomes not recorded; those rows stay in flight until restart",
                              len(batch))
                settled = [[] for _ in batch]
            for (*_, done), rows in zip(batch, settled, strict=True):
                done.set_result(len(rows))
            self._note_settled({broadcast for rows in settled for broadcast in rows if broadcast is not None})

    def _note_settled(self, broadcasts: set[int]) -> None:
        """Tell `on_settled` about these broadcasts: now, or after the call running now (calls never overlap)."""
        if self._on_settled is None or not broadcasts:
            return
        self._settled |= broadcasts
        if self._reporting is None or self._reporting.done():
            self._reporting = asyncio.create_task(self._report_settled(self._on_settled), name="outbox-settled")

    async def _report_settled(self, on_settled: OnSettled) -> None:
        while self._settled:
            broadcasts, self._settled = self._settled, set()
            try:
                await on_settled(broadcasts)
            except Exception:
                log.exception("outbox: on_settled failed for broadcasts %s", sorted(broadcasts))
            self.wake()  # it may have queued messages

    async def _settle(self, tx: Tx, item: OutboxItem, result: SendResult) -> list[int | None]:
        """Record one send's outcome; returns the broadcast id (None for other rows) of each row that reached a
        final status."""
        now = self._clock.now()
        match result:
            case Sent(ref):
                await outbox.mark_sent(tx, item.id, now, ref)
                await outbox.forget_if_nobody(tx, item.id)
                await self._look_behind(tx, item)
                return [item.broadcast_id]
            case RetryAfter(seconds):
                until = now + _span(seconds)
                self._gates[item.channel].pause(until)
                returned = [s for s in self._held if s.channel == item.channel]
                self._held = [s for s in self._held if s.channel != item.channel]
                await outbox.unclaim(tx, [row.id for s in returned for row in s.items])
                await outbox.throttled(tx, item.id, until)
                self._dirty = True
                log.warning("outbox: %s rate limited for %.1f s (row %d)", item.channel, seconds, item.id)
                return []
            case Transient(error):
                self._dirty = True
                return await self._transient(tx, item, error, now)
            case Unreachable(error):
                await people.mark_unreachable(tx, item.channel, item.chat_id, now)
                await outbox.give_up(tx, item.id, "unreachable", error)
                dropped = await outbox.drop_pending_for(tx, item.channel, item.chat_id, error)
                log.info("outbox row %d: %s chat %s unreachable, %d more rows dropped",
                         item.id, item.channel, item.chat_id, len(dropped))
                return [item.broadcast_id, *dropped]
            case Permanent(error):
                await outbox.give_up(tx, item.id, "failed", error)
                await self._look_behind(tx, item)
                log.warning("outbox row %d: rejected by %s: %s", item.id, item.channel, error)
                return [item.broadcast_id]
            case _:
                assert_never(result)

    async def _look_behind(self, tx: Tx, item: OutboxItem) -> None:
        """The next pass must look again if this chat has a row waiting behind the one just settled."""
        if await outbox.has_open(tx, item.channel, item.chat_id):
            self._dirty = True

    async def _transient(self, tx: Tx, item: OutboxItem, error: str, now: datetime) -> list[int | None]:
        attempt = item.attempts + 1
        if attempt >= MAX_ATTEMPTS:
            await outbox.give_up(tx, item.id, "failed", error)
            log.error("outbox row %d: giving up after %d attempts: %s", item.id, attempt, error)
            return [item.broadcast_id]
        delay = backoff(attempt)
        await outbox.retry_later(tx, item.id, now + _span(delay), error)
        log.info("outbox row %d: attempt %d failed (%s), retry in %.0f s", item.id, attempt, error, delay)
        return []


def _seconds_until(moment: datetime | None, clock: Clock) -> float | None:
    return None if moment is None else max(0.0, (moment - clock.now()).total_seconds())


def _span(seconds: float) -> timedelta:
    """`seconds` as a timedelta, rounded up to the microsecond so that limits are never undercut."""
    return timedelta(microseconds=math.ceil(max(0.0, seconds) * 1_000_000))
