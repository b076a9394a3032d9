"""The main menu: the features' entries and the menu's own, each shown to whom it is for. Diagram: menu.mmd."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversations.engine import MENU_FLOW
from bot.conversations.flow import Ctx, Done, Flow, Goto, NoData, Retry, Start, State, Transition, choices
from bot.conversations.tokens import Token
from bot.domain.messages import Inbound, Reply
from bot.i18n import t
from bot.services import people as people_service
from bot.storage.media import MediaColumn

Visible = Callable[[Ctx[Any]], bool | Awaitable[bool]]  # may ask the store (e.g. "do they have a contact?")


def everyone(ctx: Ctx[Any]) -> bool:
    """Every registered person."""
    return True


def grid_members(ctx: Ctx[Any]) -> bool:
    return ctx.person is not None and ctx.person.is_grid_member


def organizers(ctx: Ctx[Any]) -> bool:
    """Administrators, and anyone who holds a role in the grid."""
    return ctx.is_admin or (ctx.person is not None and bool(ctx.person.roles))


def admins(ctx: Ctx[Any]) -> bool:
    return ctx.is_admin


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A main-menu button: its label's catalog key, its token (pressed as "m:<token>"), the flow it starts, its
    place in the menu (lowest first; see OWN for the menu's own places) and who sees it."""

    label: str
    token: str
    flow: str
    order: int
    visible: Visible = everyone


# The menu's own entries; "me", "help" and "forget" stay in this flow, "home" moves the person (registration).
OWN = (MenuEntry("menu.me", "me", "", 70), MenuEntry("menu.home", "home", "", 80),
       MenuEntry("menu.language", "language", "language", 100), MenuEntry("menu.help", "help", "", 110),
       MenuEntry("menu.forget", "forget", "", 120))


@dataclass(frozen=True, slots=True)
class Pick:
    """A pressed menu entry."""

    entry: str


PICK = Token("m", Pick)
FORGET_YES = "forget:yes"
Menu = Ctx[NoData]


def build(entries: Iterable[MenuEntry], media: Sequence[MediaColumn]) -> Flow[NoData]:
    """The menu flow showing the features' `entries` among its own, in order; "delete my information" clears the
    files people sent that `media` holds."""
    ordered = sorted([*OWN, *entries], key=lambda entry: entry.order)

    async def visible(ctx: Menu) -> dict[str, MenuEntry]:
        return {entry.token: entry for entry in ordered if await _shown(entry, ctx)}

    async def ask_main(ctx: Menu) -> Reply:
        return Reply(t("menu.title"), choices([(t(entry.label), PICK.make(Pick(token)))
                                               for token, entry in (await visible(ctx)).items()]))

    async def on_main(ctx: Menu, inbound: Inbound) -> Transition:
        pick = PICK.parse(inbound.token)
        entry = None if pick is None else (await visible(ctx)).get(pick.entry)
        if entry is None:
            return Retry("auth.denied" if pick is not None else "nav.use_buttons")
        if entry.flow:
            return Start(entry.flow)
        if entry.token == "me":
            return Goto("main", (Reply(await _profile(ctx)),))
        if entry.token == "help":
            return Goto("main", (Reply(t("help.text")),))
        if entry.token == "home":
            return Start("registration", {"move": True})
        return Goto("forget")

    async def on_forget(ctx: Menu, inbound: Inbound) -> Transition:
        if inbound.token != FORGET_YES or ctx.person is None:
            return Retry("nav.use_buttons")
        await people_service.forget(ctx.tx, ctx.person, ctx.now, media)
        ctx.person = None
        return Done((Reply(t("forget.done")),), menu=False)

    return Flow(name=MENU_FLOW, first="main", data=NoData, states={"main": State(ask_main, on_main, nav=False),
                                                                   "forget": State(ask_forget, on_forget)})


async def _shown(entry: MenuEntry, ctx: Menu) -> bool:
    shown = entry.visible(ctx)
    return await shown if inspect.isawaitable(shown) else shown


async def _profile(ctx: Menu) -> str:
    person = ctx.person
    assert person is not None
    lines = [t("me.home", place=await people_service.place_label(ctx.tx, person.building_id, person.room))]
    for grant in person.roles:
        lines.append(t("me.role", role=t(f"role.{grant.role.value}"),
                       place=await people_service.place_label(ctx.tx, grant.unit_id)))
    for duty in person.duties:
        lines.append(t("me.duty", duty=t(f"duty.{duty.duty.value}"),
                       place=await people_service.place_label(ctx.tx, duty.unit_id)))
    if ctx.is_admin:
        lines.append(t("me.admin"))
    return "\n".join(lines)


async def ask_forget(ctx: Menu) -> Reply:
    return Reply(t("forget.confirm"), choices([(t("forget.yes"), FORGET_YES)]))

