"""道德模范评选 repository: campaigns, nominations with their audit trail, objections, votes and burst flags; a
campaign's phase changes are rows of `scheduled_jobs` (subject 'moral_campaign')."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.features.moral_models.model import Campaign, Category, Nomination, Phase, Status
from bot.storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class Event:
    actor_id: int | None
    kind: str
    note: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Objection:
    person_id: int | None
    text: str
    at: datetime


_CAMPAIGN = ("SELECT id, title, unit_id, phase, opened_at, nominate_until, review_until, publicize_until, vote_until, "
             "creator_id FROM moral_campaigns")
_NOMINATION = ("SELECT id, campaign_id, category, nominator_id, nominee_id, story, photo_ref, status, reason, honoured "
               "FROM moral_nominations")


def _campaign(row: Row) -> Campaign:
    return Campaign(row["id"], row["title"], row["unit_id"], Phase(row["phase"]), parse_iso(row["opened_at"]),
                    parse_iso(row["nominate_until"]), parse_iso(row["review_until"]),
                    parse_iso(row["publicize_until"]), parse_iso(row["vote_until"]), row["creator_id"])


def _nomination(row: Row) -> Nomination:
    return Nomination(row["id"], row["campaign_id"], Category(row["category"]), row["nominator_id"],
                      row["nominee_id"], row["story"], row["photo_ref"], Status(row["status"]), row["reason"],
                      bool(row["honoured"]))


def _ids(values: Sequence[object]) -> str:
    return json.dumps(list(values))


# ------------------------------------------------------------------------------------------ campaigns


async def create_campaign(tx: Tx, *, title: str, unit_id: int, now: datetime, ends: Sequence[datetime],
                          creator_id: int | None) -> int:
    """A new campaign opened `now`; `ends` are when nominations, review, 公示 and the vote end."""
    nominate, review, publicize, vote = ends
    return await tx.execute(
        """INSERT INTO moral_campaigns (title, unit_id, opened_at, nominate_until, review_until, publicize_until,
                                        vote_until, creator_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (title, unit_id, iso(now), iso(nominate), iso(review), iso(publicize), iso(vote), creator_id))


async def campaign(tx: Tx, campaign_id: int) -> Campaign | None:
    row = await tx.one(f"{_CAMPAIGN} WHERE id = ?", (campaign_id,))
    return _campaign(row) if row else None


async def campaigns_in(tx: Tx, unit_ids: Sequence[int], limit: int = 10) -> list[Campaign]:
    """Campaigns scoped to any of `unit_ids`, newest first."""
    rows = await tx.all(f"{_CAMPAIGN} WHERE unit_id IN (SELECT value FROM json_each(?)) "  # noqa: S608
                        "ORDER BY opened_at DESC, id DESC LIMIT ?", (_ids(unit_ids), limit))
    return [_campaign(row) for row in rows]


async def set_phase(tx: Tx, campaign_id: int, phase: Phase, before: Sequence[Phase], now: datetime) -> bool:
    """Move the campaign to `phase` from one of `before`; False when it was elsewhere."""
    changed = await tx.execute(
        "UPDATE moral_campaigns SET phase = ?, honoured_at = CASE WHEN ? = 'honoured' THEN ? ELSE honoured_at END "
        "WHERE id = ? AND phase IN (SELECT value FROM json_each(?))",
        (phase, phase, iso(now), campaign_id, _ids(before)))
    return changed == 1


# ---------------------------------------------------------------------------------------- nominations


async def add_nomination(tx: Tx, *, campaign_id: int, category: Category, nominator_id: int, nominee_id: int,
                         story: str, photo_ref: str, now: datetime) -> int | None:
    """A new nomination awaiting consent; None when the nominee is nominated in that category already."""
    row = await tx.one(
        """INSERT INTO moral_nominations (campaign_id, category, nominator_id, nominee_id, story, photo_ref,
                                          created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING RETURNING id""",
        (campaign_id, category, nominator_id, nominee_id, story, photo_ref, iso(now)))
    return None if row is None else int(row[0])


async def nomination(tx: Tx, nomination_id: int) -> Nomination | None:
    row = await tx.one(f"{_NOMINATION} WHERE id = ?", (nomination_id,))
    return _nomination(row) if row else None


async def nominations(tx: Tx, campaign_id: int, statuses: Sequence[Status],
                      category: Category | None = None) -> list[Nomination]:
    """The campaign's nominations in one of `statuses` (of `category`, if given), by category and id."""
    rows = await tx.all(
        f"{_NOMINATION} WHERE campaign_id = ? AND status IN (SELECT value FROM json_each(?)) "  # noqa: S608
        "AND (? IS NULL OR category = ?) ORDER BY category, id",
        (campaign_id, _ids(statuses), category, category))
    return [_nomination(row) for row in rows]


async def by_nominator(tx: Tx, campaign_id: int, nominator_id: int) -> list[Nomination]:
    rows = await tx.all(f"{_NOMINATION} WHERE campaign_id = ? AND nominator_id = ? ORDER BY id",
                        (campaign_id, nominator_id))
    return [_nomination(row) for row in rows]


async def set_status(tx: Tx, nomination_id: int, status: Status, before: Sequence[Status],
                     reason: str = "") -> bool:
    """Move the nomination to `status` from one of `before`; False when it was in another."""
    changed = await tx.execute(
        "UPDATE moral_nominations SET status = ?, reason = ? WHERE id = ? "
        "AND status IN (SELECT value FROM json_each(?))", (status, reason, nomination_id, _ids(before)))
    return changed == 1


