"""一评议 repository: rounds, what they rate, who has voted (participation) and the anonymous ballots; a round's
scheduled work is rows of `scheduled_jobs` (subject 'evaluation_round'). Migration 022 explains why nothing here can
join a ballot to a voter."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.domain.grid import Level
from bot.domain.people import Role
from bot.features.evaluations.model import Grade, Round, RoundStatus, Tally, Target, TargetKind
from bot.storage.db import Row, Tx

_ROUND = "SELECT id, branch_id, year, half, opens_at, closes_at, status FROM evaluation_rounds"
_TARGET = "SELECT id, round_id, kind, person_id, household_id, name, determination FROM evaluation_targets"
_BALLOT_IDS = 2**62  # ballots' ids are drawn from 1 … this, at random


def _round(row: Row) -> Round:
    return Round(row["id"], row["branch_id"], row["year"], row["half"], parse_iso(row["opens_at"]),
                 parse_iso(row["closes_at"]), RoundStatus(row["status"]))


def _target(row: Row) -> Target:
    determination = None if row["determination"] is None else Grade(row["determination"])
    return Target(row["id"], row["round_id"], TargetKind(row["kind"]), row["person_id"], row["household_id"],
                  row["name"], determination)


# ---------------------------------------------------------------------------------------------- rounds


async def create_round(tx: Tx, *, branch_id: int, year: int, half: int, opens_at: datetime, closes_at: datetime,
                       created_by: str) -> int | None:
    """A new round; None when the branch has one for that half already."""
    await tx.execute("INSERT INTO evaluation_rounds (branch_id, year, half, opens_at, closes_at, created_by) "
                     "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                     (branch_id, year, half, iso(opens_at), iso(closes_at), created_by))
    if await tx.scalar("SELECT changes()") != 1:
        return None
    return int(await tx.scalar("SELECT last_insert_rowid()"))


async def get_round(tx: Tx, round_id: int) -> Round | None:
    row = await tx.one(f"{_ROUND} WHERE id = ?", (round_id,))
    return _round(row) if row else None


async def latest_round(tx: Tx, branch_id: int, status: RoundStatus | None = None) -> Round | None:
    """The branch's latest round (of `status`, when given)."""
    row = await tx.one(f"{_ROUND} WHERE branch_id = ? AND (? IS NULL OR status = ?) ORDER BY year DESC, half DESC "
                       "LIMIT 1", (branch_id, status, status))
    return _round(row) if row else None


async def set_status(tx: Tx, round_id: int, status: RoundStatus, was: RoundStatus) -> bool:
    """Move the round from `was` to `status`; False when it was not in `was`."""
    return await tx.execute("UPDATE evaluation_rounds SET status = ? WHERE id = ? AND status = ?",
                            (status, round_id, was)) == 1


async def open_window(tx: Tx, round_id: int, opens_at: datetime, closes_at: datetime) -> None:
    """The round opens: when it did, and when it closes."""
    await tx.execute("UPDATE evaluation_rounds SET status = ?, opens_at = ?, closes_at = ? WHERE id = ?",
                     (RoundStatus.OPEN, iso(opens_at), iso(closes_at), round_id))


# --------------------------------------------------------------------------------------------- targets


async def add_target(tx: Tx, round_id: int, kind: TargetKind, *, person_id: int | None = None,
                     household_id: int | None = None, name: str = "") -> None:
    await tx.execute("INSERT INTO evaluation_targets (round_id, kind, person_id, household_id, name) "
                     "VALUES (?, ?, ?, ?, ?)", (round_id, kind, person_id, household_id, name))


async def targets(tx: Tx, round_id: int) -> list[Target]:
    """The round's targets: its members in the order they were added, then the branch."""
    rows = await tx.all(f"{_TARGET} WHERE round_id = ? ORDER BY kind = 'branch', id", (round_id,))
    return [_target(row) for row in rows]


async def target(tx: Tx, target_id: int) -> Target | None:
    row = await tx.one(f"{_TARGET} WHERE id = ?", (target_id,))
    return _target(row) if row else None


