"""The outbox worker against a real database, a manual clock and a recording channel backend."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.delivery.outbox import (
    HEADROOM,
    MAX_ATTEMPTS,
    ChannelLimits,
    OutboxWorker,
    Permanent,
    RetryAfter,
    SendResult,
    Sent,
    Transient,
    Unreachable,
    backoff,
)
from bot.domain.messages import Reply
from bot.domain.people import Account
from bot.storage import outbox, people
from bot.storage.db import Database

CHANNEL = "telegram"


def one_second_per_chat(chat_id: str) -> float:
    return 1.0


@dataclass(frozen=True)
class Attempt:
    chat_id: str
    text: str
    at: datetime
    result: SendResult


class RecordingSender:
    """A ChannelSender backend that records every attempt and replays scripted outcomes per chat (default Sent).

    With `hold` set, each send waits for it, so tests can observe sends while they are in flight."""

    def __init__(self, clock: ManualClock, *, per_second: float = 1000.0, hold: asyncio.Event | None = None) -> None:
        self.channel = CHANNEL
        self.limits = ChannelLimits(per_second, one_second_per_chat)
        self.attempts: list[Attempt] = []
        self.in_flight: set[str] = set()
        self.peak = 0
        self.overlaps: list[str] = []  # chats that had two sends at once
        self._clock = clock
        self._hold = hold
        self._script: dict[str, deque[SendResult | Exception]] = {}
        self._changed = asyncio.Event()

    def script(self, chat_id: str, *outcomes: SendResult | Exception) -> None:
        self._script.setdefault(chat_id, deque()).extend(outcomes)

    @property
    def delivered(self) -> list[Attempt]:
        return [a for a in self.attempts if isinstance(a.result, Sent)]

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        if chat_id in self.in_flight:
            self.overlaps.append(chat_id)
        self.in_flight.add(chat_id)
        self.peak = max(self.peak, len(self.in_flight))
        self._signal()
        try:
            if self._hold is not None:
                await self._hold.wait()
            queued = self._script.get(chat_id)
            outcome = queued.popleft() if queued else Sent()
            if isinstance(outcome, Exception):
                raise outcome
            self.attempts.append(Attempt(chat_id, reply.text, self._clock.now(), outcome))
            return outcome
        finally:
            self.in_flight.discard(chat_id)
            self._signal()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait (woken by sends, bounded by a 5 s safety timeout) until `predicate()` holds."""
        async with asyncio.timeout(5):
            while not predicate():
                await self._changed.wait()


async def enqueue(db: Database, clock: ManualClock, chat_id: str, text: str, *, key: str | None = None,
                  channel: str = CHANNEL, slot: str = "") -> bool:
    async with db.write() as tx:
        return await outbox.enqueue(tx, key=key or f"{chat_id}:{text}", channel=channel, chat_id=chat_id,
                                    reply=Reply(text, slot=slot), now=clock.now())


async def rows(db: Database) -> list[tuple[str, str, str, int]]:
    """(chat_id, text, status, attempts) of every row, in id order."""
    async with db.read() as tx:
        found = await tx.all("SELECT chat_id, payload, status, attempts FROM outbox ORDER BY id")
    return [(r["chat_id"], Reply.from_json(json.loads(r["payload"])).text, r["status"], r["attempts"]) for r in found]


async def drain(worker: OutboxWorker, clock: ManualClock, db: Database, max_passes: int = 500) -> None:
    """Run passes, jumping the clock to the next due row or slot, until nothing is pending."""
    for _ in range(max_passes):
        await worker.run_once()
        async with db.read() as tx:
            left = await outbox.counts(tx)
        if not left.get("pending") and not left.get("in_flight"):
            return
        at = worker.next_pass_at
        if at is not None and at > clock.now():
            clock.advance((at - clock.now()).total_seconds())
    raise AssertionError("the outbox did not drain")


def offsets(attempts: list[Attempt], start: datetime) -> list[float]:
    return [(a.at - start).total_seconds() for a in attempts]


async def test_enqueue_with_the_same_key_twice_sends_once(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})

    assert await enqueue(db, clock, "1001", "notice", key="notice-7:1001") is True
    assert await enqueue(db, clock, "1001", "notice", key="notice-7:1001") is False
    await drain(worker, clock, db)
    await worker.run_once()

    assert [(a.chat_id, a.text) for a in sender.attempts] == [("1001", "notice")]
    assert await rows(db) == [("1001", "notice", "sent", 1)]


