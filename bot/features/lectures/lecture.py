"""Law talks (法治宣讲) and moral lectures (道德大讲堂).

Organizers (configured admins and street admins for the whole street, community secretaries for their community):
home → kind → title → speaker → time → place → scope → description → confirm (RSVP on/off) → published; or a talk
from the list → its card → change the time, change the place, or cancel it. Every organizer step re-checks that the
person may organize, and the services check the scope again when anything is written.

Residents: pushed buttons start this flow from wherever they are — `lc:rsvp:<id>:y|n` (answer the notice),
`lc:in:<id>` (check in, on the reminder), `lc:rate:<id>:<1-5>` (the satisfaction poll, then an optional comment).
Tokens are parsed strictly; the services decide whether this person may use them. Diagram: lecture.mmd.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.clock import iso, parse_iso
from bot.conversations.flow import Ctx, Done, Flow, Goto, Handler, Retry, State, Transition, choices, token_id
from bot.domain.grid import Level
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.lectures import service
from bot.features.lectures.service import LectureError
from bot.features.lectures.store import Kind, Lecture
from bot.i18n import t
from bot.services.people import place_label
from bot.storage import grid

RSVP = re.compile(r"lc:rsvp:([1-9][0-9]{0,11}):([yn])", re.ASCII)
CHECK_IN = re.compile(r"lc:in:([1-9][0-9]{0,11})", re.ASCII)
RATE = re.compile(r"lc:rate:([1-9][0-9]{0,11}):([1-5])", re.ASCII)
BELOW = {Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.COMPLEX, Level.COMPLEX: Level.BUILDING}
DRAFT = ("kind", "title", "speaker", "starts", "place", "unit", "at", "description", "rsvp", "review", "lecture")
KEEP = "keep"
# refusals that only need something else typed (the rest end the step)
RETYPE = frozenset({"lecture.error.time_format", "lecture.error.past", "lecture.error.too_far",
                    "lecture.error.unchanged", "lecture.error.empty", "lecture.error.too_long"})


def _say(text: str) -> Done:
    return Done((Reply(text),))


def _refused(error: LectureError) -> Done:
    return _say(t(error.key, **error.params))


def _again(state: str, error: LectureError) -> Goto:
    """Ask the same question again after saying what was wrong (with its parameters, unlike Retry)."""
    return Goto(state, (Reply(t(error.key, **error.params)),))


# --------------------------------------------------------------------------------------------- begin


async def begin(ctx: Ctx) -> Transition:
    token = ctx.entry.token
    if token:
        return await _resident(ctx, token)
    if not await service.may_organize(ctx.tx, ctx.person, ctx.is_admin):
        return _say(t("lecture.denied"))
    return Goto("home")


async def _resident(ctx: Ctx, token: str) -> Transition:
    """A pressed `lc:` button: answer the notice, check in, or rate."""
    person = ctx.person
    if person is None:
        return _say(t("auth.denied"))
    try:
        if found := RSVP.fullmatch(token):
            yes = found[2] == "y"
            lecture = await service.rsvp(ctx.tx, int(found[1]), person, yes, ctx.now)
            key = "lecture.rsvp_yes_done" if yes else "lecture.rsvp_no_done"
            text = t(key, title=lecture.title, when=service.local(lecture.starts_at, ctx.timezone, ctx.now),
                     place=lecture.place)
            return Done((Reply(text, service.rsvp_buttons(lecture)),))  # the notice is replaced: keep its buttons
        if found := CHECK_IN.fullmatch(token):
            return await _check_in(ctx, person, int(found[1]))
        if found := RATE.fullmatch(token):
            lecture = await service.rate(ctx.tx, int(found[1]), person, int(found[2]), ctx.now)
            ctx.data["lecture"] = lecture.id
            return Goto("comment", (Reply(t("lecture.rated", stars="⭐" * int(found[2]), title=lecture.title)),))
    except LectureError as error:
        return _refused(error)
    return _say(t("auth.denied"))


async def _check_in(ctx: Ctx, person: Person, lecture_id: int) -> Transition:
    try:
        lecture = await service.check_in(ctx.tx, lecture_id, person, ctx.now, ctx.timezone)
    except LectureError as error:
        if error.key != "lecture.error.too_early":
            raise
        # the reminder this button was on is replaced by the answer: keep the button for later
        return Done((Reply(t(error.key, **error.params), service.check_in_buttons(lecture_id)),))
    return _say(t("lecture.checked_in", title=lecture.title, place=lecture.place))


async def ask_comment(ctx: Ctx) -> Reply:
    return Reply(t("lecture.comment_ask"), choices([(t("lecture.skip"), "cm:skip")]))


async def on_comment(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == "cm:skip":
        return _say(t("lecture.thanks"))
    text = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    if not text or ctx.person is None:
        return Retry("lecture.expect_comment")
    try:
        await service.comment(ctx.tx, ctx.data["lecture"], ctx.person, text)
    except LectureError as error:
        if error.key == "lecture.error.too_long":
            return _again("comment", error)
        return _refused(error)
    return _say(t("lecture.thanks"))


# ------------------------------------------------------------------------------------------ organizers


def _organizing(handle: Handler) -> Handler:
    """An organizer's step: whether the person may organize at all is checked again first."""

    async def guarded(ctx: Ctx, inbound: Inbound) -> Transition:
        if not await service.may_organize(ctx.tx, ctx.person, ctx.is_admin):
            return _say(t("lecture.denied"))
        try:
            return await handle(ctx, inbound)
        except LectureError as error:
            return _refused(error)

    return guarded