async def targets_of_person(tx: Tx, person_id: int) -> list[Target]:
    """The member targets that are this person, newest round first."""
    rows = await tx.all(f"{_TARGET} WHERE person_id = ? AND kind = 'member' ORDER BY round_id DESC", (person_id,))
    return [_target(row) for row in rows]


async def set_determination(tx: Tx, target_id: int, grade: Grade) -> None:
    await tx.execute("UPDATE evaluation_targets SET determination = ? WHERE id = ?", (grade, target_id))


async def determined(tx: Tx, round_id: int, grade: Grade, *, besides: int) -> int:
    """How many of the round's members other than `besides` were determined `grade`."""
    return int(await tx.scalar("SELECT COUNT(*) FROM evaluation_targets WHERE round_id = ? AND kind = 'member' "
                               "AND determination = ? AND id != ?", (round_id, grade, besides)))


# ------------------------------------------------------------------------------------ votes and ballots


async def cast(tx: Tx, round_id: int, target_id: int, voter_id: int, grade: Grade, comment: str) -> bool:
    """Record that `voter_id` has voted on the target and, apart from it, the anonymous ballot; False (nothing
    written) when they had voted on it already."""
    await tx.execute("INSERT INTO evaluation_participation (round_id, target_id, voter_person_id) VALUES (?, ?, ?) "
                     "ON CONFLICT DO NOTHING", (round_id, target_id, voter_id))
    if await tx.scalar("SELECT changes()") != 1:
        return False
    while True:  # a random id (see migration 022); drawing one taken already is a 1 in 10^18 event
        await tx.execute("INSERT INTO evaluation_ballots (id, round_id, target_id, grade, comment) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (secrets.randbelow(_BALLOT_IDS) + 1, round_id, target_id, grade, comment))
        if await tx.scalar("SELECT changes()") == 1:
            return True


async def voted_on(tx: Tx, round_id: int, voter_id: int) -> set[int]:
    """The targets of the round the voter has voted on."""
    rows = await tx.all("SELECT target_id FROM evaluation_participation WHERE round_id = ? AND voter_person_id = ?",
                        (round_id, voter_id))
    return {row[0] for row in rows}


async def voters(tx: Tx, round_id: int) -> int:
    """How many people have voted in the round (on anything)."""
    return int(await tx.scalar("SELECT COUNT(DISTINCT voter_person_id) FROM evaluation_participation "
                               "WHERE round_id = ?", (round_id,)))


async def tally(tx: Tx, target_id: int) -> Tally:
    """The target's ballots per grade, and its comments in ballot-id order (random)."""
    rows = await tx.all("SELECT grade, COUNT(*) FROM evaluation_ballots WHERE target_id = ? GROUP BY grade",
                        (target_id,))
    counts = {grade: 0 for grade in Grade} | {Grade(row[0]): int(row[1]) for row in rows}
    comments = await tx.all("SELECT comment FROM evaluation_ballots WHERE target_id = ? AND comment != '' "
                            "ORDER BY id", (target_id,))
    return Tally(counts, [row[0] for row in comments])


# ----------------------------------------------------------------------------------------------- people


async def party_members(tx: Tx, unit_ids: Sequence[int]) -> list[tuple[int, int, str]]:
    """(person id, household unit id, name) of every party member holding the role at a 党员中心户 among
    `unit_ids`, by household code (building by building)."""
    rows = await tx.all(
        "SELECT r.person_id, g.id, p.display_name FROM roles r JOIN grid_units g ON g.id = r.unit_id "
        "JOIN people p ON p.id = r.person_id WHERE r.role = ? AND g.level = ? "
        "AND g.id IN (SELECT value FROM json_each(?)) ORDER BY g.code, r.person_id",
        (Role.PARTY_MEMBER, Level.PARTY_HOUSEHOLD, json.dumps(list(unit_ids))))
    return [(row[0], row[1], row[2]) for row in rows]
