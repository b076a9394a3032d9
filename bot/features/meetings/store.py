"""Saturday meetings repository: settings, meetings, answers (RSVP), topics, attendance, polls and mutes (the
scheduled sends are rows of `scheduled_jobs`, subject 'meeting')."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.features.meetings.model import (
    Answer,
    AnswerCounts,
    Meeting,
    MeetingSettings,
    MeetingStatus,
    Participant,
    PollSummary,
    Topic,
    TopicStatus,
)
from bot.storage.db import Row, Tx

# ------------------------------------------------------------------------------------------ settings

_SETTINGS = ("SELECT community_id, weekday, start_time, duration_minutes, place, capacity, announce_days_ahead, "
             "topic_cutoff_hours, active FROM meeting_settings")
SETTING_FIELDS = frozenset({"weekday", "start_time", "duration_minutes", "place", "capacity", "announce_days_ahead",
                            "topic_cutoff_hours", "active"})


def _settings(row: Row) -> MeetingSettings:
    return MeetingSettings(row["community_id"], row["weekday"], row["start_time"], row["duration_minutes"],
                           row["place"], row["capacity"], row["announce_days_ahead"], row["topic_cutoff_hours"],
                           bool(row["active"]))


async def settings_of(tx: Tx, community_id: int) -> MeetingSettings | None:
    row = await tx.one(f"{_SETTINGS} WHERE community_id = ?", (community_id,))
    return _settings(row) if row else None


async def active_settings(tx: Tx) -> list[MeetingSettings]:
    rows = await tx.all(f"{_SETTINGS} WHERE active = 1 ORDER BY community_id")
    return [_settings(row) for row in rows]


async def save_settings(tx: Tx, community_id: int, now: datetime, **fields: object) -> None:
    """Create the community's settings with the defaults if needed, then set the named columns (names are code)."""
    if not set(fields) <= SETTING_FIELDS:
        raise ValueError(f"unknown meeting settings: {sorted(set(fields) - SETTING_FIELDS)}")
    await tx.execute("INSERT INTO meeting_settings (community_id, updated_at) VALUES (?, ?) "
                     "ON CONFLICT (community_id) DO NOTHING", (community_id, iso(now)))
    if fields:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await tx.execute(f"UPDATE meeting_settings SET {assignments}, updated_at = ? "  # noqa: S608
                         "WHERE community_id = ?", (*fields.values(), iso(now), community_id))


# ------------------------------------------------------------------------------------------ meetings

_MEETING = ("SELECT id, community_id, starts_at, ends_at, topics_until, place, capacity, status, outcome, outcome_at "
            "FROM meetings")


def _meeting(row: Row) -> Meeting:
    return Meeting(row["id"], row["community_id"], parse_iso(row["starts_at"]), parse_iso(row["ends_at"]),
                   parse_iso(row["topics_until"]), row["place"], row["capacity"], MeetingStatus(row["status"]),
                   row["outcome"],
                   parse_iso(row["outcome_at"]) if row["outcome_at"] else None)


async def create_meeting(tx: Tx, *, community_id: int, starts_at: datetime, ends_at: datetime,
                         topics_until: datetime, place: str, capacity: int | None, now: datetime) -> int | None:
    """A new meeting (or one dropped by pausing at the same moment, back on); None when one is already planned
    then, or when the chair called that one off."""
    value = await tx.scalar(
        """INSERT INTO meetings (community_id, starts_at, ends_at, topics_until, place, capacity, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (community_id, starts_at) DO UPDATE SET status = ?, ends_at = excluded.ends_at,
               topics_until = excluded.topics_until, place = excluded.place, capacity = excluded.capacity
           WHERE meetings.status = ? AND meetings.outcome_at IS NULL
           RETURNING id""",
        (community_id, iso(starts_at), iso(ends_at), iso(topics_until), place, capacity, iso(now),
         MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED))
    return None if value is None else int(value)


async def forget_cancelled(tx: Tx, community_id: int, starts_at: datetime) -> None:
    """Drop a meeting that pausing cancelled at `starts_at`, to make room for one moved there."""
    await tx.execute("DELETE FROM meetings WHERE community_id = ? AND starts_at = ? AND status = ? "
                     "AND outcome_at IS NULL", (community_id, iso(starts_at), MeetingStatus.CANCELLED))