async def ask_home(ctx: Ctx) -> Reply:
    listed = await service.listed_for(ctx.tx, ctx.person, ctx.is_admin, ctx.now)
    items = [(t(f"lecture.new.{kind.value}"), f"k:{kind.value}") for kind in Kind]
    talks = [(t("lecture.item", when=service.local(lecture.starts_at, ctx.timezone, ctx.now), title=lecture.title,
                mark="🚫 " if lecture.cancelled else ""), f"v:{lecture.id}") for lecture in listed]
    text = t("lecture.home") if talks else t("lecture.home_empty")
    return Reply(text, (*choices(items), *choices(talks, per_row=1)))


async def on_home(ctx: Ctx, inbound: Inbound) -> Transition:
    kind = inbound.token.removeprefix("k:")
    if inbound.token.startswith("k:") and kind in {k.value for k in Kind}:
        for key in DRAFT:
            ctx.data.pop(key, None)
        ctx.data["kind"] = kind
        await _enter_scope(ctx)
        return Goto("title")
    lecture_id = token_id(inbound, "v")
    if lecture_id is None:
        return Retry("nav.use_buttons")
    lecture = await service.view_as_organizer(ctx.tx, lecture_id, ctx.person, ctx.is_admin)
    ctx.data["lecture"] = lecture.id
    return Goto("card")


def _next(ctx: Ctx, state: str) -> Goto:
    """Forward through the draft; once it has been reviewed, straight back to the confirmation."""
    return Goto("confirm" if ctx.data.get("review") else state)


def _text_state(field: str, following: str) -> State:
    """Ask for the talk's `field` (title, speaker, place); a value typed before may be kept."""

    async def ask(ctx: Ctx) -> Reply:
        question = t(f"lecture.ask.{field}", kind=t(f"lecture.kind.{ctx.data['kind']}"), limit=service.LIMITS[field])
        current = ctx.data.get(field)
        if not current:
            return Reply(question)
        return Reply(f"{question}\n{t('lecture.current', value=current)}", choices([(t("lecture.keep"), KEEP)]))

    async def on_text(ctx: Ctx, inbound: Inbound) -> Transition:
        if inbound.token == KEEP and ctx.data.get(field):
            return _next(ctx, following)
        if inbound.kind is not InboundKind.TEXT:
            return Retry("lecture.expect_text")
        try:
            ctx.data[field] = service.clean(field, inbound.text)
        except LectureError as error:
            return _again(field, error)
        return _next(ctx, following)

    return State(ask, _organizing(on_text))