async def test_messages_to_one_private_chat_are_a_second_apart_in_order(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    start = clock.now()
    for text in ("first", "second", "third"):
        await enqueue(db, clock, "1001", text)

    assert await worker.run_once() == 1
    clock.advance(0.999)
    assert await worker.run_once() == 0
    await drain(worker, clock, db)

    assert [a.text for a in sender.attempts] == ["first", "second", "third"]
    assert offsets(sender.attempts, start) == [0.0, 1.0, 2.0]


async def test_overall_rate_is_never_exceeded(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock, per_second=30)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    start = clock.now()
    for n in range(90):
        await enqueue(db, clock, str(2000 + n), "broadcast")

    await drain(worker, clock, db)

    times = offsets(sender.attempts, start)
    assert sorted({a.chat_id for a in sender.attempts}) == [str(2000 + n) for n in range(90)]
    assert len(times) == 90
    assert min(times[i + 30] - times[i] for i in range(60)) >= 1.0  # never 31 sends within one second
    # evenly spaced just under 30/s: no burst, no needless slowness
    assert 89 / 30 <= times[-1] == pytest.approx(89 / math.floor(30 * HEADROOM), abs=1e-4)


async def test_retry_after_pauses_the_whole_channel_then_sends_once(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    sender.script("1001", RetryAfter(3))
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    start = clock.now()
    await enqueue(db, clock, "1001", "to A")

    assert await worker.run_once() == 0
    await enqueue(db, clock, "1002", "to B")
    clock.advance(2.9)
    assert await worker.run_once() == 0  # B, another chat, waits for the pause too
    clock.advance(0.1)
    await drain(worker, clock, db)

    assert [(a.chat_id, type(a.result).__name__) for a in sender.attempts] == [
        ("1001", "RetryAfter"), ("1002", "Sent"), ("1001", "Sent")]
    # 1002 has waited longer, so it goes first
    assert offsets(sender.attempts, start) == pytest.approx([0.0, 3.0, 3.0 + 1 / (1000 * HEADROOM)], abs=1e-6)
    assert await rows(db) == [("1001", "to A", "sent", 1), ("1002", "to B", "sent", 1)]


async def test_transient_failures_back_off_then_succeed(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    sender.script("1001", Transient("Bad Gateway"), Transient("Timed out"))
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    start = clock.now()
    await enqueue(db, clock, "1001", "hello")

    await worker.run_once()
    clock.advance(1.9)
    assert await worker.run_once() == 0
    await drain(worker, clock, db)

    assert offsets(sender.attempts, start) == [0.0, 2.0, 6.0]
    assert await rows(db) == [("1001", "hello", "sent", 3)]


async def test_a_sender_that_raises_counts_as_a_transient_failure(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    sender.script("1001", RuntimeError("boom"))
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "1001", "hello")

    assert await worker.run_once() == 0
    async with db.read() as tx:
        error = await tx.scalar("SELECT last_error FROM outbox")
    assert (await rows(db), error) == ([("1001", "hello", "pending", 1)], "RuntimeError")


async def test_transient_failures_give_up_after_max_attempts(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    sender.script("1001", *[Transient("Internal Server Error")] * MAX_ATTEMPTS)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    start = clock.now()
    await enqueue(db, clock, "1001", "hello")

    await drain(worker, clock, db)

    assert len(sender.attempts) == MAX_ATTEMPTS == 30
    assert [backoff(n) for n in (1, 2, 3, 9, 10, 29)] == [2.0, 4.0, 8.0, 512.0, 900.0, 900.0]
    expected = sum(backoff(n) for n in range(1, MAX_ATTEMPTS))
    assert offsets(sender.attempts, start)[-1] == expected
    assert await rows(db) == [("1001", "hello", "failed", 30)]


async def test_unreachable_marks_the_account_and_drops_its_pending_rows(db: Database, clock: ManualClock) -> None:
    async with db.write() as tx:
        person_id = await people.create(tx, Account(CHANNEL, "1001", "1001"), display_name="A", locale="zh_CN",
                                        now=clock.now())
    sender = RecordingSender(clock)
    sender.script("1001", Unreachable("Forbidden: bot was blocked by the user"))
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    for text in ("one", "two", "three"):
        await enqueue(db, clock, "1001", text)
    await enqueue(db, clock, "1002", "other")

    assert await worker.run_once() == 3
    await drain(worker, clock, db)

    assert [(a.chat_id, a.text) for a in sender.attempts] == [("1001", "one"), ("1002", "other")]
    assert [r[2] for r in await rows(db)] == ["unreachable", "unreachable", "unreachable", "sent"]
    async with db.read() as tx:
        assert await people.accounts_of(tx, person_id) == []


async def test_permanent_failure_fails_at_once_and_the_chat_moves_on(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    sender.script("1001", Permanent("Bad Request: message is too long"))
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "1001", "too long")
    await enqueue(db, clock, "1001", "fine")

    await drain(worker, clock, db)

    assert [(a.text, type(a.result).__name__) for a in sender.attempts] == [("too long", "Permanent"),
                                                                             ("fine", "Sent")]
    assert await rows(db) == [("1001", "too long", "failed", 1), ("1001", "fine", "sent", 1)]


async def test_later_rows_of_a_chat_wait_behind_a_retrying_row(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock)
    sender.script("1001", Transient("Bad Gateway"))
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "1001", "first")
    await enqueue(db, clock, "1001", "second")

    await worker.run_once()
    clock.advance(1.5)  # the chat gap has passed, the first row's retry is not due yet
    assert await worker.run_once() == 0
    await drain(worker, clock, db)

    assert [a.text for a in sender.delivered] == ["first", "second"]


async def test_a_newer_status_line_replaces_the_one_waiting_behind_a_retrying_row(db: Database,
                                                                                  clock: ManualClock) -> None:
    """"b" fails while "c" of the same slot is queued behind it, so two rows of the slot wait; "d" replaces the
    newer ("c", never sent) without tripping over the idempotency key."""
    hold = asyncio.Event()
    sender = RecordingSender(clock, hold=hold)
    sender.script("1001", Transient("Bad Gateway"))
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "1001", "b", slot="status")
    sending = asyncio.create_task(worker.run_once())
    await sender.wait_until(lambda: "1001" in sender.in_flight)
    assert await enqueue(db, clock, "1001", "c", slot="status")
    hold.set()
    await sending
    assert await enqueue(db, clock, "1001", "d", slot="status")
    assert await rows(db) == [("1001", "b", "pending", 1), ("1001", "d", "pending", 0)]
    await drain(worker, clock, db)
    assert [a.text for a in sender.delivered] == ["b", "d"]


async def test_chats_are_sent_concurrently_but_one_chat_never_twice_at_once(db: Database,
                                                                            clock: ManualClock) -> None:
    hold = asyncio.Event()
    sender = RecordingSender(clock, hold=hold)
    worker = OutboxWorker(db, clock, {CHANNEL: sender}, concurrency=3)
    for key, chat in enumerate(("1001", "1001", "1002", "1003", "1004")):
        await enqueue(db, clock, chat, f"to {chat}", key=str(key))

    passes = []
    for expected in ({"1001"}, {"1001", "1002"}, {"1001", "1002", "1003"}):
        passes.append(asyncio.create_task(worker.run_once()))
        await sender.wait_until(lambda: len(sender.in_flight) == len(passes))
        assert sender.in_flight == expected
        clock.advance(1 / (1000 * HEADROOM))  # the next overall rate slot
    async with asyncio.timeout(5):  # a fourth send would hang here
        assert await worker.run_once() == 0  # 3 in flight: 1004 waits, and 1001's second row waits behind its first
    hold.set()
    assert sum(await asyncio.gather(*passes)) == 3
    await drain(worker, clock, db)

    assert sender.peak == 3
    assert sender.overlaps == []
    assert [a.chat_id for a in sender.delivered] == ["1001", "1002", "1003", "1004", "1001"]


async def test_after_a_crash_in_flight_rows_are_sent_once_and_sent_rows_never(tmp_path: Path,
                                                                              clock: ManualClock) -> None:
    path = str(tmp_path / "jinlin.db")
    first_db = Database(path)
    await first_db.open()
    await enqueue(first_db, clock, "1001", "delivered before the crash")
    await enqueue(first_db, clock, "1002", "in flight at the crash")
    await OutboxWorker(first_db, clock, {CHANNEL: RecordingSender(clock)}).run_once()
    hold = asyncio.Event()
    crashing_sender = RecordingSender(clock, hold=hold)
    crashing = OutboxWorker(first_db, clock, {CHANNEL: crashing_sender})
    clock.advance(1)
    await enqueue(first_db, clock, "1002", "second")
    doomed = asyncio.create_task(crashing.run_once())
    await crashing_sender.wait_until(lambda: crashing_sender.in_flight == {"1002"})
    doomed.cancel()  # the process dies mid-send
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await first_db.close()

    second_db = Database(path)
    await second_db.open()
    try:
        sender = RecordingSender(clock)
        worker = OutboxWorker(second_db, clock, {CHANNEL: sender})
        await worker.start()
        try:
            await sender.wait_until(lambda: len(sender.delivered) == 1)
        finally:
            await worker.stop()
        await drain(worker, clock, second_db)

        assert [(a.chat_id, a.text) for a in sender.attempts] == [("1002", "in flight at the crash"),
                                                                  ("1002", "second")]
        assert [r[2] for r in await rows(second_db)] == ["sent", "sent", "sent"]
    finally:
        await second_db.close()


async def test_wake_makes_the_running_loop_send_without_polling(db: Database, clock: ManualClock) -> None:
    hold = asyncio.Event()
    sender = RecordingSender(clock, hold=hold)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "1001", "first")
    await worker.start()
    try:
        await sender.wait_until(lambda: sender.in_flight == {"1001"})  # the loop's pass is over: it waits
        await enqueue(db, clock, "1002", "second")
        clock.advance(1)  # past the overall rate slot taken by the first send
        for _ in range(20):
            await asyncio.sleep(0)  # yield to the loop: without a wake it has no reason to look
        assert sender.in_flight == {"1001"}

        worker.wake()
        await sender.wait_until(lambda: sender.in_flight == {"1001", "1002"})
    finally:
        hold.set()
        await worker.stop()

    assert await rows(db) == [("1001", "first", "sent", 1), ("1002", "second", "sent", 1)]


async def test_a_finished_send_lets_the_running_loop_send_the_chats_next_row(db: Database,
                                                                             clock: ManualClock) -> None:
    hold = asyncio.Event()
    sender = RecordingSender(clock, hold=hold)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "1001", "first")
    await enqueue(db, clock, "1001", "second")
    await worker.start()
    try:
        await sender.wait_until(lambda: sender.in_flight == {"1001"})
        clock.advance(1)  # the chat gap passes while the first send is still in flight
        hold.set()
        await sender.wait_until(lambda: len(sender.delivered) == 2)
    finally:
        hold.set()
        await worker.stop()

    assert [a.text for a in sender.delivered] == ["first", "second"]


