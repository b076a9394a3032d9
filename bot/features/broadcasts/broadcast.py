"""Broadcasts (群发): scope → audience → text → photo (optional) → preview → confirm. The scope is drilled down
from the units the person may address; every unit token is checked again on the server, and so is the whole
broadcast when it is written. Diagram: broadcast.mmd.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import UNIT, Ctx, Done, Flow, Goto, Retry, State, Transition, choices, photo_or_skip
from bot.conversations.tokens import Ref
from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.broadcasts import notices, service
from bot.features.broadcasts.model import Audience
from bot.features.broadcasts.tokens import (
    AUDIENCE,
    EDIT,
    HERE,
    KEEP_PHOTO,
    NO_PHOTO,
    RESCOPE,
    SEND,
    UP,
    AudiencePick,
)
from bot.i18n import t
from bot.services.people import place_label
from bot.storage import grid

_BELOW = {Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.COMPLEX, Level.COMPLEX: Level.BUILDING}


@dataclass(slots=True)
class BroadcastData:
    """The broadcast being put together: `at` the unit the drill-down shows (None: the list of their units), then
    the chosen unit, audience (an `Audience` value), text and photo ("" for none)."""

    at: int | None = None
    unit: int = 0
    audience: str = ""
    text: str = ""
    photo: str = ""


Draft = Ctx[BroadcastData]


def _denied() -> Done:
    return Done((Reply(t("auth.denied")),))


async def _roots(ctx: Draft) -> list[GridUnit]:
    return await service.scopes_for(ctx.tx, ctx.person, ctx.is_admin)


async def _start_scope(ctx: Draft) -> bool:
    """Begin the drill-down at the person's only unit, or at the list of their units; False if they have none."""
    roots = await _roots(ctx)
    ctx.data.at = roots[0].id if len(roots) == 1 else None
    return bool(roots)


async def begin(ctx: Draft) -> Transition:
    if not await _start_scope(ctx):
        return _denied()
    return Goto("scope")


async def ask_scope(ctx: Draft) -> Reply:
    at = ctx.data.at
    roots = await _roots(ctx)
    unit = None if at is None else await grid.by_id(ctx.tx, at)
    if unit is None:
        return Reply(t("broadcast.choose_scope_top"), choices([(root.name, UNIT.make(Ref(root.id))) for root in roots]))
    below = await grid.children(ctx.tx, unit.id, _BELOW[unit.level]) if unit.level in _BELOW else []
    items = [(t("broadcast.here", name=unit.name), HERE), *[(child.name, UNIT.make(Ref(child.id))) for child in below]]
    if len(roots) > 1 or unit.id not in {root.id for root in roots}:
        items.append((t("broadcast.up"), UP))
    return Reply(t("broadcast.choose_scope", place=await place_label(ctx.tx, unit.id)), choices(items))


async def on_scope(ctx: Draft, inbound: Inbound) -> Transition:
    at = ctx.data.at
    if inbound.token == HERE and at is not None:
        if await service.scope_of(ctx.tx, ctx.person, ctx.is_admin, at) is None:
            return _denied()
        ctx.data.unit = at
        return Goto("audience")
    if inbound.token == UP and at is not None:
        unit = await grid.by_id(ctx.tx, at)
        parent = None if unit is None or unit.parent_id is None else unit.parent_id
        if parent is not None and await service.scope_of(ctx.tx, ctx.person, ctx.is_admin, parent) is not None:
            ctx.data.at = parent
        elif len(await _roots(ctx)) > 1:
            ctx.data.at = None
        return Goto("scope")
    ref = UNIT.parse(inbound.token)
    if ref is None:
        return Retry("nav.use_buttons")
    unit = await service.scope_of(ctx.tx, ctx.person, ctx.is_admin, ref.id)
    if unit is None:
        return Retry("auth.denied")
    if unit.level is Level.PARTY_HOUSEHOLD:
        return Retry("nav.use_buttons")
    ctx.data.at = unit.id
    return Goto("scope")


async def ask_audience(ctx: Draft) -> Reply:
    items = [(notices.audience_label(audience), AUDIENCE.make(AudiencePick(audience))) for audience in Audience]
    return Reply(t("broadcast.choose_audience", place=await place_label(ctx.tx, ctx.data.unit)),
                 choices(items, per_row=1))


