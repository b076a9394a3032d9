"""Law talks and moral lectures repository: the talks and their audience (RSVP, check-in, rating); their scheduled
sends are rows of `scheduled_jobs` (subject 'lecture')."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.features.lectures.model import Answer, Kind, Lecture, LectureStatus
from bot.storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class Attendee:
    person_id: int
    told_at: datetime
    rsvp: Answer | None  # None: no answer
    checked_in: bool
    polled: bool
    rating: int | None


@dataclass(frozen=True, slots=True)
class Counts:
    told: int
    yes: int
    no: int
    checked_in: int
    rated: int
    rating_sum: int


_LECTURE = ("SELECT id, kind, title, speaker, place, description, unit_id, starts_at, rsvp, status, creator_id, "
            "version FROM lectures")


def _lecture(row: Row) -> Lecture:
    return Lecture(row["id"], Kind(row["kind"]), row["title"], row["speaker"], row["place"], row["description"],
                   row["unit_id"], parse_iso(row["starts_at"]), bool(row["rsvp"]), LectureStatus(row["status"]),
                   row["creator_id"], row["version"])


async def create(tx: Tx, *, kind: Kind, title: str, speaker: str, place: str, description: str, unit_id: int,
                 starts_at: datetime, rsvp: bool, creator_id: int | None, created_by: str, now: datetime) -> int:
    return await tx.execute(
        """INSERT INTO lectures (kind, title, speaker, place, description, unit_id, starts_at, rsvp, creator_id,
                                 created_by, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (kind.value, title, speaker, place, description, unit_id, iso(starts_at), int(rsvp), creator_id, created_by,
         iso(now), iso(now)),
    )


async def get(tx: Tx, lecture_id: int) -> Lecture | None:
    row = await tx.one(f"{_LECTURE} WHERE id = ?", (lecture_id,))
    return _lecture(row) if row else None


async def change(tx: Tx, lecture_id: int, now: datetime, *, starts_at: datetime | None = None,
                 place: str | None = None) -> None:
    """A new time and/or place; the version goes up so the change notice is a new message."""
    await tx.execute(
        "UPDATE lectures SET starts_at = COALESCE(?, starts_at), place = COALESCE(?, place), version = version + 1, "
        "updated_at = ? WHERE id = ?",
        (None if starts_at is None else iso(starts_at), place, iso(now), lecture_id),
    )


