"""Reporting a problem: category → description (text or voice) → photos → confirm → submitted with a reference.

The place is the person's building unless they change it from confirm (or have no home): their building, another
place in their community (a building, a complex or the community itself), or a shared location. An open report of
the same kind at the same place is offered to follow instead. The draft lives in the flow's data, so a restart
resumes it. Cancel means "don't submit": once something is typed or recorded it asks first. Shortest path:
menu → category → type → skip photos → submit. Diagram: report.mmd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
from bot.features.reports import tokens
from bot.features.reports.notices import category_name
from bot.features.reports.service import MAX_DESCRIPTION, MAX_PHOTOS, Draft, IssueError
from bot.features.reports.tokens import CATEGORY, CategoryPick
from bot.i18n import t
from bot.services.people import place_label
from bot.storage import grid


@dataclass(slots=True)
class ReportData:
    """The draft: what was picked, typed and sent so far. `unit` is None until there is a place; `community` and
    `complex` are the units picked on the way to it; `review`: the draft was complete once (edits go back to
    confirm); `duplicate`: the open report offered to follow instead."""

    photos: list[str] = field(default_factory=list)
    unit: int | None = None
    category: str = ""
    description: str = ""
    voice: str = ""
    location: str = ""
    review: bool = False
    duplicate: int | None = None
    community: int | None = None
    complex: int | None = None


Report = Ctx[ReportData]


async def category_label(ctx: Ctx[Any], code: str) -> str:
    """A category's name in the current locale (its code once it is no longer offered)."""
    found = await issue_store.category(ctx.tx, code, active_only=False)
    return code if found is None else category_name(found)


def _home(ctx: Report) -> int | None:
    return None if ctx.person is None else ctx.person.building_id


async def begin(ctx: Report) -> Transition:
    if ctx.person is None:
        return Done((Reply(t("auth.denied")),))
    ctx.data.photos = []
    if ctx.person.building_id is not None:
        ctx.data.unit = ctx.person.building_id
    return Goto("category")


async def ask_category(ctx: Report) -> Reply:
    items = [(category_name(category), CATEGORY.make(CategoryPick(category.code)))
             for category in await issue_store.categories(ctx.tx)]
    return Reply(t("report.choose_category"), choices(items))


async def on_category(ctx: Report, inbound: Inbound) -> Transition:
    pick = CATEGORY.parse(inbound.token)
    offered = {category.code for category in await issue_store.categories(ctx.tx)}
    if pick is None or pick.code not in offered:
        return Retry("nav.use_buttons")
    ctx.data.category = pick.code
    return Goto("description")


def _description(ctx: Report) -> str:
    return ctx.data.description or (t("task.voice_only") if ctx.data.voice else "")


async def ask_description(ctx: Report) -> Reply:
    text = t("report.describe", category=await category_label(ctx, ctx.data.category))
    if not _description(ctx):
        return Reply(text)
    return Reply(f"{text}\n\n{t('report.current', description=_description(ctx))}",
                 choices([(t("report.keep"), tokens.KEEP)]))