async def on_audience(ctx: Draft, inbound: Inbound) -> Transition:
    pick = AUDIENCE.parse(inbound.token)
    if pick is None:
        return Retry("nav.use_buttons")
    ctx.data.audience = pick.audience.value
    return Goto("text")


async def ask_text(ctx: Draft) -> Reply:
    return Reply(t("broadcast.ask_text", max=service.MAX_TEXT))


async def on_text(ctx: Draft, inbound: Inbound) -> Transition:
    if inbound.kind not in (InboundKind.TEXT, InboundKind.PHOTO):
        return Retry("broadcast.need_text")
    if inbound.kind is InboundKind.PHOTO and not inbound.text.strip() and inbound.media_ref:
        ctx.data.photo = inbound.media_ref  # kept: offered again after the text
        return Goto("text", (Reply(t("broadcast.photo_kept")),))
    ctx.data.text = service.clean_text(inbound.text)
    if inbound.kind is InboundKind.PHOTO:  # a photo with its caption: both at once
        ctx.data.photo = inbound.media_ref
        return await _to_preview(ctx)
    return Goto("photo")


async def ask_photo(ctx: Draft) -> Reply:
    items = [(t("broadcast.no_photo"), NO_PHOTO)]
    if ctx.data.photo:
        items.insert(0, (t("broadcast.keep_photo"), KEEP_PHOTO))
    return Reply(t("broadcast.ask_photo"), choices(items, per_row=1))


async def on_photo(ctx: Draft, inbound: Inbound) -> Transition:
    photo = photo_or_skip(inbound, NO_PHOTO)
    if photo is not None:
        ctx.data.photo = photo
    elif inbound.token != KEEP_PHOTO or not ctx.data.photo:
        return Retry("broadcast.photo_or_skip")
    return await _to_preview(ctx)


async def _to_preview(ctx: Draft) -> Transition:
    audience = Audience(ctx.data.audience)
    reach = await service.count(ctx.tx, ctx.data.unit, audience)
    if not reach:
        return Goto("preview")
    note = t("broadcast.preview", audience=notices.audience_label(audience), count=f"{reach:,}")
    return Goto("preview", (Reply(note),))


async def ask_preview(ctx: Draft) -> Reply:
    """Exactly what recipients will see, with the button to send it to everyone it reaches."""
    unit_id, audience = ctx.data.unit, Audience(ctx.data.audience)
    reach = await service.count(ctx.tx, unit_id, audience)
    if not reach:
        return Reply(t("broadcast.nobody", place=await place_label(ctx.tx, unit_id),
                       audience=notices.audience_label(audience)),
                     choices([(t("broadcast.rescope"), RESCOPE), (t("broadcast.edit"), EDIT)], per_row=1))
    shown = await notices.message(ctx.tx, unit_id, ctx.data.text, ctx.data.photo)
    items = [(t("broadcast.send", count=f"{reach:,}"), SEND), (t("broadcast.edit"), EDIT),
             (t("broadcast.rescope"), RESCOPE)]
    return Reply(shown.text, choices(items, per_row=1), photo=shown.photo)


async def on_preview(ctx: Draft, inbound: Inbound) -> Transition:
    if inbound.token == EDIT:
        return Goto("text")
    if inbound.token == RESCOPE:
        if not await _start_scope(ctx):
            return _denied()
        return Goto("scope")
    if inbound.token != SEND:
        return Retry("nav.use_buttons")
    if ctx.person is None:
        return _denied()
    broadcast = await service.create(
        ctx.tx, ctx.person, ctx.is_admin, channel=ctx.sender.channel, chat_id=ctx.sender.chat_id,
        unit_id=ctx.data.unit, audience=Audience(ctx.data.audience), text=ctx.data.text, photo=ctx.data.photo,
        now=ctx.now)
    return Done((Reply(t("broadcast.started", count=f"{broadcast.total:,}")),))


FLOW = Flow(
    name="broadcast",
    first="scope",
    data=BroadcastData,
    begin=begin,
    states={
        "scope": State(ask_scope, on_scope, back=False),
        "audience": State(ask_audience, on_audience),
        "text": State(ask_text, on_text),
        "photo": State(ask_photo, on_photo),
        "preview": State(ask_preview, on_preview),
    },
)
