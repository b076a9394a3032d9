"""The console demo's sample street: the bundled grid and a grid member for every building and community."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.domain.grid import Level
from bot.domain.people import Account, Duty, Role
from bot.services import people as people_service
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database, Tx

SAMPLE_GRID = Path(__file__).resolve().parents[2] / "sample" / "grid.csv"
CHANNEL = "console"
ADMIN_ID = "admin"  # the console demo's street administrator
# Duties the sample community secretaries hold, so that every duty has a holder in the demo.
_SECRETARY_DUTIES = (Duty.SAFETY, Duty.SANITATION, Duty.MEDIATION, Duty.PUBLICITY, Duty.LEGAL_ADVISOR)


def member_id(role: Role, unit_code: str) -> str:
    """The console user id of the sample holder of `role` at `unit_code`."""
    return f"{role.value.split('_')[0]}-{unit_code}"


async def seed(db: Database, now: datetime, locale: str) -> None:
    """Load the sample street into an empty database; a database that has a grid is left as it is."""
    async with db.read() as tx:
        if await grid.children(tx, None, Level.STREET):
            return
    await import_grid(db, SAMPLE_GRID.read_bytes())
    async with db.write() as tx:
        for building in await grid.children(tx, None, Level.BUILDING):
            await _member(tx, Role.BUILDING_LEADER, building.code, building.id, (), now, locale)
        for community in await grid.children(tx, None, Level.COMMUNITY):
            await _member(tx, Role.COMMUNITY_SECRETARY, community.code, community.id, _SECRETARY_DUTIES, now, locale)
        admin = await people.create(tx, Account(CHANNEL, ADMIN_ID, ADMIN_ID), display_name=ADMIN_ID, locale=locale,
                                    now=now)
        await people_service.grant_street_admin(tx, admin)


async def _member(tx: Tx, role: Role, code: str, unit_id: int, duties: tuple[Duty, ...], now: datetime,
                  locale: str) -> None:
    user_id = member_id(role, code)
    person_id = await people.create(tx, Account(CHANNEL, user_id, user_id), display_name=user_id, locale=locale,
                                    now=now)
    await people.grant_role(tx, person_id, role, unit_id)
    for duty in duties:
        await people.grant_duty(tx, person_id, duty, unit_id)
