"""联系户分配: a complex's secretary (or an administrator) gives a household of the complex to one of its party
households: complex (when they have several) → building → room → the party household (the current contact is
shown). History is kept; one assignment is active. Every step re-checks the person's complexes, and the service
checks them again when it writes. Diagram: assign.mmd."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import (
    UNIT,
    Ctx,
    Done,
    Flow,
    Goto,
    Handler,
    Retry,
    State,
    Transition,
    choices,
    pick_unit,
    unit_choices,
)
from bot.conversations.tokens import Ref
from bot.domain.grid import Level
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.contacts import service
from bot.features.contacts.model import Household
from bot.i18n import t
from bot.services.people import place_label
from bot.storage import people


@dataclass(slots=True)
class AssignData:
    branch: int | None = None  # the complex
    building: int | None = None
    room: str | None = None


Assigning = Ctx[AssignData]


def _denied() -> Done:
    return Done((Reply(t("auth.denied")),))


async def begin(ctx: Assigning) -> Transition:
    branches = await service.branches(ctx.tx, ctx.person, ctx.is_admin)
    if not branches:
        return _denied()
    if len(branches) == 1:
        ctx.data.branch = branches[0].id
        return Goto("building")
    return Goto("branch")


def _guarded(handle: Handler[AssignData]) -> Handler[AssignData]:
    """A step of someone who may still assign households somewhere."""

    async def guarded(ctx: Assigning, inbound: Inbound) -> Transition:
        if not await service.branches(ctx.tx, ctx.person, ctx.is_admin):
            return _denied()
        return await handle(ctx, inbound)

    return guarded


async def ask_branch(ctx: Assigning) -> Reply:
    branches = await service.branches(ctx.tx, ctx.person, ctx.is_admin)
    return Reply(t("contact.ask_branch"), choices([(await place_label(ctx.tx, unit.id), UNIT.make(Ref(unit.id)))
                                                   for unit in branches], per_row=1))


async def on_branch(ctx: Assigning, inbound: Inbound) -> Transition:
    ref = UNIT.parse(inbound.token)
    if ref is None:
        return Retry("nav.use_buttons")
    ctx.data.branch = (await service.check_branch(ctx.tx, ctx.person, ctx.is_admin, ref.id)).id
    return Goto("building")


async def ask_building(ctx: Assigning) -> Reply:
    assert ctx.data.branch is not None
    return Reply(t("contact.ask_building", place=await place_label(ctx.tx, ctx.data.branch)),
                 await unit_choices(ctx, Level.BUILDING, ctx.data.branch))


async def on_building(ctx: Assigning, inbound: Inbound) -> Transition:
    unit = await pick_unit(ctx, inbound, Level.BUILDING, ctx.data.branch)
    if unit is None:
        return Retry("nav.use_buttons")
    await service.check_branch(ctx.tx, ctx.person, ctx.is_admin, unit.id)
    ctx.data.building = unit.id
    return Goto("room")


async def ask_room(ctx: Assigning) -> Reply:
    return Reply(t("contact.ask_room", place=await place_label(ctx.tx, ctx.data.building)))


async def on_room(ctx: Assigning, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT or ctx.data.building is None:
        return Retry("contact.expect_text")
    household = await service.household_at(ctx.tx, ctx.person, ctx.is_admin, ctx.data.building, inbound.text)
    ctx.data.room = household.room
    return Goto("unit")


def _household(ctx: Assigning) -> Household:
    assert ctx.data.building is not None and ctx.data.room is not None
    return Household(ctx.data.building, ctx.data.room)


async def ask_unit(ctx: Assigning) -> Reply:
    household = _household(ctx)
    assert ctx.data.branch is not None
    contact = await service.contact_of(ctx.tx, household.building_id, household.room)
    place = await place_label(ctx.tx, household.building_id, household.room)
    if contact is None:
        now = t("contact.current_none")
    else:
        member = None if contact.member_id is None else await people.by_id(ctx.tx, contact.member_id)
        card = None if member is None else await service.card_of(ctx.tx, member)
        unit = await place_label(ctx.tx, contact.unit_id)
        now = t("contact.current", unit=unit, name=card.name if card else t("contact.nobody_yet"))
    units = await service.party_units_under(ctx.tx, [ctx.data.branch])
    if not units:
        return Reply(t("contact.no_party_units"))
    return Reply(f"{t('contact.ask_unit', place=place)}\n{now}",
                 choices([(unit.name, UNIT.make(Ref(unit.id))) for unit in units], per_row=1))


async def on_unit(ctx: Assigning, inbound: Inbound) -> Transition:
    ref = UNIT.parse(inbound.token)
    if ref is None:
        return Retry("nav.use_buttons")
    household = _household(ctx)
    contact = await service.assign(ctx.tx, ctx.person, ctx.is_admin, household, ref.id, ctx.now)
    return Done((Reply(t("contact.assign_done", place=await place_label(ctx.tx, household.building_id,
                                                                        household.room),
                         unit=await place_label(ctx.tx, contact.unit_id))),))


FLOW = Flow(
    name="assign_contact",
    first="building",
    data=AssignData,
    begin=begin,
    states={
        "branch": State(ask_branch, _guarded(on_branch), back=False),
        "building": State(ask_building, _guarded(on_building)),
        "room": State(ask_room, _guarded(on_room)),
        "unit": State(ask_unit, _guarded(on_unit)),
    },
)