async def on_description(ctx: Report, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.VOICE and inbound.media_ref:
        ctx.data.voice, ctx.data.description = inbound.media_ref, ""
    elif inbound.kind is InboundKind.TEXT:
        text = inbound.text.strip()
        if not text:
            return Retry("report.description_empty")
        if len(text) > MAX_DESCRIPTION:
            return Retry("report.description_too_long")
        ctx.data.description, ctx.data.voice = text, ""
    elif inbound.token != tokens.KEEP or not _description(ctx):
        return Retry("report.expect_description")
    return Goto("confirm" if ctx.data.review else "photos")


async def ask_photos(ctx: Report) -> Reply:
    count = len(ctx.data.photos)
    done = t("report.photos_done") if count else t("report.photos_skip")
    return Reply(t("report.photos", count=count, max=MAX_PHOTOS), choices([(done, tokens.PHOTOS_DONE)]))


async def on_photos(ctx: Report, inbound: Inbound) -> Transition:
    photos = ctx.data.photos
    if inbound.kind is InboundKind.PHOTO and inbound.media_ref:
        if len(photos) < MAX_PHOTOS:
            photos.append(inbound.media_ref)
        if len(photos) < MAX_PHOTOS:
            return Goto("photos")
        return _reviewed(ctx, Reply(t("report.photos_full", max=MAX_PHOTOS)))
    if inbound.token == tokens.PHOTOS_DONE:
        return _reviewed(ctx)
    return Retry("report.expect_photo")


def _reviewed(ctx: Report, *notes: Reply) -> Transition:
    """The draft is complete: confirm it (asking the place first when there is none yet)."""
    ctx.data.review = True
    return Goto("confirm" if ctx.data.unit is not None else "place", notes)


def _unit(ctx: Report) -> int:
    """The place picked; the states that need it are only reached once there is one."""
    assert ctx.data.unit is not None
    return ctx.data.unit


async def _place(ctx: Report) -> str:
    unit_id = _unit(ctx)
    room = ctx.person.room if ctx.person is not None and ctx.person.building_id == unit_id else ""
    label = await place_label(ctx.tx, unit_id, room)
    location = ctx.data.location
    return f"{label} 📍{location}" if location else label


async def ask_confirm(ctx: Report) -> Reply:
    text = t("report.confirm", category=await category_label(ctx, ctx.data.category),
             description=_description(ctx), place=await _place(ctx), photos=len(ctx.data.photos))
    return Reply(text, (*choices([(t("report.submit"), tokens.SUBMIT)]),
                        *choices([(t("report.change_place"), tokens.CHANGE_PLACE),
                                  (t("report.edit"), tokens.EDIT)])))


async def on_confirm(ctx: Report, inbound: Inbound) -> Transition:
    if inbound.token == tokens.CHANGE_PLACE:
        return Goto("place")
    if inbound.token == tokens.EDIT:
        return Goto("description")
    if inbound.token != tokens.SUBMIT:
        return Retry("nav.use_buttons")
    same = await issue_service.open_duplicate(ctx.tx, ctx.data.category, _unit(ctx))
    if same is not None:
        ctx.data.duplicate = same.id
        return Goto("duplicate")
    return await _submit(ctx)  # a refusal (the draft can be fixed) asks confirm again


async def _submit(ctx: Report) -> Transition:
    if ctx.person is None:
        return Done((Reply(t("auth.denied")),))
    draft = Draft(category=ctx.data.category, description=ctx.data.description, unit_id=_unit(ctx),
                  voice_ref=ctx.data.voice, photos=tuple(ctx.data.photos), location=ctx.data.location)
    issue = await issue_service.submit(ctx.tx, ctx.person, draft, ctx.now, ctx.timezone)
    return Done((Reply(t("report.submitted", ref=issue.ref)),))


def _duplicate(ctx: Report) -> int:
    assert ctx.data.duplicate is not None  # set before the duplicate state is entered
    return ctx.data.duplicate


async def ask_duplicate(ctx: Report) -> Reply:
    same = await issue_store.get(ctx.tx, _duplicate(ctx))
    if same is None:
        return Reply(t("issue.error.unknown"), choices([(t("report.file_anyway"), tokens.FILE_ANYWAY)]))
    text = t("report.duplicate", ref=same.ref, category=await category_label(ctx, same.category),
             status=t(f"status.{same.status.value}"), place=await place_label(ctx.tx, same.unit_id))
    return Reply(text, choices([(t("report.follow"), tokens.FOLLOW), (t("report.file_anyway"), tokens.FILE_ANYWAY)],
                               per_row=1))


async def on_duplicate(ctx: Report, inbound: Inbound) -> Transition:
    try:
        if inbound.token == tokens.FILE_ANYWAY:
            return await _submit(ctx)
        if inbound.token != tokens.FOLLOW or ctx.person is None:
            return Retry("nav.use_buttons")
        followed = await issue_service.follow(ctx.tx, _duplicate(ctx), ctx.person)
    except IssueError as error:  # not this question's to fix: back to confirm, where the draft can be
        return Goto("confirm", (Reply(t(error.key, **error.params)),))
    return Done((Reply(t("report.following", ref=followed.ref)),))


async def ask_place(ctx: Report) -> Reply:
    home = [(t("report.my_building"), tokens.HOME)] if _home(ctx) is not None else []
    items = [*home, (t("report.elsewhere"), tokens.ELSEWHERE), (t("report.share_location"), tokens.SHARE_LOCATION)]
    return Reply(t("report.where"), choices(items, per_row=1))


async def on_place(ctx: Report, inbound: Inbound) -> Transition:
    home = _home(ctx)
    if inbound.kind is InboundKind.LOCATION and inbound.text:
        return _located(ctx, inbound.text)
    if inbound.token == tokens.SHARE_LOCATION:
        return Goto("location")
    if inbound.token == tokens.HOME and home is not None:
        ctx.data.location = ""
        return _placed(ctx, home)
    if inbound.token != tokens.ELSEWHERE:
        return Retry("nav.use_buttons")
    ctx.data.location = ""
    community = None if home is None else next(
        (unit.id for unit in await grid.ancestry(ctx.tx, home) if unit.level is Level.COMMUNITY), None)
    if community is None:
        return Goto("community")
    ctx.data.community = community
    return Goto("complex")


def _placed(ctx: Report, unit_id: int) -> Transition:
    ctx.data.unit = unit_id
    return Goto("confirm")


def _located(ctx: Report, location: str) -> Transition:
    """A shared location refines the place; without any place yet, the community is still needed (routing)."""
    ctx.data.location = location
    if ctx.data.unit is not None:
        return Goto("confirm")
    return Goto("community", (Reply(t("report.location_received")),))


async def ask_location(ctx: Report) -> Reply:
    return Reply(t("report.location_how"))


async def on_location(ctx: Report, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.LOCATION and inbound.text:
        return _located(ctx, inbound.text)
    return Retry("report.expect_location")


def _unit_state(level: Level, parent: Callable[[ReportData], int | None] | None, question: str) -> State[ReportData]:
    """Pick a unit of `level` under the one picked before (`parent` reads it from the draft); the one picked before
    may itself be the place."""

    def parent_id(ctx: Report) -> int | None:
        if parent is None:
            return None
        found = parent(ctx.data)
        assert found is not None  # picked in the state before this one
        return found

    async def ask(ctx: Report) -> Reply:
        above = parent_id(ctx)
        unit = None if above is None else await grid.by_id(ctx.tx, above)
        whole = [(t("report.whole_place", name=unit.name), tokens.WHOLE_PLACE)] if unit is not None else []
        units = await unit_choices(ctx, level, None if unit is None else unit.id)
        return Reply(t(question), (*units, *choices(whole)))

    async def on_pick(ctx: Report, inbound: Inbound) -> Transition:
        above = parent_id(ctx)
        if inbound.token == tokens.WHOLE_PLACE and above is not None:
            return _placed(ctx, above)
        unit = await pick_unit(ctx, inbound, level, above)
        if unit is None:
            return Retry("nav.use_buttons")
        if level is Level.BUILDING or (level is Level.COMMUNITY and ctx.data.location):
            return _placed(ctx, unit.id)
        if level is Level.COMMUNITY:
            ctx.data.community = unit.id
            return Goto("complex")
        ctx.data.complex = unit.id
        return Goto("building")

    return State(ask, on_pick)


def _has_draft(ctx: Report, state: str) -> bool:
    return bool(_description(ctx))


ON_CANCEL, ASK_ABANDON = confirm_abandon(_has_draft, "report.abandon_ask", "report.abandoned")

FLOW = Flow(
    name="report",
    first="category",
    data=ReportData,
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
        "complex": _unit_state(Level.COMPLEX, lambda data: data.community, "report.choose_complex"),
        "building": _unit_state(Level.BUILDING, lambda data: data.complex, "report.choose_building"),
    },
)
