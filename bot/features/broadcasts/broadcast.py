"""Broadcasts (群发): scope → audience → text → photo (optional) → preview → confirm. The scope is drilled down
from the units the person may address; every unit token is checked again on the server, and so is the whole
broadcast when it is written. Diagram: broadcast.mmd.
"""

from __future__ import annotations

from bot.conversations.flow import Ctx, Done, Flow, Goto, Retry, State, Transition, choices, token_id
from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.broadcasts import service
from bot.features.broadcasts.model import Audience
from bot.features.broadcasts.service import BroadcastError
from bot.i18n import t
from bot.services.people import place_label
from bot.storage import grid

_BELOW = {Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.COMPLEX, Level.COMPLEX: Level.BUILDING}
HERE, UP = "bs:here", "bs:up"
SEND, EDIT, RESCOPE = "bc:send", "bc:edit", "bc:scope"
NO_PHOTO, KEEP_PHOTO = "ph:none", "ph:keep"


def _denied() -> Done:
    return Done((Reply(t("auth.denied")),))


async def _roots(ctx: Ctx) -> list[GridUnit]:
    return await service.scopes_for(ctx.tx, ctx.person, ctx.is_admin)


async def _start_scope(ctx: Ctx) -> bool:
    """Begin the drill-down at the person's only unit, or at the list of their units; False if they have none."""
    roots = await _roots(ctx)
    ctx.data.pop("at", None)
    if len(roots) == 1:
        ctx.data["at"] = roots[0].id
    return bool(roots)


async def begin(ctx: Ctx) -> Transition:
    if not await _start_scope(ctx):
        return _denied()
    return Goto("scope")


async def ask_scope(ctx: Ctx) -> Reply:
    at = ctx.data.get("at")
    roots = await _roots(ctx)
    if at is None:
        return Reply(t("broadcast.choose_scope_top"), choices([(unit.name, f"u:{unit.id}") for unit in roots]))
    unit = await grid.by_id(ctx.tx, at)
    if unit is None:
        return Reply(t("broadcast.choose_scope_top"), choices([(root.name, f"u:{root.id}") for root in roots]))
    below = await grid.children(ctx.tx, unit.id, _BELOW[unit.level]) if unit.level in _BELOW else []
    items = [(t("broadcast.here", name=unit.name), HERE), *[(child.name, f"u:{child.id}") for child in below]]
    if len(roots) > 1 or unit.id not in {root.id for root in roots}:
        items.append((t("broadcast.up"), UP))
    return Reply(t("broadcast.choose_scope", place=await place_label(ctx.tx, unit.id)), choices(items))


async def on_scope(ctx: Ctx, inbound: Inbound) -> Transition:
    at = ctx.data.get("at")
    if inbound.token == HERE and at is not None:
        if await service.scope_of(ctx.tx, ctx.person, ctx.is_admin, at) is None:
            return _denied()
        ctx.data["unit"] = at
        return Goto("audience")
    if inbound.token == UP and at is not None:
        unit = await grid.by_id(ctx.tx, at)
        parent = None if unit is None or unit.parent_id is None else unit.parent_id
        if parent is not None and await service.scope_of(ctx.tx, ctx.person, ctx.is_admin, parent) is not None:
            ctx.data["at"] = parent
        elif len(await _roots(ctx)) > 1:
            ctx.data.pop("at")
        return Goto("scope")
    unit_id = token_id(inbound, "u")
    if unit_id is None:
        return Retry("nav.use_buttons")
    unit = await service.scope_of(ctx.tx, ctx.person, ctx.is_admin, unit_id)
    if unit is None:
        return Retry("auth.denied")
    if unit.level is Level.PARTY_HOUSEHOLD:
        return Retry("nav.use_buttons")
    ctx.data["at"] = unit.id
    return Goto("scope")


async def ask_audience(ctx: Ctx) -> Reply:
    items = [(service.audience_label(audience), f"aud:{audience.value}") for audience in Audience]
    return Reply(t("broadcast.choose_audience", place=await place_label(ctx.tx, ctx.data["unit"])),
                 choices(items, per_row=1))


