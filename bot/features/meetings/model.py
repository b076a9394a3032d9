"""Saturday meetings (周六说事): a community's settings, its meetings, the answers, topics and attendance, and the
states they move through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"  # the outcomes were sent
    CANCELLED = "cancelled"  # called off by the chair, or dropped by pausing the meetings


class TopicStatus(StrEnum):
    OPEN = "open"
    DISCUSSED = "discussed"
    ANSWERED = "answered"  # the chair's answer was pushed to the submitter
    REPORTED = "reported"  # turned into a report (issue)


# What the chair may still do something with.
ACTIONABLE = frozenset({TopicStatus.OPEN, TopicStatus.DISCUSSED})


class Answer(StrEnum):
    """A resident's answer (RSVP); a yes beyond the capacity is recorded as the waitlist."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"
    WAITLIST = "waitlist"


# Those reminded of the meeting (coming or perhaps).
COMING = (Answer.YES, Answer.MAYBE)


class Notice(StrEnum):
    """A meeting's scheduled sends (the `kind` of its `scheduled_jobs` rows)."""

    ANNOUNCE = "announce"
    AGENDA = "agenda"  # to the chair, at the topics' cut-off
    REMIND_EVE = "remind_eve"
    REMIND_HOUR = "remind_hour"
    POLL = "poll"  # the satisfaction poll, the day after


# Notices that make no sense once the meeting has begun.
PRE_MEETING = (Notice.ANNOUNCE, Notice.AGENDA, Notice.REMIND_EVE, Notice.REMIND_HOUR)


class Sent(StrEnum):
    """What became of a scheduled send (the job's outcome)."""

    SENT = "sent"
    LATE = "late"  # not sent late but reported to the chair
    SKIPPED = "skipped"


class Configured(StrEnum):
    """What a change of the settings did to the meeting ahead (the value is the catalog key of the chair's note)."""

    SAVED = "meeting.settings.saved"  # applied, to the meeting ahead too where it could be
    PAUSED = "meeting.settings.paused"  # off, and an unannounced meeting ahead dropped
    PAUSED_KEPT = "meeting.settings.paused_kept"  # off, but the meeting ahead was announced: it stays
    NEXT_WEEK = "meeting.settings.next_week"  # a new day or time, from the meeting after the announced one


@dataclass(frozen=True, slots=True)
class MeetingSettings:
    community_id: int
    weekday: int  # Monday 0 … Sunday 6
    start_time: str  # "HH:MM", the street's local time
    duration_minutes: int
    place: str  # empty: "at the community"
    capacity: int | None
    announce_days_ahead: int
    topic_cutoff_hours: int
    active: bool


@dataclass(frozen=True, slots=True)
class Meeting:
    id: int
    community_id: int
    starts_at: datetime
    ends_at: datetime
    topics_until: datetime
    place: str
    capacity: int | None
    status: MeetingStatus
    outcome: str
    outcome_at: datetime | None  # when the outcomes were sent; for a cancelled meeting, when the chair called it off


@dataclass(frozen=True, slots=True)
class Topic:
    id: int
    meeting_id: int
    submitter_id: int | None
    text: str
    voice_ref: str
    photo_ref: str
    status: TopicStatus
    issue_id: int | None
    outcome: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone who answered or checked in, as the chair's attendance list shows them."""

    person_id: int
    name: str
    room: str
    answer: Answer | None  # None when they checked in without answering
    present: bool


@dataclass(frozen=True, slots=True)
class AnswerCounts:
    """How many gave each answer."""

    yes: int = 0
    no: int = 0
    maybe: int = 0
    waitlist: int = 0


@dataclass(frozen=True, slots=True)
class PollSummary:
    """The satisfaction poll of one meeting: how many rated it, and their average stars (0 when none)."""

    count: int
    average: float