async def called_off(tx: Tx, community_id: int, starts_at: datetime) -> bool:
    """Whether the chair called off the community's meeting at `starts_at` (a cancelled meeting with the moment it
    was called off in `outcome_at`; pausing leaves that empty): that week is not planned again."""
    return bool(await tx.scalar("SELECT COUNT(*) FROM meetings WHERE community_id = ? AND starts_at = ? "
                                "AND status = ? AND outcome_at IS NOT NULL",
                                (community_id, iso(starts_at), MeetingStatus.CANCELLED)))


async def meeting(tx: Tx, meeting_id: int) -> Meeting | None:
    row = await tx.one(f"{_MEETING} WHERE id = ?", (meeting_id,))
    return _meeting(row) if row else None


async def next_meeting(tx: Tx, community_id: int, after: datetime) -> Meeting | None:
    """The community's first meeting (not cancelled) starting after `after`."""
    row = await tx.one(f"{_MEETING} WHERE community_id = ? AND status != ? AND starts_at > ? "
                       "ORDER BY starts_at LIMIT 1", (community_id, MeetingStatus.CANCELLED, iso(after)))
    return _meeting(row) if row else None


async def current_meeting(tx: Tx, community_id: int, now: datetime) -> Meeting | None:
    """The meeting under way or the next one ahead (not cancelled)."""
    row = await tx.one(f"{_MEETING} WHERE community_id = ? AND status != ? AND ends_at > ? "
                       "ORDER BY starts_at LIMIT 1", (community_id, MeetingStatus.CANCELLED, iso(now)))
    return _meeting(row) if row else None


async def started_unclosed(tx: Tx, community_id: int, now: datetime, since: datetime) -> Meeting | None:
    """The latest meeting that started between `since` and `now` and has no outcomes yet."""
    row = await tx.one(f"{_MEETING} WHERE community_id = ? AND status = ? AND starts_at <= ? "
                       "AND starts_at > ? ORDER BY starts_at DESC LIMIT 1",
                       (community_id, MeetingStatus.SCHEDULED, iso(now), iso(since)))
    return _meeting(row) if row else None


async def latest_held(tx: Tx, community_id: int) -> Meeting | None:
    row = await tx.one(f"{_MEETING} WHERE community_id = ? AND status = ? ORDER BY starts_at DESC LIMIT 1",
                       (community_id, MeetingStatus.HELD))
    return _meeting(row) if row else None


async def update_meeting(tx: Tx, meeting_id: int, **fields: object) -> None:
    """Set the named columns (names are code, never input); datetimes are stored as UTC text."""
    allowed = {"starts_at", "ends_at", "topics_until", "place", "capacity", "status", "outcome", "outcome_by",
               "outcome_at"}
    if not set(fields) <= allowed:
        raise ValueError(f"unknown meeting fields: {sorted(set(fields) - allowed)}")
    values = [iso(v) if isinstance(v, datetime) else v for v in fields.values()]
    assignments = ", ".join(f"{name} = ?" for name in fields)
    await tx.execute(f"UPDATE meetings SET {assignments} WHERE id = ?", (*values, meeting_id))  # noqa: S608


# ------------------------------------------------------------------------------------------ answers


async def answer_of(tx: Tx, meeting_id: int, person_id: int) -> Answer | None:
    """The person's answer (None when none)."""
    value = await tx.scalar("SELECT answer FROM meeting_rsvps WHERE meeting_id = ? AND person_id = ?",
                            (meeting_id, person_id))
    return None if value is None else Answer(value)


async def set_answer(tx: Tx, meeting_id: int, person_id: int, answer: Answer, now: datetime) -> None:
    """Record an answer; joining the waitlist stamps the moment (its order), any other answer clears it."""
    queued = iso(now) if answer is Answer.WAITLIST else None
    await tx.execute(
        """INSERT INTO meeting_rsvps (meeting_id, person_id, answer, queued_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (meeting_id, person_id) DO UPDATE SET answer = excluded.answer,
               queued_at = excluded.queued_at, updated_at = excluded.updated_at""",
        (meeting_id, person_id, answer, queued, iso(now), iso(now)))


async def answer_counts(tx: Tx, meeting_id: int) -> AnswerCounts:
    rows = await tx.all("SELECT answer, COUNT(*) FROM meeting_rsvps WHERE meeting_id = ? GROUP BY answer",
                        (meeting_id,))
    return AnswerCounts(**{Answer(row[0]).value: int(row[1]) for row in rows})