async def on_audience(ctx: Ctx, inbound: Inbound) -> Transition:
    head, _, value = inbound.token.partition(":")
    if head != "aud" or value not in {audience.value for audience in Audience}:
        return Retry("nav.use_buttons")
    ctx.data["audience"] = value
    return Goto("text")


async def ask_text(ctx: Ctx) -> Reply:
    return Reply(t("broadcast.ask_text", max=service.MAX_TEXT))


async def on_text(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.kind not in (InboundKind.TEXT, InboundKind.PHOTO):
        return Retry("broadcast.need_text")
    if inbound.kind is InboundKind.PHOTO and not inbound.text.strip() and inbound.media_ref:
        ctx.data["photo"] = inbound.media_ref  # kept: offered again after the text
        return Goto("text", (Reply(t("broadcast.photo_kept")),))
    try:
        text = service.clean_text(inbound.text)
    except BroadcastError as error:
        return Goto("text", (Reply(t(error.key, **error.params)),))
    ctx.data["text"] = text
    if inbound.kind is InboundKind.PHOTO:  # a photo with its caption: both at once
        ctx.data["photo"] = inbound.media_ref
        return await _to_preview(ctx)
    return Goto("photo")


async def ask_photo(ctx: Ctx) -> Reply:
    items = [(t("broadcast.no_photo"), NO_PHOTO)]
    if ctx.data.get("photo"):
        items.insert(0, (t("broadcast.keep_photo"), KEEP_PHOTO))
    return Reply(t("broadcast.ask_photo"), choices(items, per_row=1))


async def on_photo(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.PHOTO and inbound.media_ref:
        ctx.data["photo"] = inbound.media_ref
    elif inbound.token == NO_PHOTO:
        ctx.data.pop("photo", None)
    elif inbound.token != KEEP_PHOTO or not ctx.data.get("photo"):
        return Retry("broadcast.photo_or_skip")
    return await _to_preview(ctx)


async def _to_preview(ctx: Ctx) -> Transition:
    audience = Audience(ctx.data["audience"])
    reach = await service.count(ctx.tx, ctx.data["unit"], audience)
    if not reach:
        return Goto("preview")
    note = t("broadcast.preview", audience=service.audience_label(audience), count=f"{reach:,}")
    return Goto("preview", (Reply(note),))


async def ask_preview(ctx: Ctx) -> Reply:
    """Exactly what recipients will see, with the button to send it to everyone it reaches."""
    unit_id, audience = ctx.data["unit"], Audience(ctx.data["audience"])
    reach = await service.count(ctx.tx, unit_id, audience)
    if not reach:
        return Reply(t("broadcast.nobody", place=await place_label(ctx.tx, unit_id),
                       audience=service.audience_label(audience)),
                     choices([(t("broadcast.rescope"), RESCOPE), (t("broadcast.edit"), EDIT)], per_row=1))
    shown = await service.message(ctx.tx, unit_id, ctx.data["text"], ctx.data.get("photo", ""))
    items = [(t("broadcast.send", count=f"{reach:,}"), SEND), (t("broadcast.edit"), EDIT),
             (t("broadcast.rescope"), RESCOPE)]
    return Reply(shown.text, choices(items, per_row=1), photo=shown.photo)


async def on_preview(ctx: Ctx, inbound: Inbound) -> Transition:
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
    try:
        broadcast = await service.create(
            ctx.tx, ctx.person, ctx.is_admin, channel=ctx.sender.channel, chat_id=ctx.sender.chat_id,
            unit_id=ctx.data["unit"], audience=Audience(ctx.data["audience"]), text=ctx.data["text"],
            photo=ctx.data.get("photo", ""), now=ctx.now)
    except BroadcastError as error:
        if error.key == "auth.denied":
            return _denied()
        return Goto("preview", (Reply(t(error.key, **error.params)),))
    return Done((Reply(t("broadcast.started", count=f"{broadcast.total:,}")),))


FLOW = Flow(
    name="broadcast",
    first="scope",
    begin=begin,
    states={
        "scope": State(ask_scope, on_scope, back=False),
        "audience": State(ask_audience, on_audience),
        "text": State(ask_text, on_text),
        "photo": State(ask_photo, on_photo),
        "preview": State(ask_preview, on_preview),
    },
)
