"""Contacts repository: members' cards, households' assignments made in the chat (with their history), and the
messages passed between residents and their party contact."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.clock import iso
from bot.features.contacts.model import Household, Message
from bot.storage.db import Row, Tx


async def card(tx: Tx, person_id: int) -> tuple[str, str] | None:
    """(display name, promise) the member wrote, or None before they wrote any."""
    row = await tx.one("SELECT display_name, promise FROM member_cards WHERE person_id = ?", (person_id,))
    return None if row is None else (row["display_name"], row["promise"])


async def save_card(tx: Tx, person_id: int, now: datetime, *, display_name: str | None = None,
                    promise: str | None = None) -> None:
    """Write the card's name and/or promise (what is None stays)."""
    await tx.execute(
        """INSERT INTO member_cards (person_id, display_name, promise, updated_at) VALUES (?, COALESCE(?, ''),
               COALESCE(?, ''), ?)
           ON CONFLICT (person_id) DO UPDATE SET display_name = COALESCE(?, display_name),
               promise = COALESCE(?, promise), updated_at = excluded.updated_at""",
        (person_id, display_name, promise, iso(now), display_name, promise))


async def assigned_unit(tx: Tx, household: Household) -> int | None:
    """The party-household unit the household was assigned to in the chat (its active assignment), if any."""
    value = await tx.scalar("SELECT unit_id FROM household_contacts WHERE building_id = ? AND room = ? "
                            "AND ended_at IS NULL", (household.building_id, household.room))
    return None if value is None else int(value)


async def assign(tx: Tx, household: Household, unit_id: int, by: int | None, now: datetime) -> None:
    """End the household's active assignment (kept as history) and start one to `unit_id`."""
    await tx.execute("UPDATE household_contacts SET ended_at = ? WHERE building_id = ? AND room = ? "
                     "AND ended_at IS NULL", (iso(now), household.building_id, household.room))
    await tx.execute("INSERT INTO household_contacts (building_id, room, unit_id, assigned_by, started_at) "
                     "VALUES (?, ?, ?, ?, ?)", (household.building_id, household.room, unit_id, by, iso(now)))


async def assignments(tx: Tx, unit_ids: Sequence[int]) -> list[tuple[Household, int]]:
    """Every active assignment made in the chat whose household lies in one of `unit_ids` (buildings) or which
    goes to one of them (party-household units): (household, unit)."""
    rows = await tx.all("SELECT building_id, room, unit_id FROM household_contacts WHERE ended_at IS NULL AND "
                        "(building_id IN (SELECT value FROM json_each(?1)) OR unit_id IN "
                        "(SELECT value FROM json_each(?1))) ORDER BY id", (json.dumps(list(unit_ids)),))
    return [(Household(row["building_id"], row["room"]), int(row["unit_id"])) for row in rows]


async def history(tx: Tx, household: Household) -> list[tuple[int, str, str | None]]:
    """The household's assignments in the chat, oldest first: (unit, started_at, ended_at)."""
    rows = await tx.all("SELECT unit_id, started_at, ended_at FROM household_contacts WHERE building_id = ? "
                        "AND room = ? ORDER BY id", (household.building_id, household.room))
    return [(int(row["unit_id"]), row["started_at"], row["ended_at"]) for row in rows]


def _message(row: Row) -> Message:
    return Message(row["id"], Household(row["building_id"], row["room"]), row["sender_id"], row["recipient_id"],
                   row["text"], row["voice_ref"])


async def add_message(tx: Tx, household: Household, sender_id: int, recipient_id: int, text: str, voice_ref: str,
                      now: datetime) -> Message:
    message_id = await tx.execute(
        "INSERT INTO contact_messages (building_id, room, sender_id, recipient_id, text, voice_ref, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (household.building_id, household.room, sender_id, recipient_id, text,
                                         voice_ref, iso(now)))
    found = await message(tx, message_id)
    assert found is not None
    return found


async def message(tx: Tx, message_id: int) -> Message | None:
    row = await tx.one("SELECT id, building_id, room, sender_id, recipient_id, text, voice_ref FROM contact_messages "
                       "WHERE id = ?", (message_id,))
    return None if row is None else _message(row)
