"""Law talks (法治宣讲) and moral lectures (道德大讲堂): organized by an admin for the street, or by a community
secretary for their community; a notice to the residents in scope, a reminder before it starts, optional RSVP,
check-in, and a satisfaction poll afterwards to those who said yes or checked in. Changes of time or place and a
cancellation reach everyone who was told.

Every scheduled send is a row of `scheduled_jobs`, fired by the scheduler through `LectureJobs` (a `DueWork` source):
a job is marked done in the transaction that writes its pushes to the outbox, so after downtime it is sent once. A
notice whose talk has already begun is not sent late; its organizer is told instead. Times are kept in UTC and shown
in the street's time zone. Every action re-checks who may take it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.conversations.tokens import RATINGS
from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Reply
from bot.domain.people import Person, Role
from bot.domain.refusal import Refusal
from bot.features.lectures import notices, store
from bot.features.lectures.model import Answer, Kind, Lecture, Send
from bot.features.lectures.notices import Standing, local
from bot.services import jobs, notify
from bot.storage import grid, scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Job, Subject

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(hours=2)  # one reminder, this long before the start …
EARLY = time(11, 0)  # … except for a talk that starts before this (local time): then the evening before, at
EVENING = time(19, 0)  # this time, rather than at dawn
POLL_AFTER = timedelta(hours=3)  # the satisfaction poll, this long after the start (talks last up to ~2 h)
CHECK_IN_OPENS = timedelta(hours=1)  # check-in is open from this long before the start until the poll
LISTED_SINCE = timedelta(days=7)  # organizers see talks that started up to this long ago
MAX_AHEAD = timedelta(days=366)
LIMITS = {"title": 60, "speaker": 40, "place": 80, "description": 500, "comment": 500}
SCOPE_LEVELS = (Level.STREET, Level.COMMUNITY, Level.COMPLEX, Level.BUILDING)
_TIME = re.compile(r"(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*T?\s*(\d{1,2})\s*[:：时点]\s*"
                   r"(\d{2})\s*分?", re.ASCII)


class LectureError(Refusal):
    """A refused action on a talk; `retry` where what was typed can be fixed (a time, a text)."""


@dataclass(frozen=True, slots=True)
class Draft:
    kind: Kind
    title: str
    speaker: str
    starts_at: datetime  # UTC
    place: str
    unit_id: int  # the scope
    description: str = ""
    rsvp: bool = False


# ------------------------------------------------------------------------------------------ organizers


async def roots(tx: Tx, person: Person | None, is_admin: bool) -> list[GridUnit]:
    """The units someone may organize talks for: the street for admins, their communities for community
    secretaries, nothing for anyone else. The command line counts as an admin."""
    if is_admin or (person is not None and any(grant.role is Role.STREET_ADMIN for grant in person.roles)):
        return await grid.children(tx, None, Level.STREET)
    if person is None:
        return []
    held = sorted({grant.unit_id for grant in person.roles if grant.role is Role.COMMUNITY_SECRETARY})
    return [unit for unit_id in held if (unit := await grid.by_id(tx, unit_id)) is not None]


async def may_organize(tx: Tx, person: Person | None, is_admin: bool) -> bool:
    return bool(await roots(tx, person, is_admin))


async def check_scope(tx: Tx, person: Person | None, is_admin: bool, unit_id: int) -> GridUnit:
    """The unit, if it is a street, community, complex or building within the organizer's own scope."""
    allowed = {unit.id for unit in await roots(tx, person, is_admin)}
    if not allowed:
        raise LectureError("lecture.denied")
    unit = await grid.by_id(tx, unit_id)
    if unit is None or unit.level not in SCOPE_LEVELS:
        raise LectureError("lecture.error.scope")
    if not any(above.id in allowed for above in await grid.ancestry(tx, unit.id)):
        raise LectureError("lecture.error.scope")
    return unit


async def scope_by_code(tx: Tx, code: str) -> int:
    """The unit a scope code names (the command line's --scope); its rights are checked on creation."""
    unit = await grid.by_code(tx, code.strip())
    if unit is None:
        raise LectureError("lecture.error.no_such_unit", code=code.strip()[:40])
    return unit.id


async def _lecture(tx: Tx, lecture_id: int) -> Lecture:
    found = await store.get(tx, lecture_id)
    if found is None:
        raise LectureError("lecture.error.unknown")
    return found


async def view_as_organizer(tx: Tx, lecture_id: int, person: Person | None, is_admin: bool) -> Lecture:
    lecture = await _lecture(tx, lecture_id)
    await check_scope(tx, person, is_admin, lecture.unit_id)
    return lecture


