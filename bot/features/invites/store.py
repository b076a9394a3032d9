"""One-time invite codes repository."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso, parse_iso
from bot.domain.people import Duty, Role
from bot.features.invites.model import Invite
from bot.storage.db import Tx


async def create(tx: Tx, *, code: str, role: Role, unit_id: int, duties: tuple[Duty, ...], created_by: str,
                 now: datetime, expires_at: datetime) -> None:
    await tx.execute(
        "INSERT INTO invites (code, role, unit_id, duties, created_by, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (code, role.value, unit_id, ",".join(d.value for d in duties), created_by, iso(now), iso(expires_at)),
    )


async def get(tx: Tx, code: str) -> Invite | None:
    row = await tx.one(
        "SELECT code, role, unit_id, duties, expires_at, used_at, created_by FROM invites WHERE code = ?", (code,))
    if row is None:
        return None
    duties = tuple(Duty(d) for d in row["duties"].split(",") if d)
    return Invite(row["code"], Role(row["role"]), row["unit_id"], duties, parse_iso(row["expires_at"]),
                  row["used_at"] is not None, row["created_by"])


async def mark_used(tx: Tx, code: str, person_id: int, now: datetime) -> bool:
    """Use the code once; False if someone used it first."""
    await tx.execute("UPDATE invites SET used_at = ?, used_by = ? WHERE code = ? AND used_at IS NULL",
                     (iso(now), person_id, code))
    return bool(await tx.scalar("SELECT changes()") == 1)
