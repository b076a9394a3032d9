"""Media repository: letting go of a person's stored photos and voice notes, and the files left to delete."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from bot.storage.db import Tx

# Everything a person sent that is kept as a file: photos added to reports, a report's voice notes, and a meeting
# topic's voice note and photo. Only local files (a path) go to the trash; a channel's file id is not ours.
_THEIRS = """
    SELECT path FROM issue_photos WHERE added_by = ?1
    UNION SELECT path FROM issue_voices WHERE added_by = ?1
    UNION SELECT voice_ref FROM issues WHERE reporter_id = ?1
    UNION SELECT voice_ref FROM meeting_topics WHERE submitter_id = ?1
    UNION SELECT photo_ref FROM meeting_topics WHERE submitter_id = ?1
"""


async def let_go_of_person(tx: Tx, person_id: int, now: datetime) -> int:
    """Detach every photo and voice note `person_id` sent from what keeps it, and queue their files for deletion
    (after commit); returns how many files were queued. Reports and topics stay, without them."""
    queued = await tx.all(
        f"INSERT OR IGNORE INTO media_trash (path, added_at) SELECT path, ?2 FROM ({_THEIRS}) "  # noqa: S608
        "WHERE path LIKE '/%' RETURNING path",
        (person_id, iso(now)),
    )
    await tx.execute("DELETE FROM issue_photos WHERE added_by = ?", (person_id,))
    await tx.execute("DELETE FROM issue_voices WHERE added_by = ?", (person_id,))
    await tx.execute("UPDATE issues SET voice_ref = '' WHERE reporter_id = ?", (person_id,))
    await tx.execute("UPDATE meeting_topics SET voice_ref = '', photo_ref = '' WHERE submitter_id = ?", (person_id,))
    return len(queued)


async def trash(tx: Tx, limit: int) -> list[str]:
    """Files waiting to be deleted."""
    return [row[0] for row in await tx.all("SELECT path FROM media_trash ORDER BY added_at LIMIT ?", (limit,))]


async def emptied(tx: Tx, paths: list[str]) -> None:
    """These files are deleted (or were already gone)."""
    await tx.executemany("DELETE FROM media_trash WHERE path = ?", ((path,) for path in paths))