async def listed_for(tx: Tx, person: Person | None, is_admin: bool, now: datetime) -> list[Lecture]:
    """Talks in the organizer's scope that are coming or started within the last week, soonest first."""
    tops = await roots(tx, person, is_admin)
    units = await grid.subtree(tx, [unit.id for unit in tops]) if tops else []
    return await store.in_units(tx, units, now - LISTED_SINCE) if units else []


async def audience_size(tx: Tx, unit_id: int) -> int:
    """How many residents live in the scope now."""
    return len(await store.residents_in(tx, await grid.subtree(tx, [unit_id])))


# ----------------------------------------------------------------------------------------- validation


def clean(field: str, text: str) -> str:
    """A typed value for `field` (title, speaker, place, description, comment), trimmed and checked."""
    value = text.strip() if field in ("description", "comment") else " ".join(text.split())
    if not value and field not in ("description", "comment"):
        raise LectureError("lecture.error.empty", retry=True)
    if len(value) > LIMITS[field]:
        raise LectureError("lecture.error.too_long", retry=True, limit=LIMITS[field])
    return value


def parse_time(text: str, timezone: str, now: datetime) -> datetime:
    """A time typed in the street's time zone ("2026-12-05 14:30", "12-05 14:30", "12月5日 14:30") as UTC.

    Without a year the next such date is meant. The time must lie ahead, and within a year."""
    found = _TIME.fullmatch(text.strip())
    if found is None:
        raise LectureError("lecture.error.time_format", retry=True)
    year, month, day, hour, minute = found.groups()
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    try:
        moment = datetime(int(year or local_now.year), int(month), int(day), int(hour), int(minute), tzinfo=zone)
        if year is None and moment <= now:
            moment = moment.replace(year=moment.year + 1)
    except ValueError:
        raise LectureError("lecture.error.time_format", retry=True) from None
    if moment <= now:
        raise LectureError("lecture.error.past", retry=True)
    if moment > now + MAX_AHEAD:
        raise LectureError("lecture.error.too_far", retry=True)
    return moment.astimezone(UTC)


# ------------------------------------------------------------------------------------------ organizing


async def create(tx: Tx, draft: Draft, person: Person | None, is_admin: bool, now: datetime,
                 timezone: str) -> Lecture:
    """A new talk: checked, stored, and its notice, reminder and poll scheduled (the notice at once)."""
    unit = await check_scope(tx, person, is_admin, draft.unit_id)
    if draft.starts_at <= now:
        raise LectureError("lecture.error.past", retry=True)
    lecture_id = await store.create(
        tx, kind=draft.kind, title=clean("title", draft.title), speaker=clean("speaker", draft.speaker),
        place=clean("place", draft.place), description=clean("description", draft.description), unit_id=unit.id,
        starts_at=draft.starts_at, rsvp=draft.rsvp, creator_id=None if person is None else person.id,
        created_by="cli" if person is None else f"person:{person.id}", now=now)
    await scheduled_jobs.schedule(tx, Subject.LECTURE, lecture_id, Send.NOTICE, now)
    await _schedule_around(tx, lecture_id, draft.starts_at, now, timezone)
    return await _lecture(tx, lecture_id)


async def _schedule_around(tx: Tx, lecture_id: int, starts_at: datetime, now: datetime, timezone: str) -> None:
    """The reminder (unless its moment has passed already) and the poll."""
    remind_at = reminder_time(starts_at, now, timezone)
    if remind_at is not None:
        await scheduled_jobs.schedule(tx, Subject.LECTURE, lecture_id, Send.REMIND, remind_at)
    await scheduled_jobs.schedule(tx, Subject.LECTURE, lecture_id, Send.POLL, starts_at + POLL_AFTER)


def reminder_time(starts_at: datetime, now: datetime, timezone: str) -> datetime | None:
    """When to remind people of a talk: the evening before one that starts early in the day, else two hours before
    (also when that evening has passed already); None once both moments have passed."""
    zone = ZoneInfo(timezone)
    start = starts_at.astimezone(zone)
    moments = [starts_at - REMIND_BEFORE]
    if start.time() < EARLY:
        moments.insert(0, datetime.combine(start.date() - timedelta(days=1), EVENING, tzinfo=zone).astimezone(UTC))
    return next((moment for moment in moments if moment > now), None)


async def _changeable(tx: Tx, lecture_id: int, person: Person | None, is_admin: bool, now: datetime) -> Lecture:
    lecture = await view_as_organizer(tx, lecture_id, person, is_admin)
    if lecture.cancelled:
        raise LectureError("lecture.error.cancelled")
    if lecture.starts_at <= now:
        raise LectureError("lecture.error.started")
    return lecture


