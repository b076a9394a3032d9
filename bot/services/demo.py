"""The console demo's sample street: the bundled grid, a grid member for every building and community, weekly
meetings switched on in every sample community, and a clock the person can move on (`/later`) to try what happens
later in the week."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from importlib.resources import files
from zoneinfo import ZoneInfo

from bot.clock import Clock, SystemClock
from bot.domain.grid import Level
from bot.domain.people import Account, Duty, Role
from bot.domain.quiet import QuietHours
from bot.features.catalog import discover
from bot.features.meetings import service as meetings
from bot.features.meetings import store as meeting_store
from bot.services import people as people_service
from bot.services.grid_import import import_grid
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database, Tx

SAMPLE_GRID = files("bot.sample") / "grid.csv"  # the repository's sample/, installed as bot/sample
CHANNEL = "console"
ADMIN_ID = "admin"  # the console demo's street administrator
DEFAULT_TIMEZONE = "Asia/Shanghai"  # the settings' default, for callers that do not pass theirs
# Duties the sample community secretaries hold, so that every duty has a holder in the demo.
_SECRETARY_DUTIES = (Duty.SAFETY, Duty.SANITATION, Duty.MEDIATION, Duty.PUBLICITY, Duty.LEGAL_ADVISOR)
_DURATION = re.compile(r"([1-9][0-9]{0,4})([mhd])", re.ASCII)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
MAX_LATER = timedelta(days=366)  # one `/later` moves the clock at most this far
MAX_STEPS = 10_000  # scheduled moments fired on the way, at most
MAX_STALLS = 3  # moments in a row at which nothing would fire before `/later` stops stepping


def member_id(role: Role, unit_code: str) -> str:
    """The console user id of the sample holder of `role` at `unit_code`."""
    return f"{role.value.split('_')[0]}-{unit_code}"


async def seed(db: Database, now: datetime, locale: str, timezone: str = DEFAULT_TIMEZONE) -> None:
    """Load the sample street into an empty database (a database that has a grid keeps it), then switch weekly
    meetings on in every sample community whose meetings were never set up, as its secretary would: this week's
    meeting is planned and its announcement scheduled. Run again on the same database, it changes nothing."""
    async with db.read() as tx:
        fresh = not await grid.children(tx, None, Level.STREET)
    if fresh:
        await import_grid(db, SAMPLE_GRID.read_bytes())
        async with db.write() as tx:
            for building in await grid.children(tx, None, Level.BUILDING):
                await _member(tx, Role.BUILDING_LEADER, building.code, building.id, (), now, locale)
            for community in await grid.children(tx, None, Level.COMMUNITY):
                await _member(tx, Role.COMMUNITY_SECRETARY, community.code, community.id, _SECRETARY_DUTIES, now,
                              locale)
            admin = await people.create(tx, Account(CHANNEL, ADMIN_ID, ADMIN_ID), display_name=ADMIN_ID,
                                        locale=locale, now=now)
            await people_service.grant_street_admin(tx, admin)
    async with db.write() as tx:
        await _open_meetings(tx, now, timezone)


async def _member(tx: Tx, role: Role, code: str, unit_id: int, duties: tuple[Duty, ...], now: datetime,
                  locale: str) -> None:
    user_id = member_id(role, code)
    person_id = await people.create(tx, Account(CHANNEL, user_id, user_id), display_name=user_id, locale=locale,
                                    now=now)
    await people.grant_role(tx, person_id, role, unit_id)
    for duty in duties:
        await people.grant_duty(tx, person_id, duty, unit_id)


async def _open_meetings(tx: Tx, now: datetime, timezone: str) -> None:
    """Each sample community's secretary turns weekly meetings on (the defaults: Saturday 09:00), unless that
    community's meetings have been set up before — by an earlier start of the demo, or by the secretary, who may
    have paused them since."""
    for community in await grid.children(tx, None, Level.COMMUNITY):
        secretary = await people.person_for(tx, CHANNEL, member_id(Role.COMMUNITY_SECRETARY, community.code))
        if secretary is None or await meeting_store.settings_of(tx, community.id) is not None:
            continue
        await meetings.configure(tx, community.id, secretary, now, timezone, active=True)


# ---------------------------------------------------------------------------------------------- demo time


class DemoClock:
    """The demo's clock: real time (or `base`), moved on by however far the person has asked with `/later`."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._ahead = timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self._ahead

    async def sleep(self, seconds: float) -> None:
        await self._base.sleep(seconds)

    def move_to(self, moment: datetime) -> None:
        """Jump forward to `moment` (never back)."""
        self._ahead += max(timedelta(0), moment - self.now())


def later_target(words: list[str], now: datetime, timezone: str) -> datetime | None:
    """Where `/later` goes: `2h`, `3d` or `45m` on from `now`; `09:30`, the next time the clock shows it;
    `sat 09:30` (mon … sun), the next such weekday at that time. None when the words are none of these."""
    zone = ZoneInfo(timezone)
    if len(words) == 1 and (found := _DURATION.fullmatch(words[0].lower())):
        step = int(found[1]) * _UNITS[found[2]]
        return now + step if step <= MAX_LATER else None
    if not 1 <= len(words) <= 2 or (clock := meetings.parse_time(words[-1])) is None:
        return None
    local = now.astimezone(zone)
    target = datetime.combine(local.date(), clock, tzinfo=zone)
    if len(words) == 2:
        day = words[0].lower()
        if day not in meetings.WEEKDAYS:
            return None
        target += timedelta(days=(meetings.WEEKDAYS.index(day) - local.weekday()) % 7)
        if target <= local:
            target += timedelta(days=7)
    elif target <= local:
        target += timedelta(days=1)
    return target


class TimeTravel:
    """`/later` in the console demo: the clock moves on to a later moment, and everything scheduled on the way
    (announcements, agendas, reminders, escalations, polls …) fires at its own time, in order, as the scheduler
    would have fired it had the person waited."""

    def __init__(self, db: Database, clock: DemoClock, timezone: str, quiet: QuietHours | None = None) -> None:
        self._db = db
        self._sources = discover().job_sources(quiet)
        self.clock = clock
        self.timezone = timezone

    async def to(self, target: datetime) -> int:
        """Move the clock on to `target`, firing what falls due on the way; returns how much fired here (the
        scheduler, running meanwhile, may fire some of it itself: each thing still fires once)."""
        fired = stalled = 0
        for _ in range(MAX_STEPS):
            async with self._db.read() as tx:
                step = await scheduled_jobs.next_due_at(tx)
            if step is None or step > target or stalled >= MAX_STALLS:
                break  # stalled: what is due keeps failing (it is logged); the scheduler retries it later
            self.clock.move_to(step)
            done = await self._fire()
            fired += done
            stalled = 0 if done else stalled + 1  # nothing fired: the scheduler took it, or it failed
        self.clock.move_to(target)
        return fired + await self._fire()

    async def _fire(self) -> int:
        now = self.clock.now()
        return sum([await source.fire_due(self._db, now, self.timezone) for source in self._sources])
