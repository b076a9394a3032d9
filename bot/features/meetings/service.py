"""Saturday meetings (周六说事、居民议事): each community's weekly meeting, planned from its settings, announced to its
residents, answered (RSVP, with an optional capacity and a waitlist), fed with topics until a cut-off, chaired by the
community's secretary (agenda, topics discussed / answered / turned into reports, attendance, outcomes) and rated
afterwards.

Times are planned in the street's time zone and stored in UTC, so a later change of the zone setting does not move a
meeting already planned. Scheduled sends are rows of `scheduled_jobs`; `MeetingJobs` is their `DueWork` source. A job
is marked done before it is sent (in the same transaction as the pushes it writes to the outbox), so after downtime it
goes out once; a notice whose meeting has already begun is not sent late but reported to the chair. The chair may
call off a single meeting before it begins: everyone who heard of it is told, nothing more is sent for it, and that
week is not planned again.

Every action re-checks rights here: only the community's secretary chairs, only its residents answer, submit topics
and check in, only attendees rate. The services decide, write and return what happened; all wording (the pushes,
the labels, a refusal's dates and states) is in notices.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bot.conversations.tokens import RATINGS
from bot.domain.grid import Level
from bot.domain.people import Person, Role
from bot.domain.refusal import Refusal
from bot.features.meetings import notices, store
from bot.features.meetings.model import (
    ACTIONABLE,
    COMING,
    PRE_MEETING,
    Answer,
    Configured,
    Meeting,
    MeetingSettings,
    MeetingStatus,
    Notice,
    Participant,
    PollSummary,
    Sent,
    Topic,
    TopicStatus,
)
from bot.features.meetings.notices import when as when  # where the console finds it
from bot.features.reports import service as issue_service
from bot.features.reports.model import Issue
from bot.services import jobs, notify
from bot.services.dates import WEEKDAYS as WEEKDAYS  # the settings' days, as stored
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Job, Subject

EVENING = time(19, 0)  # the reminder the evening before
POLL_AT = time(10, 0)  # the satisfaction poll, the day after
CHECK_IN_EARLY = timedelta(minutes=30)  # residents may check in this long before the start
MARKING_AFTER = timedelta(days=1)  # the chair may still correct attendance this long after the end
POLL_LATE = timedelta(days=2)  # a poll that could not go out within this is reported instead
RATING_WINDOW = timedelta(days=14)  # attendees may rate until this long after the end
CHAIR_LOOKBACK = timedelta(days=6)  # a started meeting without outcomes stays the chair's focus this long
MAX_TOPIC = 1000  # characters
MAX_TOPICS_EACH = 3  # per resident and meeting
MAX_OUTCOME = 2000
MAX_PLACE = 60
MAX_CAPACITY = 10000
MAX_COMMENT = 500
ANNOUNCE_DAYS = (1, 2, 3, 4, 5, 6)  # how many days ahead a chair may announce the week's meeting
CUTOFF_HOURS = (2, 6, 12, 24, 48, 72)  # how long before the start a chair may close the topics
TIME_SETTINGS = frozenset({"weekday", "start_time", "duration_minutes", "announce_days_ahead", "topic_cutoff_hours"})


class MeetingError(Refusal):
    """A refused action on a meeting."""


# ------------------------------------------------------------------------------------------------ time


def parse_time(text: str) -> time | None:
    """A local clock time typed as "9:00", "09:30" or "19：00" (None when it is none)."""
    hours, sep, minutes = text.strip().replace("：", ":").partition(":")
    if not sep or not (hours.isascii() and hours.isdigit() and minutes.isascii() and minutes.isdigit()):
        return None
    if len(hours) > 2 or len(minutes) != 2 or int(hours) > 23 or int(minutes) > 59:
        return None
    return time(int(hours), int(minutes))


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def occurrence(settings: MeetingSettings, after: datetime, timezone: str) -> tuple[datetime, datetime, datetime]:
    """(start, end, topic cut-off) of the first meeting the settings describe that starts after `after`."""
    zone = ZoneInfo(timezone)
    clock = parse_time(settings.start_time) or time(9, 0)
    day = after.astimezone(zone).date()
    day += timedelta(days=(settings.weekday - day.weekday()) % 7)
    starts = _at(day, clock, zone)
    if starts <= after:
        starts = _at(day + timedelta(days=7), clock, zone)
    return (starts, starts + timedelta(minutes=settings.duration_minutes),
            starts - timedelta(hours=settings.topic_cutoff_hours))


def due_times(meeting: Meeting, announce_days: int, timezone: str) -> dict[Notice, datetime | None]:
    """When each scheduled send of `meeting` falls due (None: not for this meeting)."""
    zone = ZoneInfo(timezone)
    day = meeting.starts_at.astimezone(zone).date()
    hour_before = meeting.starts_at - timedelta(hours=1)
    evening = _at(day - timedelta(days=1), EVENING, zone)
    return {Notice.ANNOUNCE: meeting.starts_at - timedelta(days=announce_days), Notice.AGENDA: meeting.topics_until,
            Notice.REMIND_EVE: evening if evening < hour_before else None, Notice.REMIND_HOUR: hour_before,
            Notice.POLL: _at(day + timedelta(days=1), POLL_AT, zone)}


# ------------------------------------------------------------------------------------------- planning


async def _schedule(tx: Tx, meeting: Meeting, announce_days: int, now: datetime, timezone: str) -> None:
    """Put the meeting's sends in the schedule (or move those not yet done). The announcement of a meeting planned
    late goes out at once; other sends whose time has already passed are left out."""
    for kind, due in due_times(meeting, announce_days, timezone).items():
        if due is None or (due <= now and kind is not Notice.ANNOUNCE):
            await scheduled_jobs.unschedule(tx, Subject.MEETING, meeting.id, (kind,))
        else:
            await scheduled_jobs.schedule_once(tx, Subject.MEETING, meeting.id, kind, max(due, now))


async def _unplanned(tx: Tx, now: datetime) -> list[MeetingSettings]:
    """Communities holding meetings that have none ahead."""
    return [settings for settings in await store.active_settings(tx)
            if await store.next_meeting(tx, settings.community_id, now) is None]


async def _slot(tx: Tx, settings: MeetingSettings, now: datetime,
                timezone: str) -> tuple[datetime, datetime, datetime]:
    """(start, end, topic cut-off) of the community's next meeting after `now`, passing over weeks whose meeting
    the chair called off."""
    starts, ends, until = occurrence(settings, now, timezone)
    while await store.called_off(tx, settings.community_id, starts):
        starts, ends, until = occurrence(settings, starts, timezone)
    return starts, ends, until


async def plan(tx: Tx, now: datetime, timezone: str) -> list[int]:
    """Create the next meeting of every community holding meetings that has none ahead; their ids."""
    created = []
    for settings in await _unplanned(tx, now):
        starts, ends, until = await _slot(tx, settings, now, timezone)
        meeting_id = await store.create_meeting(tx, community_id=settings.community_id, starts_at=starts,
                                                ends_at=ends, topics_until=until, place=settings.place,
                                                capacity=settings.capacity, now=now)
        if meeting_id is None:
            continue
        meeting = await _meeting(tx, meeting_id)
        await _schedule(tx, meeting, settings.announce_days_ahead, now, timezone)
        created.append(meeting_id)
    return created


class MeetingJobs:
    """The `DueWork` of meetings: plans each community's next meeting and fires its scheduled sends."""

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        return await fire_due(db, now, timezone)