async def change(tx: Tx, lecture_id: int, person: Person | None, is_admin: bool, now: datetime, timezone: str, *,
                 starts_at: datetime | None = None, place: str | None = None) -> tuple[Lecture, int]:
    """A new time and/or place, told to everyone who had the notice; returns the talk and how many were told."""
    old = await _changeable(tx, lecture_id, person, is_admin, now)
    new_place = None if place is None else clean("place", place)
    if starts_at is not None and (starts_at <= now or starts_at > now + MAX_AHEAD):
        raise LectureError("lecture.error.past" if starts_at <= now else "lecture.error.too_far", retry=True)
    if (starts_at is None or starts_at == old.starts_at) and (new_place is None or new_place == old.place):
        raise LectureError("lecture.error.unchanged", retry=True)
    await store.change(tx, old.id, now, starts_at=starts_at, place=new_place)
    if starts_at is not None and starts_at != old.starts_at:
        await scheduled_jobs.cancel(tx, Subject.LECTURE, old.id, (Send.REMIND, Send.POLL), now)
        await _schedule_around(tx, old.id, starts_at, now, timezone)
    lecture = await _lecture(tx, old.id)

    async def render() -> Reply:
        return await notices.changed(tx, old, lecture, timezone, now)

    told = await store.audience(tx, lecture.id)
    await notify.push_all(tx, told, idempotency=f"lecture:{lecture.id}:v{lecture.version}", now=now, render=render)
    return lecture, len(told)


async def cancel(tx: Tx, lecture_id: int, person: Person | None, is_admin: bool, now: datetime,
                 timezone: str) -> tuple[Lecture, int]:
    """Call the talk off: nothing more is sent for it, and everyone who was told hears of it."""
    lecture = await _changeable(tx, lecture_id, person, is_admin, now)
    await store.mark_cancelled(tx, lecture.id, now)
    await scheduled_jobs.cancel(tx, Subject.LECTURE, lecture.id, tuple(Send), now)

    async def render() -> Reply:
        return notices.cancelled(lecture, timezone, now)

    told = await store.audience(tx, lecture.id)
    await notify.push_all(tx, told, idempotency=f"lecture:{lecture.id}:cancelled", now=now, render=render)
    return await _lecture(tx, lecture.id), len(told)


# ------------------------------------------------------------------------------------------- residents


async def _attendee(tx: Tx, lecture_id: int, person: Person) -> tuple[Lecture, store.Attendee]:
    """The talk and the person's place in its audience; only those who were told may answer it."""
    lecture = await _lecture(tx, lecture_id)
    found = await store.attendee(tx, lecture.id, person.id)
    if found is None:
        raise LectureError("auth.denied")
    return lecture, found


async def rsvp(tx: Tx, lecture_id: int, person: Person, yes: bool, now: datetime) -> Lecture:
    lecture, _ = await _attendee(tx, lecture_id, person)
    if not lecture.rsvp:
        raise LectureError("auth.denied")
    if lecture.cancelled:
        raise LectureError("lecture.error.cancelled")
    if lecture.starts_at <= now:
        raise LectureError("lecture.error.rsvp_closed")
    await store.set_rsvp(tx, lecture.id, person.id, Answer.YES if yes else Answer.NO, now)
    return lecture


async def check_in(tx: Tx, lecture_id: int, person: Person, now: datetime, timezone: str) -> Lecture:
    lecture, _ = await _attendee(tx, lecture_id, person)
    if lecture.cancelled:
        raise LectureError("lecture.error.cancelled")
    if now < lecture.starts_at - CHECK_IN_OPENS:
        raise LectureError("lecture.error.too_early", opens=local(lecture.starts_at - CHECK_IN_OPENS, timezone, now))
    if now >= lecture.starts_at + POLL_AFTER:
        raise LectureError("lecture.error.check_in_closed")
    await store.set_checked_in(tx, lecture.id, person.id, now)
    return lecture


async def rate(tx: Tx, lecture_id: int, person: Person, stars: int, now: datetime) -> Lecture:
    """1–5 stars from someone the poll was sent to (they may change their mind)."""
    lecture, found = await _attendee(tx, lecture_id, person)
    if not found.polled:
        raise LectureError("auth.denied")
    if stars not in RATINGS:
        raise LectureError("lecture.error.rating")
    await store.set_rating(tx, lecture.id, person.id, stars, now)
    return lecture


