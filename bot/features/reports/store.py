"""Issues repository: categories, issues, photos, the audit trail, recipients and followers.

A report's timers are rows of `scheduled_jobs` (subject 'issue')."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.domain.grid import Level
from bot.domain.people import Duty
from bot.features.reports.model import OPEN, Category, EventKind, Issue, IssueEvent, PhotoStage, Recipient, Status
from bot.storage import grid
from bot.storage.db import Row, Tx

_ISSUE = ("SELECT id, ref, reporter_id, category, description, voice_ref, unit_id, location, status, owner_unit_id, "
          "assignee_id, due_at, flagged, rating, comment, created_at FROM issues")
_OPEN = tuple(status.value for status in OPEN)
_OPEN_MARKS = ", ".join("?" for _ in _OPEN)


def _category(row: Row) -> Category:
    limits = {Level.BUILDING: row["limit_building_h"], Level.COMPLEX: row["limit_complex_h"],
              Level.COMMUNITY: row["limit_community_h"], Level.STREET: row["limit_street_h"]}
    return Category(row["code"], Duty(row["duty"]) if row["duty"] else None, limits, bool(row["infrastructure"]),
                    row["name_zh"], row["name_en"])


async def categories(tx: Tx) -> list[Category]:
    rows = await tx.all("SELECT * FROM categories WHERE active = 1 ORDER BY position, code")
    return [_category(row) for row in rows]


async def category(tx: Tx, code: str, *, active_only: bool = True) -> Category | None:
    """A category by code; reports filed before a category was retired still show it (active_only=False)."""
    row = await tx.one("SELECT * FROM categories WHERE code = ? AND (active = 1 OR NOT ?)", (code, active_only))
    return _category(row) if row else None


async def category_positions(tx: Tx) -> dict[str, int]:
    """Menu position of every active category, by code."""
    rows = await tx.all("SELECT code, position FROM categories WHERE active = 1")
    return {row["code"]: row["position"] for row in rows}


async def retire_category(tx: Tx, code: str) -> None:
    """Residents no longer see the category; reports filed under it keep it."""
    await tx.execute("UPDATE categories SET active = 0 WHERE code = ?", (code,))


async def upsert_category(tx: Tx, category: Category, position: int) -> None:
    limits = category.limits
    await tx.execute(
        """INSERT INTO categories (code, position, duty, limit_building_h, limit_complex_h, limit_community_h,
                                   limit_street_h, infrastructure, name_zh, name_en, active)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
           ON CONFLICT (code) DO UPDATE SET position = excluded.position, duty = excluded.duty,
               limit_building_h = excluded.limit_building_h, limit_complex_h = excluded.limit_complex_h,
               limit_community_h = excluded.limit_community_h, limit_street_h = excluded.limit_street_h,
               infrastructure = excluded.infrastructure, name_zh = excluded.name_zh, name_en = excluded.name_en,
               active = 1""",
        (category.code, position, category.duty.value if category.duty else None, limits[Level.BUILDING],
         limits[Level.COMPLEX], limits[Level.COMMUNITY], limits[Level.STREET], int(category.infrastructure),
         category.name_zh, category.name_en),
    )


def _issue(row: Row) -> Issue:
    return Issue(row["id"], row["ref"], row["reporter_id"], row["category"], row["description"], row["voice_ref"],
                 row["unit_id"], row["location"], Status(row["status"]), row["owner_unit_id"], row["assignee_id"],
                 parse_iso(row["due_at"]), bool(row["flagged"]), row["rating"], row["comment"],
                 parse_iso(row["created_at"]))


async def create(tx: Tx, *, ref: str, reporter_id: int, category: str, description: str, voice_ref: str,
                 unit_id: int, location: str, owner_unit_id: int, due_at: datetime, now: datetime) -> int:
    return await tx.execute(
        """INSERT INTO issues (ref, reporter_id, category, description, voice_ref, unit_id, location, status,
                               owner_unit_id, due_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (ref, reporter_id, category, description, voice_ref, unit_id, location, Status.SUBMITTED.value,
         owner_unit_id, iso(due_at), iso(now), iso(now)),
    )