def _example(ctx: Ctx) -> str:
    """A sample time a week from now, in the format people are asked to type."""
    return f"{(ctx.now + timedelta(days=7)).astimezone(ZoneInfo(ctx.timezone)):%Y-%m-%d} 14:30"


async def ask_time(ctx: Ctx) -> Reply:
    question = t("lecture.ask.time", example=_example(ctx))
    if not ctx.data.get("starts"):
        return Reply(question)
    current = service.local(parse_iso(ctx.data["starts"]), ctx.timezone, ctx.now)
    return Reply(f"{question}\n{t('lecture.current', value=current)}", choices([(t("lecture.keep"), KEEP)]))


async def on_time(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == KEEP and ctx.data.get("starts"):
        return _next(ctx, "place")
    if inbound.kind is not InboundKind.TEXT:
        return Retry("lecture.expect_text")
    try:
        ctx.data["starts"] = iso(service.parse_time(inbound.text, ctx.timezone, ctx.now))
    except LectureError as error:
        return _again("time", error)
    return _next(ctx, "place")


async def _enter_scope(ctx: Ctx) -> None:
    """Scope browsing starts at the organizer's own unit (or at the list of them, when there are several)."""
    tops = await service.roots(ctx.tx, ctx.person, ctx.is_admin)
    if len(tops) == 1:
        ctx.data["at"] = tops[0].id
    else:
        ctx.data.pop("at", None)


async def ask_scope(ctx: Ctx) -> Reply:
    at = ctx.data.get("at")
    tops = await service.roots(ctx.tx, ctx.person, ctx.is_admin)
    if at is None:
        return Reply(t("lecture.ask.scope_top"), choices([(unit.name, f"u:{unit.id}") for unit in tops]))
    unit = await grid.by_id(ctx.tx, at)
    if unit is None:
        return Reply(t("lecture.error.scope"))
    whole = [(t("lecture.scope_whole", name=unit.name), "sc:here")]
    up = [] if at in {top.id for top in tops} else [(t("lecture.scope_up"), "sc:up")]
    below = BELOW.get(unit.level)
    children = [] if below is None else [(child.name, f"u:{child.id}")
                                         for child in await grid.children(ctx.tx, unit.id, below)]
    text = t("lecture.ask.scope", place=await place_label(ctx.tx, unit.id))
    return Reply(text, (*choices(whole, per_row=1), *choices(children), *choices(up, per_row=1)))


async def on_scope(ctx: Ctx, inbound: Inbound) -> Transition:
    at = ctx.data.get("at")
    if inbound.token == "sc:here" and at is not None:
        return await _scoped(ctx, at)
    if inbound.token == "sc:up" and at is not None:
        unit = await grid.by_id(ctx.tx, at)
        tops = await service.roots(ctx.tx, ctx.person, ctx.is_admin)
        if unit is None or unit.parent_id is None or at in {top.id for top in tops}:
            return Retry("nav.use_buttons")
        await service.check_scope(ctx.tx, ctx.person, ctx.is_admin, unit.parent_id)
        ctx.data["at"] = unit.parent_id
        return Goto("scope")
    unit_id = token_id(inbound, "u")
    if unit_id is None:
        return Retry("nav.use_buttons")
    unit = await grid.by_id(ctx.tx, unit_id)
    if at is None:
        offered = {top.id for top in await service.roots(ctx.tx, ctx.person, ctx.is_admin)}
    else:
        parent = await grid.by_id(ctx.tx, at)
        below = None if parent is None else BELOW.get(parent.level)
        offered = set() if below is None else {child.id for child in await grid.children(ctx.tx, at, below)}
    if unit is None or unit.id not in offered:
        return Retry("lecture.error.scope")  # a forged or stale button: never beyond what was offered
    await service.check_scope(ctx.tx, ctx.person, ctx.is_admin, unit.id)
    if unit.level is Level.BUILDING:
        return await _scoped(ctx, unit.id)
    ctx.data["at"] = unit.id
    return Goto("scope")


async def _scoped(ctx: Ctx, unit_id: int) -> Transition:
    await service.check_scope(ctx.tx, ctx.person, ctx.is_admin, unit_id)
    ctx.data["unit"] = unit_id
    return _next(ctx, "description")


async def ask_description(ctx: Ctx) -> Reply:
    current = ctx.data.get("description")
    text = t("lecture.ask.description", limit=service.LIMITS["description"])
    if not current:
        return Reply(text, choices([(t("lecture.skip"), "d:skip")]))
    return Reply(f"{text}\n{t('lecture.current', value=current)}",
                 choices([(t("lecture.keep"), KEEP), (t("lecture.no_description"), "d:skip")]))


async def on_description(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == "d:skip":
        ctx.data["description"] = ""
    elif inbound.token == KEEP and ctx.data.get("description"):
        pass
    elif inbound.kind is InboundKind.TEXT:
        try:
            ctx.data["description"] = service.clean("description", inbound.text)
        except LectureError as error:
            return _again("description", error)
    else:
        return Retry("lecture.expect_text")
    ctx.data["review"] = True
    return Goto("confirm")


def _draft(ctx: Ctx) -> service.Draft:
    return service.Draft(kind=Kind(ctx.data["kind"]), title=ctx.data["title"], speaker=ctx.data["speaker"],
                         starts_at=parse_iso(ctx.data["starts"]), place=ctx.data["place"], unit_id=ctx.data["unit"],
                         description=ctx.data.get("description", ""), rsvp=bool(ctx.data.get("rsvp")))


async def ask_confirm(ctx: Ctx) -> Reply:
    draft = _draft(ctx)
    lines = [t("lecture.confirm", kind=t(f"lecture.kind.{draft.kind.value}"), title=draft.title,
               speaker=draft.speaker, when=service.local(draft.starts_at, ctx.timezone, ctx.now), place=draft.place,
               scope=await place_label(ctx.tx, draft.unit_id),
               count=await service.audience_size(ctx.tx, draft.unit_id))]
    if draft.description:  # no line at all rather than an empty one
        lines.append(t("lecture.confirm_description", description=draft.description))
    lines.append(t("lecture.confirm_rsvp", rsvp=t("lecture.rsvp_on") if draft.rsvp else t("lecture.rsvp_off")))
    text = "\n".join(lines)
    toggle = t("lecture.rsvp_turn_off") if draft.rsvp else t("lecture.rsvp_turn_on")
    return Reply(text, choices([(t("lecture.publish"), "ok:publish"), (toggle, "ok:rsvp")], per_row=1))


async def on_confirm(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == "ok:rsvp":
        ctx.data["rsvp"] = not ctx.data.get("rsvp")
        return Goto("confirm")
    if inbound.token != "ok:publish":
        return Retry("nav.use_buttons")
    try:
        lecture = await service.create(ctx.tx, _draft(ctx), ctx.person, ctx.is_admin, ctx.now, ctx.timezone)
    except LectureError as error:
        if error.key in ("lecture.error.past", "lecture.error.too_far"):
            return _again("time", error)  # time has moved on while the draft waited
        raise
    count = await service.audience_size(ctx.tx, lecture.unit_id)
    return _say(t("lecture.published", kind=t(f"lecture.kind.{lecture.kind.value}"), title=lecture.title,
                  count=count))


# ----------------------------------------------------------------------------------- one talk, managed


async def _managed(ctx: Ctx) -> Lecture:
    return await service.view_as_organizer(ctx.tx, ctx.data["lecture"], ctx.person, ctx.is_admin)


async def ask_card(ctx: Ctx, lecture: Lecture) -> Reply:
    text = await service.summary(ctx.tx, lecture, ctx.timezone, ctx.now)
    if lecture.cancelled or lecture.starts_at <= ctx.now:
        return Reply(text)
    return Reply(text, choices([(t("lecture.change_time"), "ch:time"), (t("lecture.change_place"), "ch:place"),
                                (t("lecture.cancel"), "ch:cancel")], per_row=1))


async def on_card(ctx: Ctx, inbound: Inbound) -> Transition:
    actions = {"ch:time": "new_time", "ch:place": "new_place", "ch:cancel": "cancel"}
    if inbound.token not in actions:
        return Retry("nav.use_buttons")
    lecture = await _managed(ctx)
    if lecture.cancelled or lecture.starts_at <= ctx.now:
        return _say(t("lecture.error.cancelled" if lecture.cancelled else "lecture.error.started"))
    return Goto(actions[inbound.token])


def _prompting(ask: Callable[[Ctx, Lecture], Awaitable[Reply]]) -> Callable[[Ctx], Awaitable[Reply]]:
    """A prompt about the managed talk; if the person may no longer manage it, the prompt says so instead."""

    async def prompt(ctx: Ctx) -> Reply:
        try:
            lecture = await _managed(ctx)
        except LectureError as error:
            return Reply(t(error.key, **error.params))
        return await ask(ctx, lecture)

    return prompt


async def ask_new_time(ctx: Ctx, lecture: Lecture) -> Reply:
    return Reply(f"{t('lecture.ask.time', example=_example(ctx))}\n"
                 f"{t('lecture.current', value=service.local(lecture.starts_at, ctx.timezone, ctx.now))}")


async def on_new_time(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("lecture.expect_text")
    try:
        starts_at = service.parse_time(inbound.text, ctx.timezone, ctx.now)
        lecture, told = await service.change(ctx.tx, ctx.data["lecture"], ctx.person, ctx.is_admin, ctx.now,
                                             ctx.timezone, starts_at=starts_at)
    except LectureError as error:
        if error.key in RETYPE:
            return _again("new_time", error)
        raise
    return _say(t("lecture.change_done", title=lecture.title, count=told))


async def ask_new_place(ctx: Ctx, lecture: Lecture) -> Reply:
    kind = t(f"lecture.kind.{lecture.kind.value}")
    return Reply(f"{t('lecture.ask.place', kind=kind, limit=service.LIMITS['place'])}\n"
                 f"{t('lecture.current', value=lecture.place)}")


async def on_new_place(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("lecture.expect_text")
    try:
        lecture, told = await service.change(ctx.tx, ctx.data["lecture"], ctx.person, ctx.is_admin, ctx.now,
                                             ctx.timezone, place=inbound.text)
    except LectureError as error:
        if error.key in RETYPE:
            return _again("new_place", error)
        raise
    return _say(t("lecture.change_done", title=lecture.title, count=told))


async def ask_cancel(ctx: Ctx, lecture: Lecture) -> Reply:
    return Reply(t("lecture.cancel_ask", title=lecture.title), choices([(t("lecture.cancel_yes"), "cx:yes")]))


async def on_cancel(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token != "cx:yes":
        return Retry("nav.use_buttons")
    lecture, told = await service.cancel(ctx.tx, ctx.data["lecture"], ctx.person, ctx.is_admin, ctx.now,
                                         ctx.timezone)
    return _say(t("lecture.cancel_done", title=lecture.title, count=told))


def _step(ask: Callable[[Ctx], Awaitable[Reply]], handle: Handler, *, back: bool = True) -> State:
    return State(ask, _organizing(handle), back=back)


FLOW = Flow(
    name="lecture",
    first="home",
    begin=begin,
    claims=("lc:",),
    states={
        "home": _step(ask_home, on_home, back=False),
        "title": _text_state("title", "speaker"),
        "speaker": _text_state("speaker", "time"),
        "time": _step(ask_time, on_time),
        "place": _text_state("place", "scope"),
        "scope": _step(ask_scope, on_scope),
        "description": _step(ask_description, on_description),
        "confirm": _step(ask_confirm, on_confirm),
        "card": _step(_prompting(ask_card), on_card),
        "new_time": _step(_prompting(ask_new_time), on_new_time),
        "new_place": _step(_prompting(ask_new_place), on_new_place),
        "cancel": _step(_prompting(ask_cancel), on_cancel),
        "comment": State(ask_comment, on_comment, back=False),
    },
)