async def fire_due(db: Database, now: datetime, timezone: str) -> int:
    """Plan what is missing, then fire every job due by `now`, each in its own transaction; returns how many fired."""
    async with db.read() as tx:
        missing = await _unplanned(tx, now)
    if missing:
        async with db.write() as tx:
            await plan(tx, now, timezone)

    return await jobs.fire_each(db, Subject.MEETING, now, lambda tx, job: _fire(tx, job, now, timezone))


def _late(job: Job, meeting: Meeting, now: datetime) -> bool:
    if job.kind in PRE_MEETING:
        return now >= meeting.starts_at
    return now > job.due_at + POLL_LATE


async def _fire(tx: Tx, job: Job, now: datetime, timezone: str) -> str:
    """Send one job (already marked done); what became of it."""
    meeting = await store.meeting(tx, job.subject_id)
    if meeting is None or meeting.status is MeetingStatus.CANCELLED:
        return Sent.SKIPPED
    if _late(job, meeting, now):
        await _report_late(tx, meeting, job, now, timezone)
        return Sent.LATE
    if job.kind == Notice.REMIND_EVE and now >= meeting.starts_at - timedelta(hours=1):
        return Sent.SKIPPED  # back up only just before the start: the hour-before reminder says it all
    senders: Mapping[Notice, Callable[[Tx, Meeting, datetime, str], Awaitable[None]]] = {
        Notice.ANNOUNCE: _announce, Notice.AGENDA: _send_agenda, Notice.REMIND_EVE: _remind_evening,
        Notice.REMIND_HOUR: _remind_hour, Notice.POLL: _send_poll}
    await senders[Notice(job.kind)](tx, meeting, now, timezone)
    return Sent.SENT