async def answered(tx: Tx, meeting_id: int, answers: Sequence[Answer]) -> list[int]:
    """People whose answer is one of `answers`, in the order they answered."""
    marks = ", ".join("?" for _ in answers)
    rows = await tx.all(f"SELECT person_id FROM meeting_rsvps WHERE meeting_id = ? AND answer IN ({marks}) "  # noqa: S608
                        "ORDER BY created_at, person_id", (meeting_id, *answers))
    return [row[0] for row in rows]


async def add_audience(tx: Tx, meeting_id: int, person_ids: Iterable[int]) -> None:
    """Record that the announcement was queued for `person_ids` (the outbox rows themselves are pruned later)."""
    await tx.executemany("INSERT OR IGNORE INTO meeting_audience (meeting_id, person_id) VALUES (?, ?)",
                         [(meeting_id, person_id) for person_id in person_ids])


async def told(tx: Tx, meeting_id: int) -> list[int]:
    """Everyone who heard of the meeting: the announcement was queued for them (`add_audience`), they answered
    (whatever the answer), or they raised a topic."""
    rows = await tx.all(
        """SELECT person_id FROM meeting_audience WHERE meeting_id = ?
           UNION SELECT person_id FROM meeting_rsvps WHERE meeting_id = ?
           UNION SELECT submitter_id FROM meeting_topics WHERE meeting_id = ? AND submitter_id IS NOT NULL
           ORDER BY 1""",
        (meeting_id, meeting_id, meeting_id))
    return [row[0] for row in rows]


async def waitlist(tx: Tx, meeting_id: int) -> list[int]:
    """The waitlist, first in line first."""
    rows = await tx.all("SELECT person_id FROM meeting_rsvps WHERE meeting_id = ? AND answer = ? "
                        "ORDER BY queued_at, person_id", (meeting_id, Answer.WAITLIST))
    return [row[0] for row in rows]


# ------------------------------------------------------------------------------------------ topics

_TOPIC = ("SELECT id, meeting_id, submitter_id, text, voice_ref, photo_ref, status, issue_id, outcome, created_at "
          "FROM meeting_topics")


def _topic(row: Row) -> Topic:
    return Topic(row["id"], row["meeting_id"], row["submitter_id"], row["text"], row["voice_ref"], row["photo_ref"],
                 TopicStatus(row["status"]), row["issue_id"], row["outcome"], parse_iso(row["created_at"]))


