"""亮身份: who looks after each household, the party member's card, and messages passed between a household's
resident and its party contact (neither ever sees the other's phone or channel ids).

A household (building, room) is looked after by a party-household unit (党员中心户): by default the first unit of
its building whose grid row lists the room (`linked_households`); an assignment made in the chat by the complex's
secretary or an administrator overrides it (history kept, one active). The contact is the party member holding
that unit. `contact_of` and `households_of` are what other features build on. Every action re-checks rights."""

from __future__ import annotations

from datetime import datetime

from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Reply
from bot.domain.people import Person, Role
from bot.domain.refusal import Refusal
from bot.features.contacts import notices, store
from bot.features.contacts.model import Card, Contact, Household, Message
from bot.services import notify
from bot.services.people import clean_room
from bot.storage import grid, people
from bot.storage.db import Tx

NAME_MAX = 20
PROMISE_MAX = 100
MESSAGE_MAX = 500


class ContactError(Refusal):
    """A refused action on a card, a message or a household's contact."""


# ------------------------------------------------------------------------------------------- who looks after whom


async def contact_of(tx: Tx, building_id: int, room: str) -> Contact | None:
    """The household's active contact: its assignment made in the chat, else the grid's party household listing
    the room in its building; None when neither."""
    household = Household(building_id, room)
    unit_id = await store.assigned_unit(tx, household)
    assigned = unit_id is not None
    if unit_id is None:
        unit_id = next((unit.id for unit in await grid.children(tx, building_id, Level.PARTY_HOUSEHOLD)
                        if room in unit.linked_households), None)
    if unit_id is None:
        return None
    return Contact(household, unit_id, await member_at(tx, unit_id), assigned)


async def member_at(tx: Tx, unit_id: int) -> int | None:
    """The party member holding a party-household unit (the first, should several)."""
    holders = await people.role_holders(tx, Role.PARTY_MEMBER, unit_id)
    return holders[0] if holders else None


async def households_of(tx: Tx, member_person_id: int) -> list[Household]:
    """The households the party member looks after now (through every party-household unit they hold)."""
    member = await people.by_id(tx, member_person_id)
    if member is None:
        return []
    return list(await looked_after(tx, member_units(member)))


async def looked_after(tx: Tx, unit_ids: list[int]) -> dict[Household, int]:
    """Every household whose active contact is one of the party-household units `unit_ids`, with that unit: the
    grid's lists (the first unit of a building listing a room has it) overridden by assignments in the chat."""
    units = [unit for unit_id in unit_ids if (unit := await grid.by_id(tx, unit_id)) is not None
             and unit.level is Level.PARTY_HOUSEHOLD and unit.parent_id is not None]
    buildings = list(dict.fromkeys(unit.parent_id for unit in units if unit.parent_id is not None))
    default: dict[Household, int] = {}
    for building in buildings:
        for unit in await grid.children(tx, building, Level.PARTY_HOUSEHOLD):
            for room in unit.linked_households:
                default.setdefault(Household(building, room), unit.id)
    merged = {**default, **dict(await store.assignments(tx, [*(unit.id for unit in units), *buildings]))}
    wanted = {unit.id for unit in units}
    return {household: unit for household, unit in merged.items() if unit in wanted}


async def party_units_under(tx: Tx, unit_ids: list[int]) -> list[GridUnit]:
    """The party-household units at or below `unit_ids`, in grid order."""
    below = set(await grid.subtree(tx, unit_ids))
    return [unit for unit in await grid.children(tx, None, Level.PARTY_HOUSEHOLD) if unit.id in below]


def member_units(person: Person) -> list[int]:
    """The party-household units `person` holds as a party member."""
    return [grant.unit_id for grant in person.roles if grant.role is Role.PARTY_MEMBER]


def is_member(person: Person | None) -> bool:
    return person is not None and bool(member_units(person))


# ------------------------------------------------------------------------------------------------ the card


def _require_member(person: Person | None) -> Person:
    if person is None or not member_units(person):
        raise ContactError("auth.denied")
    return person


async def card_of(tx: Tx, member: Person) -> Card:
    """The member's card: the name they chose (else their own), their first party-household unit, the duties they
    hold, their promise."""
    units = member_units(member)
    if not units:
        raise ContactError("auth.denied")
    stored = await store.card(tx, member.id)
    name, promise = stored if stored is not None else ("", "")
    return Card(member.id, name or member.display_name, units[0], tuple(grant.duty for grant in member.duties),
                promise)


async def my_card(tx: Tx, person: Person | None) -> tuple[Card, list[Household]]:
    """A party member's own card and the households it is shown to."""
    member = _require_member(person)
    return await card_of(tx, member), await households_of(tx, member.id)


def _clean(text: str, limit: int, *, empty_ok: bool = False) -> str:
    value = " ".join(text.split())
    if not value and not empty_ok:
        raise ContactError("contact.error.empty", retry=True)
    if len(value) > limit:
        raise ContactError("contact.error.too_long", retry=True, limit=limit)
    return value


async def set_name(tx: Tx, person: Person | None, text: str, now: datetime) -> None:
    member = _require_member(person)
    await store.save_card(tx, member.id, now, display_name=_clean(text, NAME_MAX))


async def set_promise(tx: Tx, person: Person | None, text: str, now: datetime) -> None:
    member = _require_member(person)
    await store.save_card(tx, member.id, now, promise=_clean(text, PROMISE_MAX))


# --------------------------------------------------------------------------------------------- the resident


