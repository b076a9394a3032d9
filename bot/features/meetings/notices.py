"""The wording of meetings: what the services decided or did, rendered in each reader's language with its buttons
(the services choose who is told and when; `place` renders the meeting's place). Notices read what they show
(names, places, counts) but write nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.conversations.tokens import RATINGS, Ref
from bot.domain.messages import Button, Reply
from bot.features.meetings import store
from bot.features.meetings.model import Configured, Meeting, Topic, TopicStatus
from bot.features.meetings.tokens import RATE, RSVP, Action, Choice, Rating, Rsvp, press
from bot.features.reports import store as issue_store
from bot.features.reports.model import Issue
from bot.features.reports.tokens import VIEW
from bot.i18n import t
from bot.services.dates import local_time
from bot.storage import grid, people
from bot.storage.db import Tx

Place = Callable[[], Awaitable[str]]


def when(moment: datetime, timezone: str, now: datetime) -> str:
    """A meeting's moment as people read it, with its day of the week: "11月28日（周六）09:00"."""
    return local_time(moment, timezone, now, weekday=True)


async def place_of(tx: Tx, meeting: Meeting) -> Place:
    """The meeting's place as people read it (rendered later, in each reader's locale)."""
    community = await grid.by_id(tx, meeting.community_id)
    name = community.name if community is not None else ""

    async def render() -> str:
        return meeting.place or t("meeting.place_default", community=name)

    return render


async def counts_text(tx: Tx, meeting: Meeting) -> str:
    """The live counts the chair sees."""
    counts = await store.answer_counts(tx, meeting.id)
    capacity = "" if meeting.capacity is None else f"/{meeting.capacity}"
    return t("meeting.counts", yes=f"{counts.yes}{capacity}", maybe=counts.maybe, no=counts.no,
             waitlist=counts.waitlist, present=len(await store.attendees(tx, meeting.id)),
             topics=len(await store.topics_of(tx, meeting.id)))


def topic_status(status: TopicStatus) -> str:
    return t(f"meeting.topic_status.{status}")


def topic_label(topic: Topic, limit: int = 40) -> str:
    text = " ".join(topic.text.split())
    if not text:
        return t("meeting.voice_topic")
    return text if len(text) <= limit else text[:limit - 1] + "…"


async def person_label(tx: Tx, person_id: int | None) -> str:
    """A resident as the chair sees them: their name and room."""
    person = None if person_id is None else await people.by_id(tx, person_id)
    if person is None:
        return t("meeting.someone")
    return " ".join(part for part in (person.display_name or t("meeting.someone"), person.room) if part)


async def agenda_text(tx: Tx, meeting: Meeting) -> str:
    topics = await store.topics_of(tx, meeting.id)
    if not topics:
        return t("meeting.agenda_empty")
    lines = [t("meeting.agenda_title", count=len(topics))]
    for number, topic in enumerate(topics, start=1):
        lines.append(t("meeting.agenda_line", number=number, status=topic_status(topic.status),
                       topic=topic_label(topic), who=await person_label(tx, topic.submitter_id)))
    return "\n".join(lines)


async def decision_text(tx: Tx, topic: Topic) -> str:
    """What became of one topic, as its submitter reads it."""
    if topic.status is TopicStatus.ANSWERED:
        return t("meeting.decision.answered", answer=topic.outcome)
    if topic.status is TopicStatus.REPORTED:
        issue = None if topic.issue_id is None else await issue_store.get(tx, topic.issue_id)
        return t("meeting.decision.reported", ref=issue.ref) if issue else t("meeting.decision.reported_unnumbered")
    return t(f"meeting.decision.{topic.status}")


def settings_note(result: Configured) -> Reply:
    """To the chair: what a change of the settings did."""
    return Reply(t(result))


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


async def agenda(tx: Tx, meeting: Meeting, now: datetime, timezone: str) -> Reply:
    """To the chair, at the topics' cut-off: the counts and the agenda."""
    text = "\n".join([t("meeting.agenda_push", when=when(meeting.starts_at, timezone, now)),
                      await counts_text(tx, meeting), await agenda_text(tx, meeting)])
    return Reply(text, ((Button(t("meeting.agenda_open"), press(Action.AGENDA, meeting.id)),
                         Button(t("meeting.chair_open"), press(Action.CHAIR, meeting.community_id))),))


async def outcome(tx: Tx, meeting: Meeting, own: list[Topic], now: datetime, timezone: str) -> Reply:
    """The outcomes of a held meeting, with what became of the reader's `own` topics."""
    lines = [t("meeting.outcome", when=when(meeting.starts_at, timezone, now), outcome=meeting.outcome)]
    for topic in own:
        lines.append(t("meeting.your_topic", topic=topic_label(topic), decision=await decision_text(tx, topic)))
    return Reply("\n\n".join(lines))


async def topic_answered(topic: Topic) -> Reply:
    """To a topic's submitter: the chair's answer."""
    return Reply(t("meeting.topic_answered", topic=topic_label(topic), answer=topic.outcome))


async def topic_reported(topic: Topic, issue: Issue) -> Reply:
    """To a topic's submitter: it became a report, filed in their name."""
    return Reply(t("meeting.topic_reported", topic=topic_label(topic), ref=issue.ref),
                 ((Button(t("issue.view"), VIEW.make(Ref(issue.id))),),))


def star_rows(meeting_id: int) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button("⭐" * stars, RATE.make(Rating(meeting_id, stars))),) for stars in reversed(RATINGS))


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