async def _report_late(tx: Tx, meeting: Meeting, job: Job, now: datetime, timezone: str) -> None:
    """Tell the chair which notices of the meeting could not go out in time (with any others just as late)."""
    late = [job.kind]
    for other in await scheduled_jobs.due_of(tx, Subject.MEETING, meeting.id, now):
        if _late(other, meeting, now) and await scheduled_jobs.finish(tx, other.id, now, Sent.LATE):
            late.append(other.kind)

    for chair in await chairs(tx, meeting.community_id):
        await notify.push_reply(tx, person_id=chair, idempotency=f"meeting:{meeting.id}:late:{job.id}", now=now,
                                render=lambda: notices.late_report(meeting, late, now, timezone))



async def _announce(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> None:
    place = await notices.place_of(tx, meeting)
    reached = await notify.push_all(tx, await store.residents(tx, meeting.community_id),
                                    idempotency=f"meeting:{meeting.id}:announce", now=now,
                                    render=lambda: notices.announcement(meeting, place, now, timezone))
    await store.add_audience(tx, meeting.id, reached)


async def _remind_evening(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> None:
    place = await notices.place_of(tx, meeting)
    await notify.push_all(tx, await store.answered(tx, meeting.id, COMING),
                          idempotency=f"meeting:{meeting.id}:remind_eve", now=now,
                          render=lambda: notices.evening_reminder(meeting, place, now, timezone))


async def _remind_hour(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> None:
    place = await notices.place_of(tx, meeting)
    await notify.push_all(tx, await store.answered(tx, meeting.id, COMING),
                          idempotency=f"meeting:{meeting.id}:remind_hour", now=now,
                          render=lambda: notices.hour_reminder(meeting, place, now, timezone))


async def _send_agenda(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> None:
    for chair in await chairs(tx, meeting.community_id):
        await notify.push_reply(tx, person_id=chair, idempotency=f"meeting:{meeting.id}:agenda", now=now,
                                render=lambda: notices.agenda(tx, meeting, now, timezone))


async def _send_poll(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> None:
    await notify.push_all(tx, await store.attendees(tx, meeting.id), idempotency=f"meeting:{meeting.id}:poll",
                          now=now, render=lambda: notices.poll(meeting, now, timezone))


# ------------------------------------------------------------------------------------------- meetings


async def _meeting(tx: Tx, meeting_id: int) -> Meeting:
    found = await store.meeting(tx, meeting_id)
    if found is None:
        raise MeetingError("meeting.error.unknown")
    if found.status is MeetingStatus.CANCELLED:
        raise MeetingError("meeting.error.cancelled")
    return found


# ------------------------------------------------------------------------------------------ who is who


async def community_of(tx: Tx, person: Person) -> int | None:
    """The community the person's home building lies in."""
    if person.building_id is None:
        return None
    return next((unit.id for unit in await grid.ancestry(tx, person.building_id) if unit.level is Level.COMMUNITY),
                None)


async def chairs(tx: Tx, community_id: int) -> list[int]:
    """Who chairs the community's meetings: its secretaries."""
    return await people.role_holders(tx, Role.COMMUNITY_SECRETARY, community_id)


async def chaired_by(tx: Tx, person: Person) -> list[int]:
    """Communities whose meetings `person` chairs."""
    return [grant.unit_id for grant in person.roles if grant.role is Role.COMMUNITY_SECRETARY
            and person.id in await chairs(tx, grant.unit_id)]


async def _require_chair(tx: Tx, community_id: int, person: Person) -> None:
    if person.id not in await chairs(tx, community_id):
        raise MeetingError("auth.denied")


async def _resident_meeting(tx: Tx, meeting_id: int, person: Person) -> Meeting:
    meeting = await _meeting(tx, meeting_id)
    if await community_of(tx, person) != meeting.community_id:
        raise MeetingError("meeting.error.not_resident")
    return meeting


def _require_open(meeting: Meeting) -> None:
    if meeting.status is not MeetingStatus.SCHEDULED:
        raise MeetingError("meeting.error.closed")


async def chair_meeting(tx: Tx, meeting_id: int, person: Person) -> Meeting:
    """The meeting, if `person` chairs it."""
    meeting = await _meeting(tx, meeting_id)
    await _require_chair(tx, meeting.community_id, person)
    return meeting


async def current_for(tx: Tx, community_id: int, now: datetime) -> Meeting | None:
    """The community's meeting under way or ahead."""
    return await store.current_meeting(tx, community_id, now)


async def focus_for_chair(tx: Tx, community_id: int, person: Person, now: datetime) -> Meeting | None:
    """The meeting the chair works on: one that began lately and still lacks outcomes, else the next one."""
    await _require_chair(tx, community_id, person)
    started = await store.started_unclosed(tx, community_id, now, now - CHAIR_LOOKBACK)
    return started or await store.current_meeting(tx, community_id, now)


# ------------------------------------------------------------------------------------------- residents


async def rsvp(tx: Tx, meeting_id: int, person: Person, answer: Answer, now: datetime, timezone: str) -> Answer:
    """Answer yes / maybe / no (changeable until the start); a yes beyond the capacity joins the waitlist. A seat
    given up goes to the first on the waitlist, who is told. Returns the answer recorded."""
    if answer not in (Answer.YES, Answer.MAYBE, Answer.NO):
        raise MeetingError("auth.denied")
    meeting = await _resident_meeting(tx, meeting_id, person)
    _require_open(meeting)
    if now >= meeting.starts_at:
        raise MeetingError("meeting.error.started")
    before = await store.answer_of(tx, meeting.id, person.id)
    if answer is Answer.YES and before in (Answer.YES, Answer.WAITLIST):
        return before
    if answer is Answer.YES and meeting.capacity is not None:
        if (await store.answer_counts(tx, meeting.id)).yes >= meeting.capacity:
            answer = Answer.WAITLIST
    if answer != before:
        await store.set_answer(tx, meeting.id, person.id, answer, now)
        if before is Answer.YES:
            await _promote(tx, meeting, now, timezone)
    return answer


async def waitlist_position(tx: Tx, meeting_id: int, person_id: int) -> int:
    line = await store.waitlist(tx, meeting_id)
    return line.index(person_id) + 1 if person_id in line else 0


async def _promote(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> list[int]:
    """Give free seats to the waitlist, first in line first; each promoted resident is told."""
    promoted: list[int] = []
    place = await notices.place_of(tx, meeting)

    while True:
        line = await store.waitlist(tx, meeting.id)
        if not line or (meeting.capacity is not None
                        and (await store.answer_counts(tx, meeting.id)).yes >= meeting.capacity):
            return promoted
        person_id = line[0]
        await store.set_answer(tx, meeting.id, person_id, Answer.YES, now)
        promoted.append(person_id)
        await notify.push_reply(tx, person_id=person_id, now=now,
                                render=lambda: notices.promoted(meeting, place, now, timezone),
                                idempotency=f"meeting:{meeting.id}:promoted:{person_id}:{_stamp(now)}")


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M%S%f")


async def topics_open(tx: Tx, meeting_id: int, person: Person, now: datetime, timezone: str) -> Meeting:
    """The meeting, if `person` may still submit a topic to it."""
    meeting = await _resident_meeting(tx, meeting_id, person)
    _require_open(meeting)
    if now >= meeting.topics_until:
        raise MeetingError("meeting.error.topics_closed", until=when(meeting.topics_until, timezone, now))
    if len(await store.topics_by(tx, meeting.id, person.id)) >= MAX_TOPICS_EACH:
        raise MeetingError("meeting.error.topic_limit", limit=MAX_TOPICS_EACH)
    return meeting


async def submit_topic(tx: Tx, meeting_id: int, person: Person, text: str, voice_ref: str, photo_ref: str,
                       now: datetime, timezone: str) -> Topic:
    """A topic for the agenda: words or a voice note, and optionally a photo."""
    meeting = await topics_open(tx, meeting_id, person, now, timezone)
    text = text.strip()
    if not text and not voice_ref:
        raise MeetingError("meeting.error.topic_empty")
    if len(text) > MAX_TOPIC:
        raise MeetingError("meeting.error.topic_too_long", limit=MAX_TOPIC)
    topic_id = await store.add_topic(tx, meeting.id, person.id, text, voice_ref, photo_ref, now)
    return await _topic(tx, topic_id)


async def check_in(tx: Tx, meeting_id: int, person: Person, now: datetime, timezone: str) -> bool:
    """"I'm here", during the meeting (from a little before the start); False when already checked in."""
    meeting = await _resident_meeting(tx, meeting_id, person)
    _require_open(meeting)
    if not meeting.starts_at - CHECK_IN_EARLY <= now < meeting.ends_at:
        raise MeetingError("meeting.error.not_now", when=when(meeting.starts_at, timezone, now))
    return await store.check_in(tx, meeting.id, person.id, now, None)


async def rate(tx: Tx, meeting_id: int, person: Person, stars: int, comment: str, now: datetime) -> None:
    """An attendee's satisfaction (1–5) and optional comment; rating again replaces it."""
    meeting = await _meeting(tx, meeting_id)
    if not await store.is_present(tx, meeting.id, person.id):
        raise MeetingError("meeting.error.not_attendee")
    if stars not in RATINGS:
        raise MeetingError("auth.denied")
    if not meeting.starts_at <= now < meeting.ends_at + RATING_WINDOW:
        raise MeetingError("meeting.error.poll_closed")
    await store.save_poll(tx, meeting.id, person.id, stars, comment.strip()[:MAX_COMMENT], now)


async def set_muted(tx: Tx, community_id: int, person: Person, muted: bool, now: datetime) -> None:
    """Stop or resume the announcements of the person's community."""
    if muted and await community_of(tx, person) != community_id:
        raise MeetingError("meeting.error.not_resident")
    await store.set_muted(tx, person.id, community_id, muted, now)


async def is_muted(tx: Tx, person: Person, community_id: int) -> bool:
    return await store.is_muted(tx, person.id, community_id)


# ------------------------------------------------------------------------------------------------ chair


async def _topic(tx: Tx, topic_id: int) -> Topic:
    found = await store.topic(tx, topic_id)
    if found is None:
        raise MeetingError("meeting.error.unknown_topic")
    return found


async def chair_topic(tx: Tx, topic_id: int, person: Person) -> tuple[Topic, Meeting]:
    """The topic and its meeting, if `person` chairs it."""
    topic = await _topic(tx, topic_id)
    return topic, await chair_meeting(tx, topic.meeting_id, person)


async def actionable_topic(tx: Tx, topic_id: int, person: Person,
                           allowed: frozenset[TopicStatus] = ACTIONABLE) -> tuple[Topic, Meeting]:
    """The topic and its meeting, if `person` chairs it and may still act on the topic."""
    topic, meeting = await chair_topic(tx, topic_id, person)
    _require_open(meeting)
    if topic.status not in allowed:
        raise MeetingError("meeting.error.topic_state", status=notices.topic_status(topic.status))
    return topic, meeting


async def mark_discussed(tx: Tx, topic_id: int, person: Person, now: datetime) -> Topic:
    topic, _ = await actionable_topic(tx, topic_id, person, frozenset({TopicStatus.OPEN}))
    await store.update_topic(tx, topic.id, now, status=TopicStatus.DISCUSSED)
    return await _topic(tx, topic.id)


async def answer_topic(tx: Tx, topic_id: int, person: Person, answer: str, now: datetime, timezone: str) -> Topic:
    """The chair's answer on a topic; its submitter gets it at once."""
    topic, _ = await actionable_topic(tx, topic_id, person)
    answer = answer.strip()
    if not answer:
        raise MeetingError("meeting.error.answer_empty")
    if len(answer) > MAX_TOPIC:
        raise MeetingError("meeting.error.topic_too_long", limit=MAX_TOPIC)
    await store.update_topic(tx, topic.id, now, status=TopicStatus.ANSWERED, outcome=answer)
    answered = await _topic(tx, topic.id)
    if answered.submitter_id is not None:
        await notify.push_reply(tx, person_id=answered.submitter_id, now=now,
                                idempotency=f"meeting:topic:{topic.id}:answered",
                                render=lambda: notices.topic_answered(answered))
    return answered


async def report_topic(tx: Tx, topic_id: int, person: Person, category: str, now: datetime, timezone: str) -> Issue:
    """Turn a topic into a report routed like any other: its submitter reports it, at the community."""
    topic, meeting = await actionable_topic(tx, topic_id, person)
    reporter = None if topic.submitter_id is None else await people.by_id(tx, topic.submitter_id)
    if reporter is None:
        raise MeetingError("meeting.error.submitter_gone")
    draft = issue_service.Draft(category=category, description=topic.text, unit_id=meeting.community_id,
                                voice_ref=topic.voice_ref, photos=(topic.photo_ref,) if topic.photo_ref else ())
    try:
        issue = await issue_service.submit(tx, reporter, draft, now, timezone)
    except issue_service.IssueError as error:  # said, but ends the flow: choosing another category fixes nothing
        refused = MeetingError(error.key)
        refused.params = error.params
        raise refused from error
    await store.update_topic(tx, topic.id, now, status=TopicStatus.REPORTED, issue_id=issue.id)
    await notify.push_reply(tx, person_id=reporter.id, idempotency=f"meeting:topic:{topic.id}:reported", now=now,
                            render=lambda: notices.topic_reported(topic, issue))
    return issue


async def participants(tx: Tx, meeting_id: int, person: Person) -> list[Participant]:
    await chair_meeting(tx, meeting_id, person)
    return await store.participants(tx, meeting_id)


async def mark_attendance(tx: Tx, meeting_id: int, resident_id: int, person: Person, now: datetime,
                          timezone: str) -> bool:
    """The chair marks a resident present, or (pressed again) absent; returns whether they are present now."""
    meeting = await chair_meeting(tx, meeting_id, person)
    _require_open(meeting)
    if not meeting.starts_at - CHECK_IN_EARLY <= now < meeting.ends_at + MARKING_AFTER:
        raise MeetingError("meeting.error.not_now", when=when(meeting.starts_at, timezone, now))
    resident = await people.by_id(tx, resident_id)
    if resident is None or await community_of(tx, resident) != meeting.community_id:
        raise MeetingError("meeting.error.not_resident")
    if await store.is_present(tx, meeting.id, resident.id):
        await store.uncheck(tx, meeting.id, resident.id)
        return False
    await store.check_in(tx, meeting.id, resident.id, now, person.id)
    return True


async def outcome_meeting(tx: Tx, meeting_id: int, person: Person, now: datetime) -> Meeting:
    """The meeting, if `person` chairs it and may enter its outcomes: it has begun and has none yet."""
    meeting = await chair_meeting(tx, meeting_id, person)
    _require_open(meeting)
    if now < meeting.starts_at:
        raise MeetingError("meeting.error.not_started")
    return meeting


async def enter_outcome(tx: Tx, meeting_id: int, person: Person, outcome: str, now: datetime,
                        timezone: str) -> int:
    """The chair's summary, once the meeting has begun: it goes to the attendees and to everyone who submitted a
    topic, each submitter with what became of their own. Returns how many people are told."""
    meeting = await outcome_meeting(tx, meeting_id, person, now)
    outcome = outcome.strip()
    if not outcome:
        raise MeetingError("meeting.error.outcome_empty")
    if len(outcome) > MAX_OUTCOME:
        raise MeetingError("meeting.error.topic_too_long", limit=MAX_OUTCOME)
    await store.update_meeting(tx, meeting.id, status=MeetingStatus.HELD, outcome=outcome, outcome_by=person.id,
                               outcome_at=now)
    held = await _meeting(tx, meeting.id)
    topics = await store.topics_of(tx, meeting.id)
    audience = list(dict.fromkeys([*await store.attendees(tx, meeting.id),
                                   *(topic.submitter_id for topic in topics if topic.submitter_id is not None)]))
    for person_id in audience:
        own = [topic for topic in topics if topic.submitter_id == person_id]
        await notify.push_reply(tx, person_id=person_id, idempotency=f"meeting:{meeting.id}:outcome", now=now,
                                render=partial(notices.outcome, tx, held, own, now, timezone))
    return len(audience)


async def poll_summary(tx: Tx, meeting_id: int) -> PollSummary:
    return await store.poll_summary(tx, meeting_id)


async def cancellable(tx: Tx, meeting_id: int, person: Person, now: datetime) -> tuple[Meeting, list[int]]:
    """The meeting, if `person` chairs it and it may still be called off (it has not begun), and who would be told:
    everyone who heard of it (announced to, answered, raised a topic)."""
    meeting = await chair_meeting(tx, meeting_id, person)
    _require_open(meeting)
    if now >= meeting.starts_at:
        raise MeetingError("meeting.error.cancel_started")
    return meeting, await store.told(tx, meeting.id)


async def cancel(tx: Tx, meeting_id: int, person: Person, now: datetime, timezone: str) -> tuple[Meeting, int]:
    """The chair calls off one meeting before it begins: everyone who heard of it is told, its reminders and other
    sends are taken off the schedule, its buttons answer that it is cancelled, and the next week's meeting is
    planned (the weekly settings stay as they are). Returns the meeting and how many people are told."""
    meeting, told = await cancellable(tx, meeting_id, person, now)
    await store.update_meeting(tx, meeting.id, status=MeetingStatus.CANCELLED, outcome_by=person.id, outcome_at=now)
    await scheduled_jobs.unschedule(tx, Subject.MEETING, meeting.id, tuple(Notice))
    place = await notices.place_of(tx, meeting)
    await notify.push_all(tx, told, idempotency=f"meeting:{meeting.id}:cancelled", now=now,
                          render=lambda: notices.called_off(meeting, place, now, timezone))
    await plan(tx, now, timezone)
    return meeting, len(told)


# ----------------------------------------------------------------------------------------------- settings


async def settings_for(tx: Tx, community_id: int, person: Person) -> MeetingSettings | None:
    await _require_chair(tx, community_id, person)
    return await store.settings_of(tx, community_id)


def _check_settings(changes: Mapping[str, object]) -> None:
    place = changes.get("place")
    if isinstance(place, str) and (len(place) > MAX_PLACE or not place.isprintable()):
        raise MeetingError("meeting.error.place_too_long", limit=MAX_PLACE)
    capacity = changes.get("capacity")
    if "capacity" in changes and capacity is not None and not (
            isinstance(capacity, int) and 1 <= capacity <= MAX_CAPACITY):
        raise MeetingError("meeting.error.capacity", limit=MAX_CAPACITY)
    weekday = changes.get("weekday")
    if "weekday" in changes and not (isinstance(weekday, int) and 0 <= weekday <= 6):
        raise MeetingError("auth.denied")
    start = changes.get("start_time")
    if "start_time" in changes and (not isinstance(start, str) or parse_time(start) is None):
        raise MeetingError("meeting.error.time")
    days = changes.get("announce_days_ahead")
    if "announce_days_ahead" in changes and days not in ANNOUNCE_DAYS:
        raise MeetingError("auth.denied")
    hours = changes.get("topic_cutoff_hours")
    if "topic_cutoff_hours" in changes and hours not in CUTOFF_HOURS:
        raise MeetingError("auth.denied")
    unknown = set(changes) - {"place", "capacity", "weekday", "start_time", "active", "announce_days_ahead",
                              "topic_cutoff_hours"}
    if unknown:
        raise ValueError(f"not settable from a chat: {sorted(unknown)}")


async def configure(tx: Tx, community_id: int, person: Person, now: datetime, timezone: str,
                    **changes: object) -> Configured:
    """The chair changes the community's meeting settings (turning meetings on creates them with the defaults).

    Place and capacity apply to the meeting ahead at once (those who answered are told of a new place; a larger
    capacity promotes the waitlist). A new day or time moves the meeting ahead only while it is unannounced;
    otherwise it applies from the one after. Pausing cancels an unannounced meeting ahead. Returns what it did.
    """
    await _require_chair(tx, community_id, person)
    _check_settings(changes)
    current = await store.settings_of(tx, community_id)
    if current is not None:
        days = changes.get("announce_days_ahead", current.announce_days_ahead)
        hours = changes.get("topic_cutoff_hours", current.topic_cutoff_hours)
        if isinstance(days, int) and isinstance(hours, int) and hours >= days * 24:
            raise MeetingError("meeting.error.cutoff_before_notice", days=days, hours=hours)
    if "start_time" in changes:
        clock = parse_time(str(changes["start_time"]))
        assert clock is not None
        changes["start_time"] = clock.strftime("%H:%M")
    await store.save_settings(tx, community_id, now, **changes)
    settings = await store.settings_of(tx, community_id)
    assert settings is not None
    ahead = await store.next_meeting(tx, community_id, now)
    if ahead is None:
        if settings.active:
            await plan(tx, now, timezone)
        return Configured.SAVED if settings.active else Configured.PAUSED
    announced = await scheduled_jobs.done(tx, Subject.MEETING, ahead.id, Notice.ANNOUNCE)
    if not settings.active:
        if announced:
            return Configured.PAUSED_KEPT
        await store.update_meeting(tx, ahead.id, status=MeetingStatus.CANCELLED)
        await scheduled_jobs.unschedule(tx, Subject.MEETING, ahead.id, tuple(Notice))
        return Configured.PAUSED
    result = Configured.SAVED
    if "place" in changes and changes["place"] != ahead.place:
        await store.update_meeting(tx, ahead.id, place=settings.place)
        if announced:
            await _tell_new_place(tx, await _meeting(tx, ahead.id), now, timezone)
    if "capacity" in changes and changes["capacity"] != ahead.capacity:
        await store.update_meeting(tx, ahead.id, capacity=settings.capacity)
        await _promote(tx, await _meeting(tx, ahead.id), now, timezone)
    if TIME_SETTINGS & set(changes):
        if announced:
            result = Configured.NEXT_WEEK
        else:
            starts, ends, until = await _slot(tx, settings, now, timezone)
            await store.forget_cancelled(tx, community_id, starts)
            await store.update_meeting(tx, ahead.id, starts_at=starts, ends_at=ends, topics_until=until)
            await _schedule(tx, await _meeting(tx, ahead.id), settings.announce_days_ahead, now, timezone)
    return result


async def _tell_new_place(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> None:
    place = await notices.place_of(tx, meeting)
    await notify.push_all(tx, await store.answered(tx, meeting.id, (*COMING, Answer.WAITLIST)),
                          idempotency=f"meeting:{meeting.id}:place:{_stamp(now)}", now=now,
                          render=lambda: notices.new_place(meeting, place, now, timezone))