async def home_contact(tx: Tx, person: Person | None) -> Contact | None:
    """The active contact of the person's home, if a party member holds it (and it is not themselves)."""
    if person is None or person.building_id is None or not person.room:
        return None
    contact = await contact_of(tx, person.building_id, person.room)
    if contact is None or contact.member_id is None or contact.member_id == person.id:
        return None
    return contact


async def my_contact(tx: Tx, person: Person | None) -> Card:
    """The card of the party member who looks after the person's home."""
    contact = await home_contact(tx, person)
    member = None if contact is None or contact.member_id is None else await people.by_id(tx, contact.member_id)
    if member is None:
        raise ContactError("contact.none")
    return await card_of(tx, member)


# ------------------------------------------------------------------------------------------------- messages


async def reply_target(tx: Tx, person: Person | None, message_id: int) -> Message:
    """The message `person` may answer: it was sent to them, and its two sides are still the household's resident
    and its party contact."""
    message = await store.message(tx, message_id)
    if person is None or message is None or message.recipient_id != person.id or message.sender_id is None:
        raise ContactError("auth.denied")
    contact = await contact_of(tx, message.household.building_id, message.household.room)
    sides = {person.id, message.sender_id}
    if contact is None or contact.member_id not in sides:
        raise ContactError("contact.error.moved")
    resident = await people.by_id(tx, next(side for side in sides if side != contact.member_id))
    if resident is None or Household(resident.building_id or 0, resident.room) != message.household:
        raise ContactError("contact.error.moved")
    return message


async def send(tx: Tx, person: Person | None, text: str, voice: str, reply_to: int | None,
               now: datetime) -> Message:
    """A resident's message to their party contact (`reply_to` None), or either side's answer to a message they
    got; pushed to the other side with a reply button."""
    if reply_to is None:
        contact = await home_contact(tx, person)
        if person is None or contact is None or contact.member_id is None:
            raise ContactError("contact.none")
        household, recipient = contact.household, contact.member_id
    else:
        answered = await reply_target(tx, person, reply_to)
        assert answered.sender_id is not None and person is not None
        household, recipient = answered.household, answered.sender_id
    words = "" if voice else _clean(text, MESSAGE_MAX)
    message = await store.add_message(tx, household, person.id, recipient, words, voice, now)
    contact = await contact_of(tx, household.building_id, household.room)
    member = None if contact is None or contact.member_id != person.id else (await card_of(tx, person)).name

    async def render() -> Reply:
        return await notices.message(tx, message, member=member)

    await notify.push_reply(tx, person_id=recipient, idempotency=f"contact:msg:{message.id}", now=now,
                            render=render)
    return message


# ------------------------------------------------------------------------------------------- assignments


async def branches(tx: Tx, person: Person | None, is_admin: bool) -> list[GridUnit]:
    """The complexes (小区党支部) whose households someone may assign: every one for administrators, their own for
    complex secretaries."""
    complexes = await grid.children(tx, None, Level.COMPLEX)
    if is_admin or (person is not None and any(grant.role is Role.STREET_ADMIN for grant in person.roles)):
        return complexes
    held = {grant.unit_id for grant in person.roles if grant.role is Role.COMPLEX_SECRETARY} if person else set()
    return [unit for unit in complexes if unit.id in held]


async def check_branch(tx: Tx, person: Person | None, is_admin: bool, unit_id: int) -> GridUnit:
    """The complex `unit_id`, or the unit's complex, if the person may assign households there."""
    complex_unit = next((unit for unit in await grid.ancestry(tx, unit_id) if unit.level is Level.COMPLEX), None)
    if complex_unit is None or complex_unit.id not in {unit.id for unit in await branches(tx, person, is_admin)}:
        raise ContactError("auth.denied")
    return complex_unit


async def household_at(tx: Tx, person: Person | None, is_admin: bool, building_id: int, text: str) -> Household:
    """The household a secretary names (a building of their complex and a typed room)."""
    building = await grid.by_id(tx, building_id)
    if building is None or building.level is not Level.BUILDING:
        raise ContactError("auth.denied")
    await check_branch(tx, person, is_admin, building.id)
    room = clean_room(text)
    if room is None:
        raise ContactError("contact.error.room", retry=True)
    return Household(building.id, room)


async def assign(tx: Tx, person: Person | None, is_admin: bool, household: Household, unit_id: int,
                 now: datetime) -> Contact:
    """Give the household to the party-household unit `unit_id` of the same complex; the new member is told."""
    branch = await check_branch(tx, person, is_admin, household.building_id)
    unit = await grid.by_id(tx, unit_id)
    if unit is None or unit.level is not Level.PARTY_HOUSEHOLD or (await check_branch(
            tx, person, is_admin, unit.id)).id != branch.id:
        raise ContactError("auth.denied")
    current = await contact_of(tx, household.building_id, household.room)
    if current is not None and current.unit_id == unit.id:
        raise ContactError("contact.error.same")
    await store.assign(tx, household, unit.id, None if person is None else person.id, now)
    contact = await contact_of(tx, household.building_id, household.room)
    assert contact is not None
    if contact.member_id is not None:

        async def render() -> Reply:
            return await notices.assigned(tx, household)

        await notify.push_reply(tx, person_id=contact.member_id, now=now, render=render,
                                idempotency=f"contact:assigned:{household.building_id}:{household.room}:"
                                            f"{now:%Y%m%d%H%M%S%f}")
    return contact