async def count_refs_with_prefix(tx: Tx, prefix: str) -> int:
    """How many reference numbers start with `prefix`: a range of the refs' unique index, never a scan."""
    after_prefix = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string above every one with the prefix
    return int(await tx.scalar("SELECT COUNT(*) FROM issues WHERE ref >= ? AND ref < ?", (prefix, after_prefix)))


async def get(tx: Tx, issue_id: int) -> Issue | None:
    row = await tx.one(f"{_ISSUE} WHERE id = ?", (issue_id,))
    return _issue(row) if row else None


async def by_ref(tx: Tx, ref: str) -> Issue | None:
    row = await tx.one(f"{_ISSUE} WHERE ref = ?", (ref,))
    return _issue(row) if row else None


async def update(tx: Tx, issue_id: int, now: datetime, **fields: object) -> None:
    """Set the named columns (names are code, never input) and the update time."""
    allowed = {"status", "owner_unit_id", "assignee_id", "due_at", "flagged", "rating", "comment", "duplicate_of",
               "resolved_at", "closed_at", "description"}
    if not set(fields) <= allowed:
        raise ValueError(f"unknown issue fields: {sorted(set(fields) - allowed)}")
    values = [iso(v) if isinstance(v, datetime) else v.value if isinstance(v, Status) else v
              for v in fields.values()]
    assignments = ", ".join(f"{name} = ?" for name in fields)
    await tx.execute(f"UPDATE issues SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                     (*values, iso(now), issue_id))


async def by_reporter(tx: Tx, person_id: int, limit: int = 20) -> list[Issue]:
    rows = await tx.all(f"{_ISSUE} WHERE reporter_id = ? ORDER BY id DESC LIMIT ?",
                        (person_id, limit))
    return [_issue(row) for row in rows]


async def followed_by(tx: Tx, person_id: int, limit: int = 20) -> list[Issue]:
    rows = await tx.all(
        f"{_ISSUE} WHERE id IN (SELECT issue_id FROM issue_followers WHERE person_id = ?) "  # noqa: S608
        "ORDER BY id DESC LIMIT ?", (person_id, limit))
    return [_issue(row) for row in rows]


async def open_in_units(tx: Tx, unit_ids: Sequence[int], now: datetime, limit: int = 30) -> list[Issue]:
    """Open issues located in any of `unit_ids`, overdue first, then oldest first."""
    if not unit_ids:
        return []
    units = ", ".join("?" for _ in unit_ids)
    rows = await tx.all(
        f"{_ISSUE} WHERE unit_id IN ({units}) AND status IN ({_OPEN_MARKS}) "
        "ORDER BY due_at > ?, id LIMIT ?",
        (*unit_ids, *_OPEN, iso(now), limit))
    return [_issue(row) for row in rows]


async def open_same(tx: Tx, unit_id: int, category: str) -> Issue | None:
    """An open issue of `category` at the same place, for the duplicate suggestion."""
    row = await tx.one(f"{_ISSUE} WHERE unit_id = ? AND category = ? AND status IN ({_OPEN_MARKS}) "
                       "ORDER BY id LIMIT 1", (unit_id, category, *_OPEN))
    return _issue(row) if row else None


async def add_photo(tx: Tx, issue_id: int, stage: PhotoStage, path: str, person_id: int | None,
                    now: datetime) -> None:
    await tx.execute("INSERT INTO issue_photos (issue_id, stage, path, added_by, created_at) VALUES (?, ?, ?, ?, ?)",
                     (issue_id, stage.value, path, person_id, iso(now)))


async def add_voice(tx: Tx, issue_id: int, path: str, person_id: int, now: datetime) -> None:
    """A voice note the resident added after filing (the report's own stays in issues.voice_ref)."""
    await tx.execute("INSERT INTO issue_voices (issue_id, path, added_by, created_at) VALUES (?, ?, ?, ?)",
                     (issue_id, path, person_id, iso(now)))


async def photos(tx: Tx, issue_id: int, stage: PhotoStage | None = None) -> list[str]:
    """The issue's photos in the order they came, all or those of `stage`."""
    value = None if stage is None else stage.value
    rows = await tx.all("SELECT path FROM issue_photos WHERE issue_id = ? AND (? IS NULL OR stage = ?) ORDER BY id",
                        (issue_id, value, value))
    return [row[0] for row in rows]


async def record(tx: Tx, issue_id: int, *, kind: EventKind, actor_id: int | None, now: datetime,
                 from_status: Status | None = None, to_status: Status | None = None, detail: str = "") -> None:
    await tx.execute(
        "INSERT INTO issue_events (issue_id, at, actor_id, kind, from_status, to_status, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (issue_id, iso(now), actor_id, kind.value, "" if from_status is None else from_status.value,
         "" if to_status is None else to_status.value, detail))


