"""Grid units repository."""

from __future__ import annotations

from bot.domain.grid import GridUnit, Level
from bot.storage.db import Row, Tx

_COLUMNS = "id, code, level, name, parent_id, linked_households"


def _unit(row: Row) -> GridUnit:
    linked = tuple(part for part in row["linked_households"].split(";") if part)
    return GridUnit(row["id"], row["code"], Level(row["level"]), row["name"], row["parent_id"], linked)


async def by_id(tx: Tx, unit_id: int) -> GridUnit | None:
    row = await tx.one(f"SELECT {_COLUMNS} FROM grid_units WHERE id = ?", (unit_id,))
    return _unit(row) if row else None


async def by_code(tx: Tx, code: str) -> GridUnit | None:
    row = await tx.one(f"SELECT {_COLUMNS} FROM grid_units WHERE code = ?", (code,))
    return _unit(row) if row else None


async def children(tx: Tx, parent_id: int | None, level: Level) -> list[GridUnit]:
    """Units of `level` directly under `parent_id` (any parent when None), in file order."""
    if parent_id is None:
        rows = await tx.all(f"SELECT {_COLUMNS} FROM grid_units WHERE level = ? ORDER BY position, id",
                            (level.value,))
    else:
        rows = await tx.all(
            f"SELECT {_COLUMNS} FROM grid_units WHERE parent_id = ? AND level = ? ORDER BY position, id",
            (parent_id, level.value),
        )
    return [_unit(row) for row in rows]


async def ancestry(tx: Tx, unit_id: int) -> list[GridUnit]:
    """The unit and every unit above it, nearest first."""
    rows = await tx.all(
        f"""WITH RECURSIVE up(id, depth) AS (
                SELECT id, 0 FROM grid_units WHERE id = ?
                UNION ALL SELECT g.parent_id, up.depth + 1 FROM grid_units g JOIN up ON g.id = up.id
                WHERE g.parent_id IS NOT NULL)
            SELECT {_COLUMNS.replace('id,', 'g.id,', 1)} FROM up JOIN grid_units g ON g.id = up.id
            ORDER BY up.depth""",
        (unit_id,),
    )
    return [_unit(row) for row in rows]
