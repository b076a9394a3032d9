"""Media repository: letting go of a person's stored photos and voice notes, and the files left to delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import iso
from bot.storage.db import Tx


@dataclass(frozen=True, slots=True)
class MediaColumn:
    """A column holding stored files (a local path; a channel's file id is not ours). `sent_by` names the column
    of the person who sent the file: when they are forgotten the file goes, and with it the row when `whole_row`
    (the row is only that file), else the column is emptied. `sent_by` empty: the street's own file (a notice's
    photo), which stays when its author is forgotten."""

    table: str
    column: str
    sent_by: str = ""
    whole_row: bool = False

    def __post_init__(self) -> None:
        if not all(name.isidentifier() for name in (self.table, self.column, self.sent_by or "_")):
            raise ValueError(f"not an SQL identifier: {self}")


async def let_go_of_person(tx: Tx, person_id: int, now: datetime, columns: Sequence[MediaColumn]) -> int:
    """Detach every file `person_id` sent from the `columns` that keep it, and queue those files for deletion
    (after commit); returns how many files were queued. Rows that are more than the file stay, without it."""
    theirs = [column for column in columns if column.sent_by]
    if not theirs:
        return 0
    # Identifiers come from the features' declarations (checked above), never from input.
    sent = " UNION ".join(f"SELECT {c.column} AS path FROM {c.table} WHERE {c.sent_by} = ?1"  # noqa: S608
                          for c in theirs)
    queued = await tx.all(
        f"INSERT OR IGNORE INTO media_trash (path, added_at) SELECT path, ?2 FROM ({sent}) "  # noqa: S608
        "WHERE path LIKE '/%' RETURNING path",
        (person_id, iso(now)),
    )
    for c in theirs:
        if c.whole_row:
            await tx.execute(f"DELETE FROM {c.table} WHERE {c.sent_by} = ?", (person_id,))  # noqa: S608
        else:
            await tx.execute(f"UPDATE {c.table} SET {c.column} = '' WHERE {c.sent_by} = ?", (person_id,))  # noqa: S608
    return len(queued)


async def trash(tx: Tx, limit: int) -> list[str]:
    """Files waiting to be deleted."""
    return [row[0] for row in await tx.all("SELECT path FROM media_trash ORDER BY added_at LIMIT ?", (limit,))]


async def emptied(tx: Tx, paths: list[str]) -> None:
    """These files are deleted (or were already gone)."""
    await tx.executemany("DELETE FROM media_trash WHERE path = ?", ((path,) for path in paths))