_EVENT = "SELECT at, actor_id, kind, from_status, to_status, detail FROM issue_events"


def _event(row: Row) -> IssueEvent:
    return IssueEvent(parse_iso(row["at"]), row["actor_id"], EventKind(row["kind"]),
                      Status(row["from_status"]) if row["from_status"] else None,
                      Status(row["to_status"]) if row["to_status"] else None, row["detail"])


async def events(tx: Tx, issue_id: int) -> list[IssueEvent]:
    """The issue's audit trail, oldest first."""
    return [_event(row) for row in await tx.all(f"{_EVENT} WHERE issue_id = ? ORDER BY id", (issue_id,))]


async def last_transition(tx: Tx, issue_id: int, to_status: Status) -> IssueEvent | None:
    """When and by whom the issue last moved to `to_status`, with the detail they gave (a reason, a note)."""
    row = await tx.one(f"{_EVENT} WHERE issue_id = ? AND kind = ? AND to_status = ? ORDER BY id DESC LIMIT 1",
                       (issue_id, EventKind.TRANSITION.value, to_status.value))
    return None if row is None else _event(row)


async def has_event(tx: Tx, issue_id: int, kind: EventKind) -> bool:
    row = await tx.one("SELECT EXISTS (SELECT 1 FROM issue_events WHERE issue_id = ? AND kind = ?)",
                       (issue_id, kind.value))
    return bool(row and row[0])


async def set_recipients(tx: Tx, issue_id: int, recipients: Sequence[Recipient]) -> None:
    """Replace who the task is pushed to."""
    await tx.execute("DELETE FROM issue_recipients WHERE issue_id = ?", (issue_id,))
    await tx.executemany("INSERT OR IGNORE INTO issue_recipients (issue_id, person_id, reason, unit_id) "
                         "VALUES (?, ?, ?, ?)", [(issue_id, r.person_id, r.reason, r.unit_id) for r in recipients])


async def recipients(tx: Tx, issue_id: int) -> list[int]:
    rows = await tx.all("SELECT person_id FROM issue_recipients WHERE issue_id = ? ORDER BY person_id", (issue_id,))
    return [row[0] for row in rows]


async def follow(tx: Tx, issue_id: int, person_id: int) -> None:
    await tx.execute("INSERT OR IGNORE INTO issue_followers (issue_id, person_id) VALUES (?, ?)",
                     (issue_id, person_id))


async def followers(tx: Tx, issue_id: int) -> list[int]:
    rows = await tx.all("SELECT person_id FROM issue_followers WHERE issue_id = ?", (issue_id,))
    return [row[0] for row in rows]


async def at_top(tx: Tx, issue: Issue) -> bool:
    """The street owns the issue: it is the last owner, there is nowhere higher to send it."""
    owner = await grid.by_id(tx, issue.owner_unit_id)
    return owner is not None and owner.level is Level.STREET
