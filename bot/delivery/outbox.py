"""The delivery worker: drains the outbox through one sender per channel, within each platform's limits.

Rows are claimed (in_flight) in one transaction, sent outside any transaction and settled in another. A chat's
rows go out one at a time in id order; different chats are sent concurrently. Nothing here logs message text.

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
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, assert_never

from bot.clock import Clock
from bot.domain.messages import Reply
from bot.storage import outbox, people
from bot.storage.db import Database, Tx
from bot.storage.outbox import OutboxItem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 30  # transient failures before a row is given up as 'failed'
MAX_BACKOFF = 15 * 60.0  # seconds
_BATCH = 256  # due rows looked at per pass
_ERROR_PAUSE = 5.0  # real seconds to wait after a pass failed (e.g. the database was busy)
_NEVER = datetime.min.replace(tzinfo=UTC)


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
    """How fast a channel may send: messages per second overall, and the minimum gap (s) between two to one chat."""

    per_second: float
    chat_interval: Callable[[str], float]


class ChannelSender(Protocol):
    """Delivers a neutral reply on one channel. Errors are returned, never raised; their text is a short
    platform description (never message content).

    `replace` is the `Sent.ref` an earlier reply of the same slot left in this chat: replace that message with this
    reply where the platform can (else send a new one). It is only passed when there is something to replace."""

    channel: str
    limits: ChannelLimits

    async def send(self, chat_id: str, reply: Reply, replace: str = "") -> SendResult: ...


OnSettled = Callable[[Collection[int]], Awaitable[None]]


def backoff(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th transient failure of a row: 2, 4, 8 … capped at 15 minutes."""
    return min(2.0**attempt, MAX_BACKOFF)


class _Gate:
    """One channel's schedule: evenly spaced sends, a flood-control pause and a minimum gap per chat."""

    def __init__(self, limits: ChannelLimits) -> None:
        self._chat_interval = limits.chat_interval
        self._spacing = _span(1 / limits.per_second)
        self._next_slot = _NEVER
        self._paused_until = _NEVER
        self._chat_next: dict[str, datetime] = {}

    def ready_at(self, chat_id: str) -> datetime:
        return max(self._next_slot, self._paused_until, self._chat_next.get(chat_id, _NEVER))

    def take(self, chat_id: str, now: datetime) -> None:
        self._next_slot = now + self._spacing
        self._chat_next[chat_id] = now + _span(self._chat_interval(chat_id))

    def pause(self, until: datetime) -> None:
        self._paused_until = max(self._paused_until, until)

    def forget_before(self, now: datetime) -> None:
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}