async def set_honoured(tx: Tx, nomination_id: int, honoured: bool) -> None:
    await tx.execute("UPDATE moral_nominations SET honoured = ? WHERE id = ?", (int(honoured), nomination_id))


async def add_event(tx: Tx, nomination_id: int, actor_id: int | None, kind: str, note: str, now: datetime) -> None:
    await tx.execute("INSERT INTO moral_events (nomination_id, actor_id, kind, note, at) VALUES (?, ?, ?, ?, ?)",
                     (nomination_id, actor_id, kind, note, iso(now)))


async def events(tx: Tx, nomination_id: int) -> list[Event]:
    rows = await tx.all("SELECT actor_id, kind, note, at FROM moral_events WHERE nomination_id = ? ORDER BY id",
                        (nomination_id,))
    return [Event(row[0], row[1], row[2], parse_iso(row[3])) for row in rows]


async def add_objection(tx: Tx, nomination_id: int, person_id: int, text: str, now: datetime) -> None:
    await tx.execute("INSERT INTO moral_objections (nomination_id, person_id, text, created_at) VALUES (?, ?, ?, ?)",
                     (nomination_id, person_id, text, iso(now)))


async def objections(tx: Tx, nomination_id: int) -> list[Objection]:
    rows = await tx.all("SELECT person_id, text, created_at FROM moral_objections WHERE nomination_id = ? "
                        "ORDER BY id", (nomination_id,))
    return [Objection(row[0], row[1], parse_iso(row[2])) for row in rows]


# ---------------------------------------------------------------------------------------------- votes


async def add_vote(tx: Tx, *, campaign_id: int, category: Category, voter_id: int, nomination_id: int,
                   new_account: bool, now: datetime) -> bool:
    """The voter's ballot in `category`; False when they have one there already."""
    row = await tx.one(
        """INSERT INTO moral_votes (campaign_id, category, voter_id, nomination_id, new_account, cast_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1""",
        (campaign_id, category, voter_id, nomination_id, int(new_account), iso(now)))
    return row is not None


async def ballots(tx: Tx, campaign_id: int, voter_id: int) -> dict[Category, int]:
    """The voter's own choices: the nomination they voted for in each category they voted in."""
    rows = await tx.all("SELECT category, nomination_id FROM moral_votes WHERE campaign_id = ? AND voter_id = ?",
                        (campaign_id, voter_id))
    return {Category(row[0]): row[1] for row in rows}


async def drop_votes(tx: Tx, nomination_id: int) -> int:
    """Void the votes for a nomination taken down; returns how many there were."""
    return await tx.execute("DELETE FROM moral_votes WHERE nomination_id = ?", (nomination_id,))


async def voters(tx: Tx, campaign_id: int) -> set[int]:
    rows = await tx.all("SELECT DISTINCT voter_id FROM moral_votes WHERE campaign_id = ?", (campaign_id,))
    return {row[0] for row in rows}


async def new_account_votes(tx: Tx, nomination_id: int, since: datetime) -> int:
    """Votes for the nomination from new accounts cast after `since`."""
    value = await tx.scalar("SELECT COUNT(*) FROM moral_votes WHERE nomination_id = ? AND new_account = 1 "
                            "AND cast_at > ?", (nomination_id, iso(since)))
    return int(value or 0)


async def flag(tx: Tx, nomination_id: int, votes: int, now: datetime) -> bool:
    """Flag a burst for the nomination; False when it was flagged already."""
    row = await tx.one("INSERT INTO moral_flags (nomination_id, votes, flagged_at) VALUES (?, ?, ?) "
                       "ON CONFLICT DO NOTHING RETURNING 1", (nomination_id, votes, iso(now)))
    return row is not None


async def flags(tx: Tx, campaign_id: int) -> dict[int, int]:
    """The campaign's flagged nominations: the burst's size by nomination id."""
    rows = await tx.all("SELECT f.nomination_id, f.votes FROM moral_flags f JOIN moral_nominations n "
                        "ON n.id = f.nomination_id WHERE n.campaign_id = ?", (campaign_id,))
    return {row[0]: row[1] for row in rows}


async def tally(tx: Tx, campaign_id: int) -> dict[int, int]:
    """Votes per nomination (the service shows them only once the vote has closed)."""
    rows = await tx.all("SELECT nomination_id, COUNT(*) FROM moral_votes WHERE campaign_id = ? "
                        "GROUP BY nomination_id", (campaign_id,))
    return {row[0]: row[1] for row in rows}


# --------------------------------------------------------------------------------------------- people


async def registered_at(tx: Tx, person_id: int) -> datetime | None:
    value = await tx.scalar("SELECT created_at FROM people WHERE id = ?", (person_id,))
    return parse_iso(value) if value else None


async def living_at(tx: Tx, building_id: int, room: str) -> list[tuple[int, str]]:
    """(id, name) of the people registered at `room` of the building (rooms compared without spaces or case)."""
    rows = await tx.all("SELECT id, display_name FROM people WHERE building_id = ? "
                        "AND lower(replace(room, ' ', '')) = lower(replace(?, ' ', '')) ORDER BY id",
                        (building_id, room))
    return [(row[0], row[1]) for row in rows]
