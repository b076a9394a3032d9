"""Admins invite grid members: role → unit → duties → a one-time link. `/invite ROLE UNIT [DUTY,...]` does it
in one message. Every step re-checks that the person is an admin. Diagram: invite_create.mmd.
"""

from __future__ import annotations

from bot.conversations.flow import (
    Ctx,
    Done,
    Flow,
    Goto,
    Retry,
    State,
    Transition,
    choices,
    pick_unit,
    unit_choices,
)
from bot.domain.grid import Level
from bot.domain.messages import Inbound, Reply
from bot.domain.people import Duty, Role
from bot.features.invites import service as invites
from bot.i18n import t
from bot.services import people as people_service
from bot.storage import grid

_NEXT_LEVEL = {Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.COMPLEX, Level.COMPLEX: Level.BUILDING}


def _denied() -> Done:
    return Done((Reply(t("auth.denied")),))


async def begin(ctx: Ctx) -> Transition:
    if not ctx.is_admin:
        return _denied()
    args = ctx.entry.args.split()
    if not args:
        return Goto("role")
    if len(args) < 2 or args[0] not in {role.value for role in Role}:
        return Done((Reply(t("invite.usage")),))
    try:
        duties = invites.parse_duties(" ".join(args[2:]))
    except invites.InviteError as error:
        return Done((Reply(t(error.key, **error.params)),))
    return await _create(ctx, Role(args[0]), args[1], duties)


async def _create(ctx: Ctx, role: Role, unit_code: str, duties: tuple[Duty, ...]) -> Transition:
    try:
        code = await invites.create(ctx.tx, role=role, unit_code=unit_code, duties=duties,
                                    created_by=f"{ctx.sender.channel}:{ctx.sender.user_id}", now=ctx.now)
    except invites.InviteError as error:
        return Done((Reply(t(error.key, **error.params)),))
    unit = await grid.by_code(ctx.tx, unit_code)
    place = await people_service.place_label(ctx.tx, unit.id if unit else None)
    return Done((Reply(t("invite.created", role=t(f"role.{role.value}"), place=place, link=ctx.link(code),
                         code=code, days=invites.DEFAULT_DAYS)),))


async def ask_role(ctx: Ctx) -> Reply:
    return Reply(t("invite.choose_role"), choices([(t(f"role.{role.value}"), f"role:{role.value}") for role in Role]))


async def on_role(ctx: Ctx, inbound: Inbound) -> Transition:
    if not ctx.is_admin:
        return _denied()
    try:
        role = Role(inbound.token.removeprefix("role:"))
    except ValueError:
        return Retry("nav.use_buttons")
    ctx.data.update(role=role.value, duties=[])
    if role.level is Level.STREET:
        streets = await grid.children(ctx.tx, None, Level.STREET)
        if not streets:
            return Done((Reply(t("reg.grid_empty")),))
        ctx.data["unit"] = streets[0].code
        return Goto("duties")
    return Goto("community")


def _unit_state(level: Level, parent_key: str | None) -> State:
    async def ask(ctx: Ctx) -> Reply:
        return Reply(t(f"invite.choose_{level.value}"),
                     await unit_choices(ctx, level, ctx.data.get(parent_key) if parent_key else None))

    async def on_pick(ctx: Ctx, inbound: Inbound) -> Transition:
        if not ctx.is_admin:
            return _denied()
        unit = await pick_unit(ctx, inbound, level, ctx.data.get(parent_key) if parent_key else None)
        if unit is None:
            return Retry("nav.use_buttons")
        ctx.data[level.value] = unit.id
        if Role(ctx.data["role"]).level is level:
            ctx.data["unit"] = unit.code
            return Goto("duties")
        return Goto(_NEXT_LEVEL[level].value)

    return State(ask, on_pick)


async def ask_duties(ctx: Ctx) -> Reply:
    picked = set(ctx.data.get("duties", []))
    items = [(("✓ " if duty.value in picked else "") + t(f"duty.{duty.value}"), f"duty:{duty.value}") for duty in Duty]
    return Reply(t("invite.choose_duties"), choices([*items, (t("invite.create"), "duty:done")]))


async def on_duties(ctx: Ctx, inbound: Inbound) -> Transition:
    if not ctx.is_admin:
        return _denied()
    value = inbound.token.removeprefix("duty:")
    if value == "done" and inbound.token.startswith("duty:"):
        duties = tuple(Duty(d) for d in ctx.data.get("duties", []))
        return await _create(ctx, Role(ctx.data["role"]), ctx.data["unit"], duties)
    if not inbound.token.startswith("duty:") or value not in {duty.value for duty in Duty}:
        return Retry("nav.use_buttons")
    picked: list[str] = ctx.data.setdefault("duties", [])
    if value in picked:
        picked.remove(value)
    else:
        picked.append(value)
    return Goto("duties")


FLOW = Flow(
    name="invite_create",
    first="role",
    begin=begin,
    command="invite",
    states={
        "role": State(ask_role, on_role, back=False),
        "community": _unit_state(Level.COMMUNITY, None),
        "complex": _unit_state(Level.COMPLEX, "community"),
        "building": _unit_state(Level.BUILDING, "complex"),
        "duties": State(ask_duties, on_duties),
    },
)
