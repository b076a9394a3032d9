"""Sent outbox rows pruned after the retention period, by the scheduler, in batches, keeping what is still needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import ManualClock
from bot.delivery.outbox import OutboxWorker
from bot.domain.messages import Reply
from bot.domain.people import Account, Role
from bot.features.broadcasts import store as broadcasts
from bot.features.broadcasts.service import Audience
from bot.features.meetings import service as meetings
from bot.scheduler import Scheduler
from bot.services.grid_import import import_grid
from bot.services.media import MediaStore
from bot.storage import grid, outbox, people
from bot.storage.db import Database, Tx
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
DAY = timedelta(days=1)


def scheduler(db: Database, clock: ManualClock, tmp_path: Path, days: int) -> Scheduler:
    return Scheduler(db, clock, OutboxWorker(db, clock, {}), TZ, MediaStore(tmp_path / "media"), None,
                     outbox_retention=timedelta(days=days))


async def queue(tx: Tx, key: str, chat: str, now: datetime, *, slot: str = "", broadcast: int | None = None) -> int:
    """Queue one row; its id."""
    assert await outbox.enqueue(tx, key=key, channel="telegram", chat_id=chat, reply=Reply(key, slot=slot), now=now,
                                broadcast_id=broadcast)
    return int(await tx.scalar("SELECT id FROM outbox WHERE idempotency_key = ?", (key,)))


async def send(tx: Tx, key: str, chat: str, now: datetime, *, ref: str = "", slot: str = "",
               broadcast: int | None = None) -> None:
    """Queue one row and record it as sent at `now`."""
    row = await queue(tx, key, chat, now, slot=slot, broadcast=broadcast)
    assert await outbox.claim(tx, [row]) == {row}
    await outbox.mark_sent(tx, row, now, ref)


async def keys(db: Database) -> list[str]:
    async with db.read() as tx:
        return [row[0] for row in await tx.all("SELECT idempotency_key FROM outbox ORDER BY id")]


async def test_old_sent_rows_go_in_batches_and_what_is_still_needed_stays(db: Database, clock: ManualClock,
                                                                          tmp_path: Path) -> None:
    await import_grid(db, SAMPLE)
    start = clock.now()
    async with db.write() as tx:
        street = next(unit.id for unit, _ in await grid.all_units(tx) if unit.code == "S01")
        author = await people.create(tx, Account("telegram", "1", "1"), display_name="街道", locale="zh_CN",
                                     now=start)
        running, done = [await broadcasts.insert(tx, created_by=author, channel="telegram", chat_id="1",
                                                 unit_id=street, audience=Audience.ALL, text="通知", photo="",
                                                 total=1, now=start) for _ in range(2)]
        assert await broadcasts.finish(tx, done, start)
        for n in range(7):
            await send(tx, f"old-{n}", str(100 + n), start)
        await queue(tx, "pending", "200", start)
        failed = await queue(tx, "failed", "201", start)
        await outbox.give_up(tx, failed, "failed", "Bad Request")
        await send(tx, "status-1", "1", start, ref="m1", slot="broadcast")  # replaced by status-2: may go
        await send(tx, "status-2", "1", start, ref="m2", slot="broadcast")  # a later status line would replace it
        await send(tx, "slot-without-message", "2", start, slot="broadcast")
        await send(tx, "of-a-running-broadcast", "300", start, broadcast=running)  # its progress counts it
        await send(tx, "of-a-finished-broadcast", "301", start, broadcast=done)
        await send(tx, "recent", "400", start + 29 * DAY)

    clock.advance((30 * DAY).total_seconds() - 1)
    assert await scheduler(db, clock, tmp_path, 30).prune_outbox(batch=3) == 0  # not yet 30 days
    clock.advance(2)
    assert await scheduler(db, clock, tmp_path, 30).prune_outbox(batch=3) == 10  # in four transactions
    assert await keys(db) == ["pending", "failed", "status-2", "of-a-running-broadcast", "recent"]
    async with db.write() as tx:
        broadcast = await broadcasts.get(tx, running)
        assert broadcast is not None
        assert (await broadcasts.progress(tx, broadcast)).sent == 1


async def test_a_cancelled_meeting_still_tells_those_announced_to_after_pruning(db: Database, tmp_path: Path) -> None:
    """The announcement's outbox rows are pruned (a retention of a day, the meeting three days on); calling it off
    still tells everyone it was announced to."""
    await import_grid(db, SAMPLE)
    monday = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)
    async with db.write() as tx:
        ids = await seed_people(tx, [Member(1, "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),)),
                                     Member(2, "王阿姨", home="C01-A-B1"), Member(3, "李伯", home="C01-A-B2")], monday)
        community = await grid.by_code(tx, "C01")
        chair = await people.by_id(tx, ids[1])
        assert community is not None and chair is not None
        await meetings.configure(tx, community.id, chair, monday, TZ, active=True)
        [meeting_id] = [row[0] for row in await tx.all("SELECT id FROM meetings")]
    announced = datetime(2030, 3, 6, 1, 0, 30, tzinfo=UTC)  # Wednesday 09:00 in Shanghai
    assert await meetings.fire_due(db, announced, TZ) >= 1
    async with db.write() as tx:
        for row in await tx.all("SELECT id FROM outbox WHERE status = 'pending'"):
            await outbox.claim(tx, [row[0]])
            await outbox.mark_sent(tx, row[0], announced)

    clock = ManualClock(announced + 2 * DAY)
    assert await scheduler(db, clock, tmp_path, 1).prune_outbox() == 2
    async with db.write() as tx:
        meeting, told = await meetings.cancellable(tx, meeting_id, chair, clock.now())
    assert (meeting.id, told) == (meeting_id, [ids[2], ids[3]])
