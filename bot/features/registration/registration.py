"""Joining: language (for non-Chinese devices) → privacy consent → community → complex → building → room.

Also entered through deep links: a building poster (`/start <building code>`) skips to the room; an invite
(`/start inv-…`) shows the role offered and grants it on acceptance. Diagram: registration.mmd.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import (
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
from bot.features.invites import service as invites
from bot.features.invites.model import Status
from bot.features.registration import language
from bot.features.registration.tokens import CONSENT_NO, CONSENT_YES, INVITE_YES, ROOM_SKIP
from bot.i18n import normalize, t
from bot.services import people as people_service
from bot.storage import grid


@dataclass(slots=True)
class RegistrationData(UnitPath):
    """What joining has gathered: an invite code offered (None: none) and whether it was accepted, the units picked
    on the way down (`building` also from a poster's link), whether the language was chosen already, and whether
    a registered person is moving home (the menu's "change my home")."""

    invite: str | None = None
    invite_accepted: bool = False
    language_chosen: bool = False
    move: bool = False


Joining = Ctx[RegistrationData]


async def begin(ctx: Joining) -> Transition:
    payload = ctx.entry.payload
    if payload and invites.is_invite_payload(payload):
        found = await invites.check(ctx.tx, payload, ctx.now)
        if found.status is not Status.OK:
            return Done((Reply(t(f"invite.status.{found.status.value}")),))
        ctx.data.invite = payload
        return Goto("invite")
    if payload:
        building = await grid.by_code(ctx.tx, payload)
        if building is None or building.level is not Level.BUILDING:
            if ctx.person is not None:
                return Done((Reply(t("reg.unknown_link")),))
        else:
            ctx.data.building = building.id
    if ctx.person is None:
        return Goto(_first_question(ctx))
    return await _after_consent(ctx)


def _first_question(ctx: Joining) -> str:
    """Ask the language first when the device is not Chinese and nobody chose one yet."""
    asked = ctx.data.language_chosen or normalize(ctx.sender.language_hint) == "zh_CN"
    return "consent" if asked else "language"


async def _after_consent(ctx: Joining) -> Transition:
    if ctx.data.invite is not None:
        return await _redeem(ctx) if ctx.data.invite_accepted else Goto("invite")
    if ctx.data.building is not None:
        return Goto("room")
    if ctx.is_admin and not ctx.data.move:
        return Done((Reply(t("reg.welcome_admin")),))
    return Goto("community")


async def on_language(ctx: Joining, inbound: Inbound) -> Transition:
    code = language.chosen(inbound)
    if code is None:
        return Retry("nav.use_buttons")
    ctx.locale = code
    ctx.data.language_chosen = True
    return Goto("consent")


async def ask_consent(ctx: Joining) -> Reply:
    return Reply(t("reg.privacy"), choices([(t("reg.agree"), CONSENT_YES), (t("reg.decline"), CONSENT_NO)]))


async def on_consent(ctx: Joining, inbound: Inbound) -> Transition:
    if inbound.token == CONSENT_NO:
        return Done((Reply(t("reg.declined")),), menu=False)
    if inbound.token != CONSENT_YES:
        return Retry("nav.use_buttons")
    ctx.person = await people_service.register(ctx.tx, ctx.sender, ctx.locale, ctx.now)
    if ctx.is_admin:
        await people_service.grant_street_admin(ctx.tx, ctx.person.id)
    return await _after_consent(ctx)


def _unit_state(level: Level, parent: Level | None) -> State[RegistrationData]:
    """A state that asks for a unit of `level` under the unit picked at `parent` (the previous state)."""

    async def ask(ctx: Joining) -> Reply:
        buttons = await unit_choices(ctx, level, ctx.data.picked(parent))
        return Reply(t(f"reg.choose_{level.value}") if buttons else t("reg.grid_empty"), buttons)

    async def on_pick(ctx: Joining, inbound: Inbound) -> Transition:
        unit = await pick_unit(ctx, inbound, level, ctx.data.picked(parent))
        if unit is None:
            return Retry("nav.use_buttons")
        ctx.data.pick(unit)
        return Goto({Level.COMMUNITY: "complex", Level.COMPLEX: "building"}.get(level, "room"))

    return State(ask, on_pick)


async def ask_room(ctx: Joining) -> Reply:
    place = await people_service.place_label(ctx.tx, ctx.data.building)
    return Reply(t("reg.room", place=place), choices([(t("reg.skip_room"), ROOM_SKIP)]))


async def on_room(ctx: Joining, inbound: Inbound) -> Transition:
    if inbound.token == ROOM_SKIP:
        room = ""
    elif inbound.text:
        cleaned = people_service.clean_room(inbound.text)
        if cleaned is None:
            return Retry("reg.room_invalid")
        room = cleaned
    else:
        return Retry("reg.room_expected")
    building = None if ctx.data.building is None else await grid.by_id(ctx.tx, ctx.data.building)
    if building is None or ctx.person is None:
        return Retry("nav.use_buttons")
    await people_service.set_home(ctx.tx, ctx.person, building, room)
    return Done((Reply(t("reg.welcome", place=await people_service.place_label(ctx.tx, building.id, room))),))


async def ask_invite(ctx: Joining) -> Reply:
    found = await invites.check(ctx.tx, ctx.data.invite or "", ctx.now)
    if found.status is not Status.OK or found.role is None or found.unit is None:
        return Reply(t(f"invite.status.{found.status.value}"))
    return Reply(
        t("invite.offer", role=t(f"role.{found.role.value}"),
          place=await people_service.place_label(ctx.tx, found.unit.id),
          duties=", ".join(t(f"duty.{d.value}") for d in found.duties) or t("invite.no_duties")),
        choices([(t("invite.accept"), INVITE_YES)]),
    )


async def on_invite(ctx: Joining, inbound: Inbound) -> Transition:
    if inbound.token != INVITE_YES:
        return Retry("nav.use_buttons")
    ctx.data.invite_accepted = True
    if ctx.person is None:
        return Goto(_first_question(ctx))
    return await _redeem(ctx)


async def _redeem(ctx: Joining) -> Transition:
    assert ctx.person is not None and ctx.data.invite is not None
    code, ctx.data.invite = ctx.data.invite, None
    found = await invites.redeem(ctx.tx, code, ctx.person.id, ctx.now)
    if found.status is not Status.OK or found.role is None or found.unit is None:
        return Done((Reply(t(f"invite.status.{found.status.value}")),))
    place = await people_service.place_label(ctx.tx, found.unit.id)
    return Done((Reply(t("invite.granted", role=t(f"role.{found.role.value}"), place=place)),))


FLOW = Flow(
    name="registration",
    first="consent",
    data=RegistrationData,
    begin=begin,
    states={
        "language": State(language.ask, on_language, back=False),
        "consent": State(ask_consent, on_consent),
        "community": _unit_state(Level.COMMUNITY, None),
        "complex": _unit_state(Level.COMPLEX, Level.COMMUNITY),
        "building": _unit_state(Level.BUILDING, Level.COMPLEX),
        "room": State(ask_room, on_room),
        "invite": State(ask_invite, on_invite, back=False),
    },
)
