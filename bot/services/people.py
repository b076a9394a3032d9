"""Joining, a person's home in the grid, language, and leaving."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.domain.grid import GridUnit, Level, room_label
from bot.domain.messages import Sender, clean_text
from bot.domain.people import Account, Person, Role
from bot.i18n import t
from bot.storage import grid, media, outbox, people
from bot.storage.db import Tx
from bot.storage.media import MediaColumn

ROOM_MAX = 16


async def register(tx: Tx, sender: Sender, locale: str, now: datetime) -> Person:
    """Create the person who has just consented, reached on the channel they wrote from."""
    person_id = await people.create(tx, Account(sender.channel, sender.user_id, sender.chat_id),
                                    display_name=clean_text(sender.display_name), locale=locale, now=now)
    person = await people.by_id(tx, person_id)
    assert person is not None
    return person


def clean_room(text: str) -> str | None:
    """A room label as typed ("3-201", "301室" kept as "301": see room_label), or None when it cannot be one."""
    room = room_label(text)
    if not room or len(room) > ROOM_MAX or not room.isprintable():
        return None
    return room


async def set_home(tx: Tx, person: Person, building: GridUnit, room: str) -> None:
    if building.level is not Level.BUILDING:
        raise ValueError("home must be a building")
    await people.set_home(tx, person.id, building.id, room)


async def place_label(tx: Tx, unit_id: int | None, room: str = "") -> str:
    """A unit named with the units above it, below the street: "幸福社区 · 阳光花园 · 1号楼 · 301"."""
    if unit_id is None:
        return t("home.none")
    units = list(reversed(await grid.ancestry(tx, unit_id)))
    path = [unit.name for unit in units if unit.level is not Level.STREET] or [unit.name for unit in units]
    return t("home.separator").join([*path, room] if room else path)


async def grant_street_admin(tx: Tx, person_id: int) -> None:
    """Administrators named in the settings hold the street's role, so street-level work reaches them."""
    streets = await grid.children(tx, None, Level.STREET)
    if streets:
        await people.grant_role(tx, person_id, Role.STREET_ADMIN, streets[0].id)


async def sync_admins(tx: Tx, admins: Iterable[tuple[str, str]]) -> None:
    """Give every configured administrator who has joined the street's role (run at start)."""
    for channel, user_id in admins:
        person = await people.person_for(tx, channel, user_id)
        if person is not None:
            await grant_street_admin(tx, person.id)


async def forget(tx: Tx, person: Person, now: datetime, files: Sequence[MediaColumn]) -> None:
    """Delete the person: accounts, home, roles and answers with them, every photo and voice note they sent (held
    in `files`, the features' media columns; the files once this commits), and what the outbox kept of their chats
    and of pushes quoting them. Reports and meeting topics they raised stay, without their name, so that the grid
    can finish the work."""
    await media.let_go_of_person(tx, person.id, now, files)
    await outbox.forget_person(tx, person.id)
    await people.delete(tx, person.id)
