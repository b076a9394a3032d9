"""Visits repository: households' visiting rhythm, the visits themselves, the residents of a household."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.features.contacts.model import Household
from bot.features.visits.model import Mode, Visit
from bot.storage.db import Row, Tx

_VISIT = ("SELECT v.id, v.household, h.building_id, h.room, v.member_id, v.unit_id, v.mode, v.note, v.voice_ref, "
          "v.photo_ref, v.issue_id, v.visited_at FROM visits v JOIN visit_households h ON h.id = v.household")


def _visit(row: Row) -> Visit:
    return Visit(row["id"], row["household"], Household(row["building_id"], row["room"]), row["member_id"],
                 row["unit_id"], Mode(row["mode"]), row["note"], row["voice_ref"], row["photo_ref"], row["issue_id"],
                 parse_iso(row["visited_at"]))


async def track(tx: Tx, households: Sequence[Household], now: datetime) -> dict[Household, tuple[int, datetime, bool]]:
    """Each household's (id, since, monthly), tracked from `now` if it was not before."""
    await tx.executemany("INSERT OR IGNORE INTO visit_households (building_id, room, since) VALUES (?, ?, ?)",
                         [(household.building_id, household.room, iso(now)) for household in households])
    rows = await tx.all(
        "SELECT h.id, h.building_id, h.room, h.since, h.monthly FROM visit_households h JOIN json_each(?) j "
        "ON h.building_id = json_extract(j.value, '$[0]') AND h.room = json_extract(j.value, '$[1]')",
        (json.dumps([[household.building_id, household.room] for household in households]),))
    return {Household(row["building_id"], row["room"]): (row["id"], parse_iso(row["since"]), bool(row["monthly"]))
            for row in rows}


async def household(tx: Tx, household_id: int) -> Household | None:
    row = await tx.one("SELECT building_id, room FROM visit_households WHERE id = ?", (household_id,))
    return None if row is None else Household(row["building_id"], row["room"])


async def set_monthly(tx: Tx, household_id: int, monthly: bool) -> None:
    await tx.execute("UPDATE visit_households SET monthly = ? WHERE id = ?", (int(monthly), household_id))


async def last_visits(tx: Tx, household_ids: Sequence[int]) -> dict[int, datetime]:
    """When each of the households was last visited (those never visited are left out)."""
    rows = await tx.all("SELECT household, MAX(visited_at) AS last FROM visits WHERE household IN "
                        "(SELECT value FROM json_each(?)) GROUP BY household", (json.dumps(list(household_ids)),))
    return {row["household"]: parse_iso(row["last"]) for row in rows}


async def visited_between(tx: Tx, households: Sequence[Household], start: datetime, end: datetime) -> set[Household]:
    """Those of `households` visited at least once in [start, end)."""
    rows = await tx.all(
        "SELECT DISTINCT h.building_id, h.room FROM visits v JOIN visit_households h ON h.id = v.household "
        "JOIN json_each(?) j ON h.building_id = json_extract(j.value, '$[0]') "
        "AND h.room = json_extract(j.value, '$[1]') WHERE v.visited_at >= ? AND v.visited_at < ?",
        (json.dumps([[household.building_id, household.room] for household in households]), iso(start), iso(end)))
    return {Household(row["building_id"], row["room"]) for row in rows}


async def add(tx: Tx, *, household_id: int, member_id: int, unit_id: int, mode: Mode, note: str, voice_ref: str,
              photo_ref: str, now: datetime) -> int:
    return await tx.execute(
        "INSERT INTO visits (household, member_id, unit_id, mode, note, voice_ref, photo_ref, visited_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (household_id, member_id, unit_id, mode, note, voice_ref, photo_ref,
                                            iso(now)))


async def get(tx: Tx, visit_id: int) -> Visit | None:
    row = await tx.one(f"{_VISIT} WHERE v.id = ?", (visit_id,))
    return None if row is None else _visit(row)


async def set_issue(tx: Tx, visit_id: int, issue_id: int) -> None:
    await tx.execute("UPDATE visits SET issue_id = ? WHERE id = ?", (issue_id, visit_id))


async def by_member(tx: Tx, member_id: int, limit: int) -> list[Visit]:
    """The member's latest visits, newest first."""
    rows = await tx.all(f"{_VISIT} WHERE v.member_id = ? ORDER BY v.id DESC LIMIT ?", (member_id, limit))
    return [_visit(row) for row in rows]


async def in_buildings(tx: Tx, building_ids: Sequence[int], limit: int) -> list[Visit]:
    """The latest visits to households of `building_ids`, newest first."""
    where = "WHERE h.building_id IN (SELECT value FROM json_each(?)) ORDER BY v.id DESC LIMIT ?"
    rows = await tx.all(f"{_VISIT} {where}", (json.dumps(list(building_ids)), limit))
    return [_visit(row) for row in rows]


async def branches_with_members(tx: Tx) -> list[int]:
    """The complexes with a party member at one of their party households (buildings' party-household units)."""
    rows = await tx.all("SELECT DISTINCT b.parent_id FROM roles r JOIN grid_units h ON h.id = r.unit_id "
                        "JOIN grid_units b ON b.id = h.parent_id WHERE r.role = 'party_member' "
                        "AND h.level = 'party_household' AND b.parent_id IS NOT NULL ORDER BY b.parent_id")
    return [row[0] for row in rows]