async def comment(tx: Tx, lecture_id: int, person: Person, text: str) -> Lecture:
    """The optional comment after the stars."""
    lecture, found = await _attendee(tx, lecture_id, person)
    if found.rating is None:
        raise LectureError("auth.denied")
    await store.set_comment(tx, lecture.id, person.id, clean("comment", text))
    return lecture


# ------------------------------------------------------------------------------------------- standing


async def standing(tx: Tx, lecture: Lecture) -> Standing:
    """Where the talk's notice stands and the answers so far, for its organizers."""
    return Standing(await notice_outcome(tx, lecture), await store.counts(tx, lecture.id),
                    await store.comments(tx, lecture.id))


async def summary(tx: Tx, lecture: Lecture, timezone: str, now: datetime) -> str:
    """For organizers: the talk, where its notice stands, and the answers so far."""
    return await notices.summary(tx, lecture, await standing(tx, lecture), timezone, now)


async def one_line(tx: Tx, lecture: Lecture, timezone: str, now: datetime) -> str:
    """The talk in one line, for the command line's list."""
    return await notices.one_line(tx, lecture, await standing(tx, lecture), timezone, now)


async def recent(tx: Tx) -> list[Lecture]:
    return await store.recent(tx)


async def notice_outcome(tx: Tx, lecture: Lecture) -> str:
    """"" while the notice waits, else its outcome: sent, late, skipped or cancelled."""
    for job in await scheduled_jobs.of(tx, Subject.LECTURE, lecture.id):
        if job.kind == Send.NOTICE:
            return job.outcome if job.done_at is not None else ""
    return ""


# ------------------------------------------------------------------------------------- scheduled sends


class LectureJobs:
    """The `DueWork` source of talks: notices, reminders and polls kept as rows of `scheduled_jobs`."""

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        """Fire every job due by `now`, each in its own transaction; returns how many fired."""

        async def fire(tx: Tx, job: Job) -> str:
            lecture = await store.get(tx, job.subject_id)
            return "skipped" if lecture is None else await _fire(tx, job, lecture, now, timezone)

        return await jobs.fire_each(db, Subject.LECTURE, now, fire)


async def _fire(tx: Tx, job: Job, lecture: Lecture, now: datetime, timezone: str) -> str:
    if lecture.cancelled:
        return "skipped"
    if job.kind == Send.NOTICE:
        return await _notice(tx, lecture, now, timezone)
    if job.kind == Send.REMIND:
        return await _remind(tx, lecture, job, now, timezone)
    if job.kind == Send.POLL:
        return await _poll(tx, lecture, now)
    return "skipped"


async def _notice(tx: Tx, lecture: Lecture, now: datetime, timezone: str) -> str:
    """Tell every resident in scope; a talk that has begun already is not announced late: its organizer hears."""
    if lecture.starts_at <= now:
        log.warning("lecture %d began before its notice could go out; not sent", lecture.id)
        if lecture.creator_id is not None:

            async def late() -> Reply:
                return notices.late(lecture, timezone, now)

            await notify.push_reply(tx, person_id=lecture.creator_id, idempotency=f"lecture:{lecture.id}:late",
                                    now=now, render=late)
        return "late"

    async def render() -> Reply:
        return await notices.notice(tx, lecture, timezone, now)

    people = await store.residents_in(tx, await grid.subtree(tx, [lecture.unit_id]))
    once = notify.once_per_locale(render)
    for person_id in people:
        if await store.add_audience(tx, lecture.id, person_id, now):
            await notify.push_reply(tx, person_id=person_id, idempotency=f"lecture:{lecture.id}:notice", now=now,
                                    render=once)
    return "sent"


async def _remind(tx: Tx, lecture: Lecture, job: Job, now: datetime, timezone: str) -> str:
    """Those told before the reminder's moment who have not said no; never once the talk has begun."""
    if lecture.starts_at <= now:
        return "late"

    async def render() -> Reply:
        return notices.reminder(lecture, timezone, now)

    await notify.push_all(tx, await store.to_remind(tx, lecture.id, job.due_at),
                          idempotency=f"lecture:{lecture.id}:remind:{job.id}", now=now, render=render)
    return "sent"


async def _poll(tx: Tx, lecture: Lecture, now: datetime) -> str:
    async def render() -> Reply:
        return notices.poll(lecture)

    once = notify.once_per_locale(render)
    for person_id in await store.to_poll(tx, lecture.id):
        await store.set_polled(tx, lecture.id, person_id, now)
        await notify.push_reply(tx, person_id=person_id, idempotency=f"lecture:{lecture.id}:poll", now=now,
                                render=once)
    return "sent"