async def test_stop_lets_the_sends_in_flight_finish(db: Database, clock: ManualClock) -> None:
    hold = asyncio.Event()
    sender = RecordingSender(clock, hold=hold)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "1001", "hello")
    await worker.start()
    await sender.wait_until(lambda: sender.in_flight == {"1001"})  # the loop's pass is over: it waits

    stopping = asyncio.create_task(worker.stop())
    for _ in range(20):
        await asyncio.sleep(0)  # ample for the idle loop to notice the stop
    assert not stopping.done()
    hold.set()
    await stopping

    assert await rows(db) == [("1001", "hello", "sent", 1)]


async def test_rows_for_a_channel_without_sender_stay_pending_logged_once(
        db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    sender = RecordingSender(clock)
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    await enqueue(db, clock, "wx-user", "to wecom", channel="wecom")
    await enqueue(db, clock, "1001", "to telegram")

    with caplog.at_level(logging.WARNING, logger="bot.delivery.outbox"):
        await worker.run_once()
        await enqueue(db, clock, "wx-user", "again", channel="wecom")
        worker.wake()
        await worker.run_once()

    assert [a.text for a in sender.attempts] == ["to telegram"]
    assert [r[2] for r in await rows(db)] == ["pending", "sent", "pending"]
    assert [r.getMessage() for r in caplog.records] == [
        "outbox: rows for channel wecom stay pending: no sender is configured for it"]
    assert worker.next_pass_at is None


def test_a_sender_must_be_configured_under_its_own_channel(db: Database, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="wecom"):
        OutboxWorker(db, clock, {"wecom": RecordingSender(clock)})


async def test_next_pass_is_when_the_first_waiting_row_becomes_due(db: Database, clock: ManualClock) -> None:
    worker = OutboxWorker(db, clock, {CHANNEL: RecordingSender(clock)})
    async with db.write() as tx:
        await outbox.enqueue(tx, key="later", channel=CHANNEL, chat_id="1001", reply=Reply("later"),
                             now=clock.now(), not_before=clock.now() + timedelta(minutes=5))

    assert await worker.run_once() == 0
    assert worker.next_pass_at == clock.now() + timedelta(minutes=5)


async def test_rows_held_for_their_slots_go_back_to_pending_at_stop(db: Database, clock: ManualClock) -> None:
    sender = RecordingSender(clock, per_second=10)  # slots 1/9 s apart: three fit in the 0.25 s looked ahead
    worker = OutboxWorker(db, clock, {CHANNEL: sender})
    for n in range(5):
        await enqueue(db, clock, str(3000 + n), "notice")
    await worker.start()
    try:
        await sender.wait_until(lambda: len(sender.attempts) == 1)  # the clock stands still: the rest wait
        for _ in range(20):
            await asyncio.sleep(0)
        assert [status for _, _, status, _ in await rows(db)] == ["sent", "in_flight", "in_flight", "pending",
                                                                  "pending"]
    finally:
        await worker.stop()

    assert [(status, attempts) for _, _, status, attempts in await rows(db)] == [
        ("sent", 1), ("pending", 0), ("pending", 0), ("pending", 0), ("pending", 0)]
    await drain(worker, clock, db)
    assert len(sender.delivered) == 5