async def mark_cancelled(tx: Tx, lecture_id: int, now: datetime) -> bool:
    """False when it was cancelled already."""
    changed = await tx.execute("UPDATE lectures SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                               (LectureStatus.CANCELLED, iso(now), lecture_id, LectureStatus.SCHEDULED))
    return changed == 1


async def in_units(tx: Tx, unit_ids: Sequence[int], since: datetime, limit: int = 20) -> list[Lecture]:
    """Talks scoped to any of `unit_ids` starting at or after `since`, soonest first."""
    rows = await tx.all(
        f"{_LECTURE} WHERE unit_id IN (SELECT value FROM json_each(?)) AND starts_at >= ? "  # noqa: S608
        "ORDER BY starts_at, id LIMIT ?",
        (json.dumps(list(unit_ids)), iso(since), limit),
    )
    return [_lecture(row) for row in rows]


async def recent(tx: Tx, limit: int = 50) -> list[Lecture]:
    """The latest talks by start time, newest first (the command line's list)."""
    rows = await tx.all(f"{_LECTURE} ORDER BY starts_at DESC, id DESC LIMIT ?", (limit,))
    return [_lecture(row) for row in rows]


# ------------------------------------------------------------------------------------------ audience


async def residents_in(tx: Tx, unit_ids: Sequence[int]) -> list[int]:
    """People whose home building is one of `unit_ids`."""
    rows = await tx.all("SELECT id FROM people WHERE building_id IN (SELECT value FROM json_each(?)) ORDER BY id",
                        (json.dumps(list(unit_ids)),))
    return [row[0] for row in rows]


async def add_audience(tx: Tx, lecture_id: int, person_id: int, now: datetime) -> bool:
    """Record that `person_id` was told; False when they had been told already."""
    await tx.execute("INSERT INTO lecture_audience (lecture_id, person_id, told_at) VALUES (?, ?, ?) "
                     "ON CONFLICT DO NOTHING", (lecture_id, person_id, iso(now)))
    return bool(await tx.scalar("SELECT changes()") == 1)


async def audience(tx: Tx, lecture_id: int) -> list[int]:
    rows = await tx.all("SELECT person_id FROM lecture_audience WHERE lecture_id = ? ORDER BY person_id",
                        (lecture_id,))
    return [row[0] for row in rows]


async def attendee(tx: Tx, lecture_id: int, person_id: int) -> Attendee | None:
    row = await tx.one("SELECT person_id, told_at, rsvp, checked_in_at, polled_at, rating FROM lecture_audience "
                       "WHERE lecture_id = ? AND person_id = ?", (lecture_id, person_id))
    if row is None:
        return None
    answer = None if row["rsvp"] is None else Answer(row["rsvp"])
    return Attendee(row["person_id"], parse_iso(row["told_at"]), answer, row["checked_in_at"] is not None,
                    row["polled_at"] is not None, row["rating"])


async def to_remind(tx: Tx, lecture_id: int, told_before: datetime) -> list[int]:
    """Those told before `told_before` who have not said no."""
    rows = await tx.all("SELECT person_id FROM lecture_audience WHERE lecture_id = ? AND told_at < ? "
                        "AND (rsvp IS NULL OR rsvp = ?) ORDER BY person_id", (lecture_id, iso(told_before), Answer.YES))
    return [row[0] for row in rows]


async def to_poll(tx: Tx, lecture_id: int) -> list[int]:
    """Those who said yes or checked in."""
    rows = await tx.all("SELECT person_id FROM lecture_audience WHERE lecture_id = ? "
                        "AND (rsvp = ? OR checked_in_at IS NOT NULL) ORDER BY person_id", (lecture_id, Answer.YES))
    return [row[0] for row in rows]


async def set_rsvp(tx: Tx, lecture_id: int, person_id: int, answer: Answer, now: datetime) -> None:
    await tx.execute("UPDATE lecture_audience SET rsvp = ?, rsvp_at = ? WHERE lecture_id = ? AND person_id = ?",
                     (answer, iso(now), lecture_id, person_id))


async def set_checked_in(tx: Tx, lecture_id: int, person_id: int, now: datetime) -> None:
    await tx.execute("UPDATE lecture_audience SET checked_in_at = COALESCE(checked_in_at, ?) "
                     "WHERE lecture_id = ? AND person_id = ?", (iso(now), lecture_id, person_id))


async def set_polled(tx: Tx, lecture_id: int, person_id: int, now: datetime) -> None:
    await tx.execute("UPDATE lecture_audience SET polled_at = COALESCE(polled_at, ?) "
                     "WHERE lecture_id = ? AND person_id = ?", (iso(now), lecture_id, person_id))


async def set_rating(tx: Tx, lecture_id: int, person_id: int, stars: int, now: datetime) -> None:
    await tx.execute("UPDATE lecture_audience SET rating = ?, rated_at = ? WHERE lecture_id = ? AND person_id = ?",
                     (stars, iso(now), lecture_id, person_id))


async def set_comment(tx: Tx, lecture_id: int, person_id: int, comment: str) -> None:
    await tx.execute("UPDATE lecture_audience SET comment = ? WHERE lecture_id = ? AND person_id = ?",
                     (comment, lecture_id, person_id))


async def comments(tx: Tx, lecture_id: int) -> list[tuple[int, str]]:
    """(rating, comment) of everyone who left a comment."""
    rows = await tx.all("SELECT rating, comment FROM lecture_audience WHERE lecture_id = ? AND comment != '' "
                        "ORDER BY rated_at", (lecture_id,))
    return [(row[0], row[1]) for row in rows]


async def counts(tx: Tx, lecture_id: int) -> Counts:
    row = await tx.one(
        """SELECT COUNT(*), COALESCE(SUM(rsvp = ?), 0), COALESCE(SUM(rsvp = ?), 0),
                  COALESCE(SUM(checked_in_at IS NOT NULL), 0), COUNT(rating), COALESCE(SUM(rating), 0)
           FROM lecture_audience WHERE lecture_id = ?""",
        (Answer.YES, Answer.NO, lecture_id),
    )
    assert row is not None
    return Counts(*(int(value) for value in row))
