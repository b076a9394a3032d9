"""Reporting a problem: category → description (text or voice) → photos → confirm → submitted with a reference.

The place is the person's building unless they change it from confirm (or have no home): their building, another
place in their community (a building, a complex or the community itself), or a shared location. An open report of
the same kind at the same place is offered to follow instead. The draft lives in the flow's data, so a restart
resumes it. Cancel means "don't submit": once something is typed or recorded it asks first. Shortest path:
menu → category → type → skip photos → submit. Diagram: report.mmd.
"""

from __future__ import annotations

from bot.conversations.flow import (
    ABANDON,
    Ctx,
    Done,
    Flow,
    Goto,
    Retry,
    State,
    Transition,
    choices,
    confirm_abandon,
    pick_unit,
    unit_choices,
)
from bot.domain.grid import Level
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.reports import service as issue_service
from bot.features.reports import store as issue_store
from bot.features.reports.service import MAX_DESCRIPTION, MAX_PHOTOS, Draft, IssueError, category_name
from bot.i18n import t
from bot.services.people import place_label
from bot.storage import grid


async def category_label(ctx: Ctx, code: str) -> str:
    """A category's name in the current locale (its code once it is no longer offered)."""
    found = await issue_store.category(ctx.tx, code, active_only=False)
    return code if found is None else category_name(found)


def _home(ctx: Ctx) -> int | None:
    return None if ctx.person is None else ctx.person.building_id


async def begin(ctx: Ctx) -> Transition:
    if ctx.person is None:
        return Done((Reply(t("auth.denied")),))
    ctx.data["photos"] = []
    if ctx.person.building_id is not None:
        ctx.data["unit"] = ctx.person.building_id
    return Goto("category")


async def ask_category(ctx: Ctx) -> Reply:
    items = [(category_name(category), f"c:{category.code}") for category in await issue_store.categories(ctx.tx)]
    return Reply(t("report.choose_category"), choices(items))


async def on_category(ctx: Ctx, inbound: Inbound) -> Transition:
    code = inbound.token.removeprefix("c:")
    offered = {category.code for category in await issue_store.categories(ctx.tx)}
    if not inbound.token.startswith("c:") or code not in offered:
        return Retry("nav.use_buttons")
    ctx.data["category"] = code
    return Goto("description")


def _description(ctx: Ctx) -> str:
    return str(ctx.data.get("description") or (t("task.voice_only") if ctx.data.get("voice") else ""))


async def ask_description(ctx: Ctx) -> Reply:
    text = t("report.describe", category=await category_label(ctx, ctx.data["category"]))
    if not _description(ctx):
        return Reply(text)
    return Reply(f"{text}\n\n{t('report.current', description=_description(ctx))}",
                 choices([(t("report.keep"), "d:keep")]))