class OutboxWorker:
    """Sends due outbox rows; `wake()` after enqueueing, `run_once()` in tests."""

    def __init__(self, db: Database, clock: Clock, senders: Mapping[str, ChannelSender], *,
                 concurrency: int = 16, on_settled: OnSettled | None = None) -> None:
        for name, sender in senders.items():
            if sender.channel != name:
                raise ValueError(f"sender for channel {sender.channel!r} configured as {name!r}")
        self._db = db
        self._clock = clock
        self._senders = dict(senders)
        self._gates = {name: _Gate(sender.limits) for name, sender in senders.items()}
        self._concurrency = concurrency
        self._sends: set[asyncio.Task[int]] = set()
        self._wakeup = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._next_pass_at: datetime | None = None
        self._check_unserved = True
        self._unserved_logged: set[str] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
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
        self._loop_task = asyncio.create_task(self._loop(), name="outbox-worker")

    async def stop(self) -> None:
        """Stop claiming rows and wait for the sends in flight to finish and settle."""
        self._stopping = True
        self._wakeup.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        await asyncio.gather(*self._sends)
        if self._reporting is not None:
            await self._reporting

    def wake(self) -> None:
        """Something was enqueued: look at the outbox now."""
        self._check_unserved = True
        self._wakeup.set()

    async def run_once(self) -> int:
        """Send everything due now and allowed by the limits; returns the rows that reached a final status."""
        return sum(await asyncio.gather(*await self._dispatch()))

    async def _loop(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self._dispatch()
                timeout = self._seconds_to_next_pass()
            except Exception:
                log.exception("outbox: pass failed")
                timeout = _ERROR_PAUSE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    def _seconds_to_next_pass(self) -> float | None:
        if self._next_pass_at is None:
            return None
        return max(0.0, (self._next_pass_at - self._clock.now()).total_seconds())

    async def _dispatch(self) -> list[asyncio.Task[int]]:
        """Claim what may go out now, start sending it and note when the next pass is worthwhile."""
        async with self._pass_lock:
            now = self._clock.now()
            async with self._db.write() as tx:
                await self._report_unserved(tx)
                chosen, blocked_until = self._choose(await outbox.due(tx, now, self._senders, _BATCH), now)
                claimed = [item for item in chosen if await outbox.claim(tx, item.id)]
                later = await outbox.next_due_at(tx, self._senders, now)
            self._next_pass_at = min((t for t in (blocked_until, later) if t is not None), default=None)
            return [self._start(item) for item in claimed]

    def _choose(self, items: list[OutboxItem], now: datetime) -> tuple[list[OutboxItem], datetime | None]:
        """The rows the limits allow now (reserving their slots), and when the first held-back row could go."""
        for gate in self._gates.values():
            gate.forget_before(now)
        free = self._concurrency - len(self._sends)
        chosen: list[OutboxItem] = []
        blocked_until: datetime | None = None
        for item in items:
            if len(chosen) >= free:
                break  # a finished send wakes the loop
            gate = self._gates[item.channel]
            ready = gate.ready_at(item.chat_id)
            if ready > now:
                blocked_until = ready if blocked_until is None else min(blocked_until, ready)
                continue
            gate.take(item.chat_id, now)
            chosen.append(item)
        return chosen, blocked_until

    async def _report_unserved(self, tx: Tx) -> None:
        if not self._check_unserved:
            return
        self._check_unserved = False
        for channel in await outbox.unserved_channels(tx, self._senders):
            if channel not in self._unserved_logged:
                self._unserved_logged.add(channel)
                log.warning("outbox: rows for channel %s stay pending: no sender is configured for it", channel)

    def _start(self, item: OutboxItem) -> asyncio.Task[int]:
        task = asyncio.create_task(self._deliver(item), name=f"outbox-{item.id}")
        self._sends.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[int]) -> None:
        self._sends.discard(task)
        self._wakeup.set()  # the chat and a concurrency slot are free again

    async def _deliver(self, item: OutboxItem) -> int:
        sender = self._senders[item.channel]
        try:
            if item.replace:
                result = await sender.send(item.chat_id, item.reply, replace=item.replace)
            else:
                result = await sender.send(item.chat_id, item.reply)
        except Exception as exc:  # a sender bug must not stop delivery
            log.exception("outbox row %d: %s sender raised", item.id, item.channel)
            result = Transient(type(exc).__name__)
        try:
            async with self._db.write() as tx:
                settled = await self._settle(tx, item, result)
        except Exception:
            log.exception("outbox row %d: outcome not recorded; it stays in flight until restart", item.id)
            return 0
        self._note_settled({broadcast for broadcast in settled if broadcast is not None})
        return len(settled)

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
            self._wakeup.set()  # it may have queued messages

    async def _settle(self, tx: Tx, item: OutboxItem, result: SendResult) -> list[int | None]:
        """Record one send's outcome; returns the broadcast id (None for other rows) of each row that reached a
        final status."""
        now = self._clock.now()
        match result:
            case Sent(ref):
                await outbox.mark_sent(tx, item.id, now, ref)
                return [item.broadcast_id]
            case RetryAfter(seconds):
                until = now + _span(seconds)
                self._gates[item.channel].pause(until)
                await outbox.throttled(tx, item.id, until)
                log.warning("outbox: %s rate limited for %.1f s (row %d)", item.channel, seconds, item.id)
                return []
            case Transient(error):
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
                log.warning("outbox row %d: rejected by %s: %s", item.id, item.channel, error)
                return [item.broadcast_id]
            case _:
                assert_never(result)

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


def _span(seconds: float) -> timedelta:
    """`seconds` as a timedelta, rounded up to the microsecond so that limits are never undercut."""
    return timedelta(microseconds=math.ceil(max(0.0, seconds) * 1_000_000))