async def add_topic(tx: Tx, meeting_id: int, submitter_id: int, text: str, voice_ref: str, photo_ref: str,
                    now: datetime) -> int:
    return await tx.execute(
        "INSERT INTO meeting_topics (meeting_id, submitter_id, text, voice_ref, photo_ref, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (meeting_id, submitter_id, text, voice_ref, photo_ref, iso(now), iso(now)))


async def topic(tx: Tx, topic_id: int) -> Topic | None:
    row = await tx.one(f"{_TOPIC} WHERE id = ?", (topic_id,))
    return _topic(row) if row else None


async def topics_of(tx: Tx, meeting_id: int) -> list[Topic]:
    rows = await tx.all(f"{_TOPIC} WHERE meeting_id = ? ORDER BY id", (meeting_id,))
    return [_topic(row) for row in rows]


async def topics_by(tx: Tx, meeting_id: int, person_id: int) -> list[Topic]:
    rows = await tx.all(f"{_TOPIC} WHERE meeting_id = ? AND submitter_id = ? ORDER BY id", (meeting_id, person_id))
    return [_topic(row) for row in rows]


async def update_topic(tx: Tx, topic_id: int, now: datetime, *, status: TopicStatus, outcome: str = "",
                       issue_id: int | None = None) -> None:
    await tx.execute("UPDATE meeting_topics SET status = ?, outcome = ?, issue_id = ?, updated_at = ? WHERE id = ?",
                     (status, outcome, issue_id, iso(now), topic_id))


# ------------------------------------------------------------------------------------------ attendance


async def check_in(tx: Tx, meeting_id: int, person_id: int, now: datetime, marked_by: int | None) -> bool:
    """Record that the person is there; False when they were already."""
    await tx.execute("INSERT INTO meeting_attendance (meeting_id, person_id, checked_in_at, marked_by) "
                     "VALUES (?, ?, ?, ?) ON CONFLICT (meeting_id, person_id) DO NOTHING",
                     (meeting_id, person_id, iso(now), marked_by))
    return bool(await tx.scalar("SELECT changes()") == 1)


async def uncheck(tx: Tx, meeting_id: int, person_id: int) -> None:
    await tx.execute("DELETE FROM meeting_attendance WHERE meeting_id = ? AND person_id = ?", (meeting_id, person_id))


async def is_present(tx: Tx, meeting_id: int, person_id: int) -> bool:
    return bool(await tx.scalar("SELECT COUNT(*) FROM meeting_attendance WHERE meeting_id = ? AND person_id = ?",
                                (meeting_id, person_id)))


async def attendees(tx: Tx, meeting_id: int) -> list[int]:
    rows = await tx.all("SELECT person_id FROM meeting_attendance WHERE meeting_id = ? ORDER BY checked_in_at, "
                        "person_id", (meeting_id,))
    return [row[0] for row in rows]


async def participants(tx: Tx, meeting_id: int) -> list[Participant]:
    """Everyone who answered (except "no") or is checked in: the chair's attendance list."""
    rows = await tx.all(
        """SELECT p.id, p.display_name, p.room, r.answer, a.person_id IS NOT NULL AS present
           FROM people p
           LEFT JOIN meeting_rsvps r ON r.person_id = p.id AND r.meeting_id = ?
           LEFT JOIN meeting_attendance a ON a.person_id = p.id AND a.meeting_id = ?
           WHERE (r.answer IS NOT NULL AND r.answer != ?) OR a.person_id IS NOT NULL
           ORDER BY CASE r.answer WHEN ? THEN 0 WHEN ? THEN 1 WHEN ? THEN 2 ELSE 3 END, p.id""",
        (meeting_id, meeting_id, Answer.NO, Answer.YES, Answer.MAYBE, Answer.WAITLIST))
    return [Participant(row["id"], row["display_name"], row["room"], None if row["answer"] is None
                        else Answer(row["answer"]), bool(row["present"])) for row in rows]


# ------------------------------------------------------------------------------------------ polls


async def save_poll(tx: Tx, meeting_id: int, person_id: int, stars: int, comment: str, now: datetime) -> None:
    await tx.execute(
        """INSERT INTO meeting_polls (meeting_id, person_id, stars, comment, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (meeting_id, person_id) DO UPDATE SET stars = excluded.stars, comment = excluded.comment""",
        (meeting_id, person_id, stars, comment, iso(now)))


async def poll_summary(tx: Tx, meeting_id: int) -> PollSummary:
    row = await tx.one("SELECT COUNT(*), COALESCE(AVG(stars), 0) FROM meeting_polls WHERE meeting_id = ?",
                       (meeting_id,))
    return PollSummary(0, 0.0) if row is None else PollSummary(int(row[0]), float(row[1]))


# ------------------------------------------------------------------------------------------ residents, mutes


async def residents(tx: Tx, community_id: int, *, muted_too: bool = False) -> list[int]:
    """People whose home building lies in the community (without those who muted its announcements)."""
    rows = await tx.all(
        """WITH RECURSIVE below(id) AS (
               SELECT ? UNION SELECT g.id FROM grid_units g JOIN below ON g.parent_id = below.id)
           SELECT p.id FROM people p WHERE p.building_id IN (SELECT id FROM below)
             AND (? OR p.id NOT IN (SELECT person_id FROM meeting_mutes WHERE community_id = ?))
           ORDER BY p.id""",
        (community_id, int(muted_too), community_id))
    return [row[0] for row in rows]


async def set_muted(tx: Tx, person_id: int, community_id: int, muted: bool, now: datetime) -> None:
    if muted:
        await tx.execute("INSERT INTO meeting_mutes (person_id, community_id, muted_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (person_id, community_id) DO NOTHING", (person_id, community_id, iso(now)))
    else:
        await tx.execute("DELETE FROM meeting_mutes WHERE person_id = ? AND community_id = ?",
                         (person_id, community_id))


async def is_muted(tx: Tx, person_id: int, community_id: int) -> bool:
    return bool(await tx.scalar("SELECT COUNT(*) FROM meeting_mutes WHERE person_id = ? AND community_id = ?",
                                (person_id, community_id)))
