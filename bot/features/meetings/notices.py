"""The wording of meetings' pushes: what the services decided, rendered in each reader's language with its
buttons (the services choose who is told and when; `place` renders the meeting's place)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.domain.messages import Button, Reply
from bot.features.meetings.model import Meeting
from bot.features.meetings.tokens import RATE, RSVP, Action, Choice, Rating, Rsvp, press
from bot.i18n import t
from bot.services.dates import local_time

Place = Callable[[], Awaitable[str]]


def when(moment: datetime, timezone: str, now: datetime) -> str:
    """A meeting's moment as people read it, with its day of the week: "11月28日（周六）09:00"."""
    return local_time(moment, timezone, now, weekday=True)


def rsvp_row(meeting_id: int) -> tuple[Button, ...]:
    return tuple(Button(t(label), RSVP.make(Rsvp(meeting_id, choice)))
                 for label, choice in (("meeting.yes", Choice.YES), ("meeting.maybe", Choice.MAYBE),
                                       ("meeting.no", Choice.NO)))


async def announcement(meeting: Meeting, place: Place, now: datetime, timezone: str) -> Reply:
    lines = [t("meeting.announce", when=when(meeting.starts_at, timezone, now), place=await place()),
             t("meeting.announce_topics", until=when(meeting.topics_until, timezone, now))
             if now < meeting.topics_until else ""]
    if meeting.capacity is not None:
        lines.append(t("meeting.capacity_note", capacity=meeting.capacity))
    rows: list[tuple[Button, ...]] = [rsvp_row(meeting.id)]
    if now < meeting.topics_until:
        rows.append((Button(t("meeting.add_topic"), press(Action.ADD_TOPIC, meeting.id)),))
    rows.append((Button(t("meeting.mute"), press(Action.MUTE, meeting.community_id)),))
    return Reply("\n".join(line for line in lines if line), tuple(rows))


async def evening_reminder(meeting: Meeting, place: Place, now: datetime, timezone: str) -> Reply:
    return Reply(t("meeting.remind_eve", when=when(meeting.starts_at, timezone, now), place=await place()),
                 (rsvp_row(meeting.id),))


async def hour_reminder(meeting: Meeting, place: Place, now: datetime, timezone: str) -> Reply:
    return Reply(t("meeting.remind_hour", when=when(meeting.starts_at, timezone, now), place=await place()),
                 ((Button(t("meeting.check_in"), press(Action.CHECK_IN, meeting.id)),),))


async def late_report(meeting: Meeting, late: list[str], now: datetime, timezone: str) -> Reply:
    """To the chair: the notices of `meeting` that could not go out in time."""
    kinds = t("meeting.list_separator").join(t(f"meeting.job.{kind}") for kind in late)
    return Reply(t("meeting.missed", when=when(meeting.starts_at, timezone, now), notices=kinds),
                 ((Button(t("meeting.chair_open"), press(Action.CHAIR, meeting.community_id)),),))


def star_rows(meeting_id: int) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button("⭐" * stars, RATE.make(Rating(meeting_id, stars))),) for stars in range(5, 0, -1))


async def poll(meeting: Meeting, now: datetime, timezone: str) -> Reply:
    return Reply(t("meeting.poll", when=when(meeting.starts_at, timezone, now)), star_rows(meeting.id))


async def promoted(meeting: Meeting, place: Place, now: datetime, timezone: str) -> Reply:
    """To a resident given a seat from the waitlist."""
    return Reply(t("meeting.promoted", when=when(meeting.starts_at, timezone, now), place=await place()),
                 ((Button(t("meeting.cannot_come"), RSVP.make(Rsvp(meeting.id, Choice.NO))),),))


async def called_off(meeting: Meeting, place: Place, now: datetime, timezone: str) -> Reply:
    return Reply(t("meeting.cancelled", when=when(meeting.starts_at, timezone, now), place=await place()))


async def new_place(meeting: Meeting, place: Place, now: datetime, timezone: str) -> Reply:
    return Reply(t("meeting.place_changed", when=when(meeting.starts_at, timezone, now), place=await place()))
