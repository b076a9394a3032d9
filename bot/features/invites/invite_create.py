"""Admins invite grid members: role → unit → duties → a one-time link. `/invite ROLE UNIT [DUTY,...]` does it
in one message. Every step re-checks that the person is an admin. Diagram: invite_create.mmd.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.conversations.flow import (
    Advertised,
    Ctx,
    Done,
    Flow,
    Goto,
    Retry,
    State,
    Transition,
    UnitPath,
    choices,
    pick_unit,
    unit_choices,
)
from bot.domain.grid import Level
from bot.domain.messages import Inbound, Reply
from bot.domain.people import Duty, Role
from bot.features.invites import service as invites
from bot.features.invites.tokens import DUTIES_DONE, DUTY, ROLE, DutyPick, RolePick
from bot.i18n import t
from bot.services import people as people_service
from bot.storage import grid

_NEXT_LEVEL = {Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.COMPLEX, Level.COMPLEX: Level.BUILDING,
               Level.BUILDING: Level.PARTY_HOUSEHOLD}


@dataclass(slots=True)
class InviteData(UnitPath):
    """The invite being made: the role (a `Role` value), the units picked on the way down, the code of the unit the
    role is held at, the duties (`Duty` values) in the order picked."""

    role: str = ""
    unit: str = ""
    duties: list[str] = field(default_factory=list)


Draft = Ctx[InviteData]


def _denied() -> Done:
    return Done((Reply(t("auth.denied")),))


async def begin(ctx: Draft) -> Transition:
    if not ctx.is_admin:
        return _denied()
    args = ctx.entry.args.split()
    if not args:
        return Goto("role")
    if len(args) < 2 or args[0] not in {role.value for role in Role}:
        return Done((Reply(t("invite.usage")),))
    return await _create(ctx, Role(args[0]), args[1], invites.parse_duties(" ".join(args[2:])))


async def _create(ctx: Draft, role: Role, unit_code: str, duties: tuple[Duty, ...]) -> Transition:
    code = await invites.create(ctx.tx, role=role, unit_code=unit_code, duties=duties,
                                created_by=f"{ctx.sender.channel}:{ctx.sender.user_id}", now=ctx.now)
    unit = await grid.by_code(ctx.tx, unit_code)
    place = await people_service.place_label(ctx.tx, unit.id if unit else None)
    return Done((Reply(t("invite.created", role=t(f"role.{role.value}"), place=place, link=ctx.link(code),
                         code=code, days=invites.DEFAULT_DAYS)),))


async def ask_role(ctx: Draft) -> Reply:
    return Reply(t("invite.choose_role"),
                 choices([(t(f"role.{role.value}"), ROLE.make(RolePick(role))) for role in Role]))


async def on_role(ctx: Draft, inbound: Inbound) -> Transition:
    if not ctx.is_admin:
        return _denied()
    pick = ROLE.parse(inbound.token)
    if pick is None:
        return Retry("nav.use_buttons")
    role = pick.role
    ctx.data.role, ctx.data.duties = role.value, []
    if role.level is Level.STREET:
        streets = await grid.children(ctx.tx, None, Level.STREET)
        if not streets:
            return Done((Reply(t("reg.grid_empty")),))
        ctx.data.unit = streets[0].code
        return Goto("duties")
    return Goto("community")


def _unit_state(level: Level, parent: Level | None) -> State[InviteData]:
    """A state that asks for a unit of `level` under the unit picked at `parent`."""

    async def ask(ctx: Draft) -> Reply:
        return Reply(t(f"invite.choose_{level.value}"), await unit_choices(ctx, level, ctx.data.picked(parent)))

    async def on_pick(ctx: Draft, inbound: Inbound) -> Transition:
        if not ctx.is_admin:
            return _denied()
        unit = await pick_unit(ctx, inbound, level, ctx.data.picked(parent))
        if unit is None:
            return Retry("nav.use_buttons")
        ctx.data.pick(unit)
        if Role(ctx.data.role).level is level:
            ctx.data.unit = unit.code
            return Goto("duties")
        return Goto(_NEXT_LEVEL[level].value)

    return State(ask, on_pick)


async def ask_duties(ctx: Draft) -> Reply:
    picked = set(ctx.data.duties)
    items = [(("✓ " if duty.value in picked else "") + t(f"duty.{duty.value}"), DUTY.make(DutyPick(duty)))
             for duty in Duty]
    return Reply(t("invite.choose_duties"), choices([*items, (t("invite.create"), DUTIES_DONE)]))


async def on_duties(ctx: Draft, inbound: Inbound) -> Transition:
    if not ctx.is_admin:
        return _denied()
    if inbound.token == DUTIES_DONE:
        duties = tuple(Duty(d) for d in ctx.data.duties)
        return await _create(ctx, Role(ctx.data.role), ctx.data.unit, duties)
    pick = DUTY.parse(inbound.token)
    if pick is None:
        return Retry("nav.use_buttons")
    value, picked = pick.duty.value, ctx.data.duties
    if value in picked:
        picked.remove(value)
    else:
        picked.append(value)
    return Goto("duties")


FLOW = Flow(
    name="invite_create",
    first="role",
    data=InviteData,
    begin=begin,
    command="invite",
    advertised=Advertised.ADMINS,
    states={
        "role": State(ask_role, on_role, back=False),
        "community": _unit_state(Level.COMMUNITY, None),
        "complex": _unit_state(Level.COMPLEX, Level.COMMUNITY),
        "building": _unit_state(Level.BUILDING, Level.COMPLEX),
        "party_household": _unit_state(Level.PARTY_HOUSEHOLD, Level.BUILDING),
        "duties": State(ask_duties, on_duties),
    },
)
