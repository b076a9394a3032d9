"""Who owns a report and who gets it: the building leader, the duty holder nearest the place, and, as work
climbs, the holders of each level above ("小事不出社区、大事不出街道"). Also who may see and act on a report."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.grid import GridUnit, Level
from bot.domain.people import Person, Role
from bot.features.reports.model import CLIMB, Category, Recipient
from bot.storage import grid, people
from bot.storage.db import Tx

ROLE_AT = {Level.BUILDING: Role.BUILDING_LEADER, Level.COMPLEX: Role.COMPLEX_SECRETARY,
           Level.COMMUNITY: Role.COMMUNITY_SECRETARY, Level.STREET: Role.STREET_ADMIN}


@dataclass(frozen=True, slots=True)
class Route:
    owner: GridUnit  # the level that owns the report now
    recipients: tuple[Recipient, ...]  # may be empty when nobody at all holds a role above the place

    def describe(self) -> str:
        """The decision as recorded in the audit trail."""
        people = ", ".join(f"{r.person_id}:{r.reason}@{r.unit_id}" for r in self.recipients) or "nobody"
        return f"owner {self.owner.code} ({self.owner.level.value}); to {people}"


def described_owner(detail: str) -> str:
    """The owner's unit code in a decision `Route.describe` wrote ("" if it is not one)."""
    head, _, rest = detail.partition(" ")
    return rest.split(" ", 1)[0] if head == "owner" else ""


async def chain(tx: Tx, unit_id: int) -> list[GridUnit]:
    """The place and the units above it that can own work, nearest first (building … street)."""
    return [unit for unit in await grid.ancestry(tx, unit_id) if unit.level in CLIMB]


async def holders(tx: Tx, unit: GridUnit) -> list[int]:
    """People holding the role of `unit`'s level at `unit`."""
    role = ROLE_AT.get(unit.level)
    return [] if role is None else await people.role_holders(tx, role, unit.id)


async def route(tx: Tx, category: Category, unit_id: int, *, above: Level | None = None) -> Route | None:
    """The owner and recipients for a report at `unit_id`, starting at the level above `above` (escalation).

    A level with nobody is skipped; the street is the last owner even when nobody holds a role there. The
    category's duty goes to its holder nearest the place (on escalation: at or above the new owner).
    None when there is no level left to climb to.
    """
    levels = await chain(tx, unit_id)
    if above is not None:
        levels = [unit for unit in levels if CLIMB.index(unit.level) > CLIMB.index(above)]
    if not levels:
        return None
    for owner in levels:
        owners = await holders(tx, owner)
        if owners or owner is levels[-1]:
            break
    start = levels.index(owner)
    found = [Recipient(person, ROLE_AT[owner.level].value, owner.id) for person in owners]
    if category.duty is not None:
        for unit in levels if above is None else levels[start:]:
            duty_people = await people.duty_holders(tx, category.duty, unit.id)
            if duty_people:
                found += [Recipient(person, f"duty:{category.duty.value}", unit.id) for person in duty_people]
                break
    unique = {r.person_id: r for r in reversed(found)}  # one push each; the first reason wins
    return Route(owner, tuple(sorted(unique.values(), key=found.index)))


async def in_scope(tx: Tx, person: Person, unit_id: int) -> bool:
    """A grid member sees and acts on what lies in a unit they hold a role or duty at, or below it."""
    held = {grant.unit_id for grant in person.roles} | {grant.unit_id for grant in person.duties}
    return bool(held) and any(unit.id in held for unit in await grid.ancestry(tx, unit_id))


async def scope_units(tx: Tx, person: Person) -> list[int]:
    """Every unit at or below the units where `person` holds a role or duty."""
    roots = {grant.unit_id for grant in person.roles} | {grant.unit_id for grant in person.duties}
    return await grid.subtree(tx, sorted(roots)) if roots else []
