"""People, channel accounts, roles and duties repository."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.clock import iso
from bot.domain.people import Account, Duty, DutyGrant, Person, Role, RoleGrant
from bot.storage.db import Tx


async def person_for(tx: Tx, channel: str, user_id: str) -> Person | None:
    """The person behind a channel account, with roles and duties."""
    row = await tx.one(
        """SELECT p.id, p.display_name, p.locale, p.building_id, p.room FROM people p
           JOIN channel_accounts a ON a.person_id = p.id WHERE a.channel = ? AND a.user_id = ?""",
        (channel, user_id),
    )
    if row is None:
        return None
    return await _with_grants(tx, row["id"], row["display_name"], row["locale"], row["building_id"], row["room"])


async def by_id(tx: Tx, person_id: int) -> Person | None:
    row = await tx.one("SELECT id, display_name, locale, building_id, room FROM people WHERE id = ?", (person_id,))
    if row is None:
        return None
    return await _with_grants(tx, row["id"], row["display_name"], row["locale"], row["building_id"], row["room"])


async def _with_grants(tx: Tx, person_id: int, name: str, locale: str, building_id: int | None,
                       room: str) -> Person:
    roles = await tx.all("SELECT role, unit_id FROM roles WHERE person_id = ? ORDER BY role, unit_id",
                         (person_id,))
    duties = await tx.all("SELECT duty, unit_id FROM duties WHERE person_id = ? ORDER BY duty, unit_id",
                          (person_id,))
    return Person(
        id=person_id, display_name=name, locale=locale, building_id=building_id, room=room,
        roles=tuple(RoleGrant(Role(r["role"]), r["unit_id"]) for r in roles),
        duties=tuple(DutyGrant(Duty(d["duty"]), d["unit_id"]) for d in duties),
    )


async def create(tx: Tx, account: Account, *, display_name: str, locale: str, now: datetime) -> int:
    """A new person (who has just consented) reached through `account`."""
    person_id = await tx.execute(
        "INSERT INTO people (display_name, locale, consent_at, created_at) VALUES (?, ?, ?, ?)",
        (display_name[:64], locale, iso(now), iso(now)),
    )
    await tx.execute(
        "INSERT INTO channel_accounts (channel, user_id, chat_id, person_id) VALUES (?, ?, ?, ?)",
        (account.channel, account.user_id, account.chat_id, person_id),
    )
    return person_id


async def set_home(tx: Tx, person_id: int, building_id: int | None, room: str) -> None:
    await tx.execute("UPDATE people SET building_id = ?, room = ? WHERE id = ?", (building_id, room, person_id))


async def set_locale(tx: Tx, person_id: int, locale: str) -> None:
    await tx.execute("UPDATE people SET locale = ? WHERE id = ?", (locale, person_id))


async def delete(tx: Tx, person_id: int) -> None:
    """Forget a person entirely (accounts, roles and duties cascade)."""
    await tx.execute("DELETE FROM people WHERE id = ?", (person_id,))


async def grant_role(tx: Tx, person_id: int, role: Role, unit_id: int) -> None:
    await tx.execute("INSERT OR IGNORE INTO roles (person_id, role, unit_id) VALUES (?, ?, ?)",
                     (person_id, role.value, unit_id))


async def grant_duty(tx: Tx, person_id: int, duty: Duty, unit_id: int) -> None:
    await tx.execute("INSERT OR IGNORE INTO duties (person_id, duty, unit_id) VALUES (?, ?, ?)",
                     (person_id, duty.value, unit_id))


async def accounts_of(tx: Tx, person_id: int) -> list[Account]:
    """Where a person can be reached (accounts that have not blocked us)."""
    rows = await tx.all(
        "SELECT channel, user_id, chat_id FROM channel_accounts WHERE person_id = ? AND unreachable_at IS NULL",
        (person_id,),
    )
    return [Account(r["channel"], r["user_id"], r["chat_id"]) for r in rows]


async def mark_unreachable(tx: Tx, channel: str, chat_id: str, now: datetime) -> None:
    await tx.execute("UPDATE channel_accounts SET unreachable_at = ? WHERE channel = ? AND chat_id = ?",
                     (iso(now), channel, chat_id))


async def mark_reachable(tx: Tx, channel: str, user_id: str) -> None:
    """The person wrote to us again, so they have unblocked the bot."""
    await tx.execute("UPDATE channel_accounts SET unreachable_at = NULL WHERE channel = ? AND user_id = ? "
                     "AND unreachable_at IS NOT NULL", (channel, user_id))


async def role_holders(tx: Tx, role: Role, unit_id: int) -> list[int]:
    rows = await tx.all("SELECT person_id FROM roles WHERE role = ? AND unit_id = ? ORDER BY person_id",
                        (role.value, unit_id))
    return [row[0] for row in rows]


async def duty_holders(tx: Tx, duty: Duty, unit_id: int) -> list[int]:
    rows = await tx.all("SELECT person_id FROM duties WHERE duty = ? AND unit_id = ? ORDER BY person_id",
                        (duty.value, unit_id))
    return [row[0] for row in rows]


async def living_in(tx: Tx, building_id: int, rooms: Sequence[str]) -> list[int]:
    """The people whose home is one of `rooms` of the building (rooms as registered), earliest first."""
    rows = await tx.all("SELECT id FROM people WHERE building_id = ? AND room IN (SELECT value FROM json_each(?)) "
                        "ORDER BY id", (building_id, json.dumps(list(rooms))))
    return [row[0] for row in rows]
