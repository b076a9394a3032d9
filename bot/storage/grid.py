"""Grid units repository."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.domain.grid import GridUnit, Level
from bot.storage.db import Row, Tx


def _unit(row: Row) -> GridUnit:
    linked = tuple(part for part in row["linked_households"].split(";") if part)
    return GridUnit(row["id"], row["code"], Level(row["level"]), row["name"], row["parent_id"], linked)


async def by_id(tx: Tx, unit_id: int) -> GridUnit | None:
    row = await tx.one("SELECT id, code, level, name, parent_id, linked_households FROM grid_units WHERE id = ?",
                       (unit_id,))
    return _unit(row) if row else None


async def by_code(tx: Tx, code: str) -> GridUnit | None:
    row = await tx.one("SELECT id, code, level, name, parent_id, linked_households FROM grid_units WHERE code = ?",
                       (code,))
    return _unit(row) if row else None


async def children(tx: Tx, parent_id: int | None, level: Level) -> list[GridUnit]:
    """Units of `level` directly under `parent_id` (any parent when None), in file order."""
    if parent_id is None:
        rows = await tx.all("SELECT id, code, level, name, parent_id, linked_households FROM grid_units "
                            "WHERE level = ? ORDER BY position, id",
                            (level.value,))
    else:
        rows = await tx.all(
            "SELECT id, code, level, name, parent_id, linked_households FROM grid_units "
            "WHERE parent_id = ? AND level = ? ORDER BY position, id",
            (parent_id, level.value),
        )
    return [_unit(row) for row in rows]


async def ancestry(tx: Tx, unit_id: int) -> list[GridUnit]:
    """The unit and every unit above it, nearest first."""
    rows = await tx.all(
        """WITH RECURSIVE up(id, depth) AS (
                SELECT id, 0 FROM grid_units WHERE id = ?
                UNION ALL SELECT g.parent_id, up.depth + 1 FROM grid_units g JOIN up ON g.id = up.id
                WHERE g.parent_id IS NOT NULL)
            SELECT g.id, g.code, g.level, g.name, g.parent_id, g.linked_households
            FROM up JOIN grid_units g ON g.id = up.id
            ORDER BY up.depth""",
        (unit_id,),
    )
    return [_unit(row) for row in rows]


async def all_units(tx: Tx) -> list[tuple[GridUnit, int]]:
    """Every unit with its position, in (position, id) order."""
    rows = await tx.all("SELECT id, code, level, name, parent_id, linked_households, position "
                        "FROM grid_units ORDER BY position, id")
    return [(_unit(row), int(row["position"])) for row in rows]


async def upsert(tx: Tx, code: str, level: Level, name: str, parent_id: int | None,
                 linked_households: Sequence[str], position: int) -> int:
    """Insert the unit, or update the one with this code (its level is kept); returns its id."""
    unit_id = await tx.scalar(
        """INSERT INTO grid_units (code, level, name, parent_id, linked_households, position)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
               linked_households = excluded.linked_households, position = excluded.position
           RETURNING id""",
        (code, level.value, name, parent_id, ";".join(linked_households), position),
    )
    return int(unit_id)


async def set_position(tx: Tx, unit_id: int, position: int) -> None:
    """Move the unit to `position` among its siblings."""
    await tx.execute("UPDATE grid_units SET position = ? WHERE id = ?", (position, unit_id))


async def subtree(tx: Tx, roots: Sequence[int]) -> list[int]:
    """Ids of `roots` and every unit below them."""
    rows = await tx.all(
        """WITH RECURSIVE below(id) AS (
               SELECT id FROM grid_units WHERE id IN (SELECT value FROM json_each(?))
               UNION SELECT g.id FROM grid_units g JOIN below ON g.parent_id = below.id)
           SELECT id FROM below""",
        (json.dumps(list(roots)),),
    )
    return [row[0] for row in rows]