async def on_description(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.VOICE and inbound.media_ref:
        ctx.data.update(voice=inbound.media_ref, description="")
    elif inbound.kind is InboundKind.TEXT:
        text = inbound.text.strip()
        if not text:
            return Retry("report.description_empty")
        if len(text) > MAX_DESCRIPTION:
            return Retry("report.description_too_long")
        ctx.data.update(description=text, voice="")
    elif inbound.token != "d:keep" or not _description(ctx):
        return Retry("report.expect_description")
    return Goto("confirm" if ctx.data.get("review") else "photos")


async def ask_photos(ctx: Ctx) -> Reply:
    count = len(ctx.data.setdefault("photos", []))
    done = t("report.photos_done") if count else t("report.photos_skip")
    return Reply(t("report.photos", count=count, max=MAX_PHOTOS), choices([(done, "p:done")]))


async def on_photos(ctx: Ctx, inbound: Inbound) -> Transition:
    photos: list[str] = ctx.data.setdefault("photos", [])
    if inbound.kind is InboundKind.PHOTO and inbound.media_ref:
        if len(photos) < MAX_PHOTOS:
            photos.append(inbound.media_ref)
        if len(photos) < MAX_PHOTOS:
            return Goto("photos")
        return _reviewed(ctx, Reply(t("report.photos_full", max=MAX_PHOTOS)))
    if inbound.token == "p:done":
        return _reviewed(ctx)
    return Retry("report.expect_photo")


def _reviewed(ctx: Ctx, *notes: Reply) -> Transition:
    """The draft is complete: confirm it (asking the place first when there is none yet)."""
    ctx.data["review"] = True
    return Goto("confirm" if "unit" in ctx.data else "place", notes)


async def _place(ctx: Ctx) -> str:
    unit_id = ctx.data["unit"]
    room = ctx.person.room if ctx.person is not None and ctx.person.building_id == unit_id else ""
    label = await place_label(ctx.tx, unit_id, room)
    location = ctx.data.get("location")
    return f"{label} 📍{location}" if location else label


async def ask_confirm(ctx: Ctx) -> Reply:
    text = t("report.confirm", category=await category_label(ctx, ctx.data["category"]),
             description=_description(ctx), place=await _place(ctx), photos=len(ctx.data.get("photos", [])))
    return Reply(text, (*choices([(t("report.submit"), "ok:submit")]),
                        *choices([(t("report.change_place"), "ok:place"), (t("report.edit"), "ok:edit")])))


async def on_confirm(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == "ok:place":
        return Goto("place")
    if inbound.token == "ok:edit":
        return Goto("description")
    if inbound.token != "ok:submit":
        return Retry("nav.use_buttons")
    same = await issue_service.open_duplicate(ctx.tx, ctx.data["category"], ctx.data["unit"])
    if same is not None:
        ctx.data["duplicate"] = same.id
        return Goto("duplicate")
    return await _submit(ctx)


async def _submit(ctx: Ctx) -> Transition:
    if ctx.person is None:
        return Done((Reply(t("auth.denied")),))
    draft = Draft(category=ctx.data["category"], description=ctx.data.get("description", ""),
                  unit_id=ctx.data["unit"], voice_ref=ctx.data.get("voice", ""),
                  photos=tuple(ctx.data.get("photos", [])), location=ctx.data.get("location", ""))
    try:
        issue = await issue_service.submit(ctx.tx, ctx.person, draft, ctx.now, ctx.timezone)
    except IssueError as error:
        return Goto("confirm", (Reply(t(error.key, **error.params)),))
    return Done((Reply(t("report.submitted", ref=issue.ref)),))


async def ask_duplicate(ctx: Ctx) -> Reply:
    same = await issue_store.get(ctx.tx, ctx.data["duplicate"])
    if same is None:
        return Reply(t("issue.error.unknown"), choices([(t("report.file_anyway"), "dup:file")]))
    text = t("report.duplicate", ref=same.ref, category=await category_label(ctx, same.category),
             status=t(f"status.{same.status.value}"), place=await place_label(ctx.tx, same.unit_id))
    return Reply(text, choices([(t("report.follow"), "dup:follow"), (t("report.file_anyway"), "dup:file")],
                               per_row=1))


async def on_duplicate(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == "dup:file":
        return await _submit(ctx)
    if inbound.token != "dup:follow" or ctx.person is None:
        return Retry("nav.use_buttons")
    try:
        followed = await issue_service.follow(ctx.tx, ctx.data["duplicate"], ctx.person)
    except IssueError as error:
        return Goto("confirm", (Reply(t(error.key, **error.params)),))
    return Done((Reply(t("report.following", ref=followed.ref)),))


async def ask_place(ctx: Ctx) -> Reply:
    home = [(t("report.my_building"), "pl:home")] if _home(ctx) is not None else []
    items = [*home, (t("report.elsewhere"), "pl:other"), (t("report.share_location"), "pl:loc")]
    return Reply(t("report.where"), choices(items, per_row=1))


async def on_place(ctx: Ctx, inbound: Inbound) -> Transition:
    home = _home(ctx)
    if inbound.kind is InboundKind.LOCATION and inbound.text:
        return _located(ctx, inbound.text)
    if inbound.token == "pl:loc":
        return Goto("location")
    if inbound.token == "pl:home" and home is not None:
        ctx.data.pop("location", None)
        return _placed(ctx, home)
    if inbound.token != "pl:other":
        return Retry("nav.use_buttons")
    ctx.data.pop("location", None)
    community = None if home is None else next(
        (unit.id for unit in await grid.ancestry(ctx.tx, home) if unit.level is Level.COMMUNITY), None)
    if community is None:
        return Goto("community")
    ctx.data["community"] = community
    return Goto("complex")


def _placed(ctx: Ctx, unit_id: int) -> Transition:
    ctx.data["unit"] = unit_id
    return Goto("confirm")


def _located(ctx: Ctx, location: str) -> Transition:
    """A shared location refines the place; without any place yet, the community is still needed (routing)."""
    ctx.data["location"] = location
    if "unit" in ctx.data:
        return Goto("confirm")
    return Goto("community", (Reply(t("report.location_received")),))


async def ask_location(ctx: Ctx) -> Reply:
    return Reply(t("report.location_how"))


async def on_location(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.LOCATION and inbound.text:
        return _located(ctx, inbound.text)
    return Retry("report.expect_location")


def _unit_state(level: Level, parent_key: str | None, question: str) -> State:
    """Pick a unit of `level` under the one picked before; the one picked before may itself be the place."""

    async def ask(ctx: Ctx) -> Reply:
        parent = await grid.by_id(ctx.tx, ctx.data[parent_key]) if parent_key else None
        whole = [(t("report.whole_place", name=parent.name), "pl:here")] if parent is not None else []
        units = await unit_choices(ctx, level, None if parent is None else parent.id)
        return Reply(t(question), (*units, *choices(whole)))

    async def on_pick(ctx: Ctx, inbound: Inbound) -> Transition:
        parent_id = ctx.data[parent_key] if parent_key else None
        if inbound.token == "pl:here" and parent_id is not None:
            return _placed(ctx, parent_id)
        unit = await pick_unit(ctx, inbound, level, parent_id)
        if unit is None:
            return Retry("nav.use_buttons")
        if level is Level.BUILDING or (level is Level.COMMUNITY and ctx.data.get("location")):
            return _placed(ctx, unit.id)
        ctx.data[level.value] = unit.id
        return Goto("complex" if level is Level.COMMUNITY else "building")

    return State(ask, on_pick)


ON_CANCEL, ASK_ABANDON = confirm_abandon(lambda ctx, state: bool(_description(ctx)), "report.abandon_ask",
                                         "report.abandoned")

FLOW = Flow(
    name="report",
    first="category",
    begin=begin,
    on_cancel=ON_CANCEL,
    states={
        ABANDON: ASK_ABANDON,
        "category": State(ask_category, on_category, back=False),
        "description": State(ask_description, on_description),
        "photos": State(ask_photos, on_photos),
        "confirm": State(ask_confirm, on_confirm),
        "duplicate": State(ask_duplicate, on_duplicate),
        "place": State(ask_place, on_place),
        "location": State(ask_location, on_location),
        "community": _unit_state(Level.COMMUNITY, None, "report.choose_community"),
        "complex": _unit_state(Level.COMPLEX, "community", "report.choose_complex"),
        "building": _unit_state(Level.BUILDING, "complex", "report.choose_building"),
    },
)
