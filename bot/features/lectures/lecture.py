"""Law talks (法治宣讲) and moral lectures (道德大讲堂).

Organizers (configured admins and street admins for the whole street, community secretaries for their community):
home → kind → title → speaker → time → place → scope → description → confirm (RSVP on/off) → published; or a talk
from the list → its card → change the time, change the place, or cancel it. Every organizer step re-checks that the
person may organize, and the services check the scope again when anything is written.

Residents: pushed buttons start this flow from wherever they are — `lc:rsvp:<id>:y|n` (answer the notice),
`lc:in:<id>` (check in, on the reminder), `lc:rate:<id>:<1-5>` (the satisfaction poll, then an optional comment).
Tokens are parsed strictly by the codecs of tokens.py; the services decide whether this person may use them.
Diagram: lecture.mmd.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import iso, parse_iso
from bot.conversations.flow import (
    UNIT,
    Ctx,
    Done,
    Flow,
    Goto,
    Handler,
    Prompt,
    Retry,
    State,
    Transition,
    choices,
    pick_unit,
    say,
    unit_choices,
)
from bot.conversations.tokens import Ref
from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.lectures import notices, service
from bot.features.lectures.model import Kind, Lecture
from bot.features.lectures.service import LectureError
from bot.features.lectures.tokens import (
    CALL_OFF,
    CALL_OFF_YES,
    CHANGE_PLACE,
    CHANGE_TIME,
    CHECK_IN,
    KEEP,
    NEW,
    NO_DESCRIPTION,
    PUBLISH,
    RATE,
    RSVP,
    SCOPE_HERE,
    SCOPE_UP,
    SKIP_COMMENT,
    TOGGLE_RSVP,
    VIEW,
    New,
)
from bot.i18n import t
from bot.services.people import place_label
from bot.storage import grid

BELOW = {Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.COMPLEX, Level.COMPLEX: Level.BUILDING}
TextField = Literal["title", "speaker", "place"]


@dataclass(slots=True)
class LectureData:
    """The draft of a new talk (ISO UTC `starts`, the scope `unit`, the unit `at` which scope browsing stands), or
    the `lecture` being managed or rated."""

    kind: str | None = None  # a Kind's value
    title: str | None = None
    speaker: str | None = None
    starts: str | None = None
    place: str | None = None
    unit: int | None = None
    at: int | None = None
    description: str | None = None
    rsvp: bool = False
    review: bool = False
    lecture: int | None = None


Talk = Ctx[LectureData]


def _lecture_id(ctx: Talk) -> int:
    assert ctx.data.lecture is not None
    return ctx.data.lecture


# --------------------------------------------------------------------------------------------- begin


async def begin(ctx: Talk) -> Transition:
    token = ctx.entry.token
    if token:
        return await _resident(ctx, token)
    if not await service.may_organize(ctx.tx, ctx.person, ctx.is_admin):
        return say(t("lecture.denied"))
    return Goto("home")


async def _resident(ctx: Talk, token: str) -> Transition:
    """A pressed `lc:` button: answer the notice, check in, or rate."""
    person = ctx.person
    if person is None:
        return say(t("auth.denied"))
    if (answer := RSVP.parse(token)) is not None:
        lecture = await service.rsvp(ctx.tx, answer.lecture, person, answer.yes, ctx.now)
        key = "lecture.rsvp_yes_done" if answer.yes else "lecture.rsvp_no_done"
        text = t(key, title=lecture.title, when=notices.local(lecture.starts_at, ctx.timezone, ctx.now),
                 place=lecture.place)
        return Done((Reply(text, notices.rsvp_buttons(lecture)),))  # the notice is replaced: keep its buttons
    if (pressed := CHECK_IN.parse(token)) is not None:
        return await _check_in(ctx, person, pressed.lecture)
    if (rating := RATE.parse(token)) is not None:
        lecture = await service.rate(ctx.tx, rating.lecture, person, rating.stars, ctx.now)
        ctx.data.lecture = lecture.id
        return Goto("comment", (Reply(t("lecture.rated", stars="⭐" * rating.stars, title=lecture.title)),))
    return say(t("auth.denied"))


async def _check_in(ctx: Talk, person: Person, lecture_id: int) -> Transition:
    try:
        lecture = await service.check_in(ctx.tx, lecture_id, person, ctx.now, ctx.timezone)
    except LectureError as error:
        if error.key != "lecture.error.too_early":
            raise
        # the reminder this button was on is replaced by the answer: keep the button for later
        return Done((Reply(t(error.key, **error.params), notices.check_in_buttons(lecture_id)),))
    return say(t("lecture.checked_in", title=lecture.title, place=lecture.place))


async def ask_comment(ctx: Talk) -> Reply:
    return Reply(t("lecture.comment_ask"), choices([(t("lecture.skip"), SKIP_COMMENT)]))


async def on_comment(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.token == SKIP_COMMENT:
        return say(t("lecture.thanks"))
    text = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    if not text or ctx.person is None:
        return Retry("lecture.expect_comment")
    await service.comment(ctx.tx, _lecture_id(ctx), ctx.person, text)
    return say(t("lecture.thanks"))


# ------------------------------------------------------------------------------------------ organizers


def _organizing(handle: Handler[LectureData]) -> Handler[LectureData]:
    """An organizer's step: whether the person may organize at all is checked again first."""

    async def guarded(ctx: Talk, inbound: Inbound) -> Transition:
        if not await service.may_organize(ctx.tx, ctx.person, ctx.is_admin):
            return say(t("lecture.denied"))
        return await handle(ctx, inbound)

    return guarded


async def ask_home(ctx: Talk) -> Reply:
    listed = await service.listed_for(ctx.tx, ctx.person, ctx.is_admin, ctx.now)
    items = [(t(f"lecture.new.{kind.value}"), NEW.make(New(kind))) for kind in Kind]
    talks = [(t("lecture.item", when=notices.local(lecture.starts_at, ctx.timezone, ctx.now), title=lecture.title,
                mark="🚫 " if lecture.cancelled else ""), notices.view_token(lecture)) for lecture in listed]
    text = t("lecture.home") if talks else t("lecture.home_empty")
    return Reply(text, (*choices(items), *choices(talks, per_row=1)))


async def on_home(ctx: Talk, inbound: Inbound) -> Transition:
    new = NEW.parse(inbound.token)
    if new is not None:
        ctx.data = LectureData(kind=new.kind.value)
        await _enter_scope(ctx)
        return Goto("title")
    view = VIEW.parse(inbound.token)
    if view is None:
        return Retry("nav.use_buttons")
    lecture = await service.view_as_organizer(ctx.tx, view.id, ctx.person, ctx.is_admin)
    ctx.data.lecture = lecture.id
    return Goto("card")


def _next(ctx: Talk, state: str) -> Goto:
    """Forward through the draft; once it has been reviewed, straight back to the confirmation."""
    return Goto("confirm" if ctx.data.review else state)


def _text_state(field: TextField, following: str) -> State[LectureData]:
    """Ask for the talk's `field` (title, speaker, place); a value typed before may be kept. A refused text asks
    again (its state is named like the field)."""

    def current(ctx: Talk) -> str | None:
        value: str | None = getattr(ctx.data, field)
        return value

    async def ask(ctx: Talk) -> Reply:
        question = t(f"lecture.ask.{field}", kind=t(f"lecture.kind.{ctx.data.kind}"), limit=service.LIMITS[field])
        value = current(ctx)
        if not value:
            return Reply(question)
        return Reply(f"{question}\n{t('lecture.current', value=value)}", choices([(t("lecture.keep"), KEEP)]))

    async def on_text(ctx: Talk, inbound: Inbound) -> Transition:
        if inbound.token == KEEP and current(ctx):
            return _next(ctx, following)
        if inbound.kind is not InboundKind.TEXT:
            return Retry("lecture.expect_text")
        setattr(ctx.data, field, service.clean(field, inbound.text))
        return _next(ctx, following)

    return State(ask, _organizing(on_text))


def _example(ctx: Talk) -> str:
    """A sample time a week from now, in the format people are asked to type."""
    return f"{(ctx.now + timedelta(days=7)).astimezone(ZoneInfo(ctx.timezone)):%Y-%m-%d} 14:30"


async def ask_time(ctx: Talk) -> Reply:
    question = t("lecture.ask.time", example=_example(ctx))
    if not ctx.data.starts:
        return Reply(question)
    current = notices.local(parse_iso(ctx.data.starts), ctx.timezone, ctx.now)
    return Reply(f"{question}\n{t('lecture.current', value=current)}", choices([(t("lecture.keep"), KEEP)]))


async def on_time(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.token == KEEP and ctx.data.starts:
        return _next(ctx, "place")
    if inbound.kind is not InboundKind.TEXT:
        return Retry("lecture.expect_text")
    ctx.data.starts = iso(service.parse_time(inbound.text, ctx.timezone, ctx.now))
    return _next(ctx, "place")


async def _enter_scope(ctx: Talk) -> None:
    """Scope browsing starts at the organizer's own unit (or at the list of them, when there are several)."""
    tops = await service.roots(ctx.tx, ctx.person, ctx.is_admin)
    ctx.data.at = tops[0].id if len(tops) == 1 else None


async def ask_scope(ctx: Talk) -> Reply:
    at = ctx.data.at
    tops = await service.roots(ctx.tx, ctx.person, ctx.is_admin)
    if at is None:
        return Reply(t("lecture.ask.scope_top"), choices([(unit.name, UNIT.make(Ref(unit.id))) for unit in tops]))
    unit = await grid.by_id(ctx.tx, at)
    if unit is None:
        return Reply(t("lecture.error.scope"))
    whole = [(t("lecture.scope_whole", name=unit.name), SCOPE_HERE)]
    up = [] if at in {top.id for top in tops} else [(t("lecture.scope_up"), SCOPE_UP)]
    below = BELOW.get(unit.level)
    children = () if below is None else await unit_choices(ctx, below, unit.id)
    text = t("lecture.ask.scope", place=await place_label(ctx.tx, unit.id))
    return Reply(text, (*choices(whole, per_row=1), *children, *choices(up, per_row=1)))


async def _offered(ctx: Talk, inbound: Inbound, at: int | None) -> GridUnit | None:
    """The unit a pressed `UNIT` token names, if it was among those offered (never beyond)."""
    if at is None:
        ref = UNIT.parse(inbound.token)
        tops = await service.roots(ctx.tx, ctx.person, ctx.is_admin)
        return next((top for top in tops if ref is not None and top.id == ref.id), None)
    parent = await grid.by_id(ctx.tx, at)
    below = None if parent is None else BELOW.get(parent.level)
    return None if below is None else await pick_unit(ctx, inbound, below, at)


async def on_scope(ctx: Talk, inbound: Inbound) -> Transition:
    at = ctx.data.at
    if inbound.token == SCOPE_HERE and at is not None:
        return await _scoped(ctx, at)
    if inbound.token == SCOPE_UP and at is not None:
        unit = await grid.by_id(ctx.tx, at)
        tops = await service.roots(ctx.tx, ctx.person, ctx.is_admin)
        if unit is None or unit.parent_id is None or at in {top.id for top in tops}:
            return Retry("nav.use_buttons")
        await service.check_scope(ctx.tx, ctx.person, ctx.is_admin, unit.parent_id)
        ctx.data.at = unit.parent_id
        return Goto("scope")
    if UNIT.parse(inbound.token) is None:
        return Retry("nav.use_buttons")
    unit = await _offered(ctx, inbound, at)
    if unit is None:
        return Retry("lecture.error.scope")  # a forged or stale button
    await service.check_scope(ctx.tx, ctx.person, ctx.is_admin, unit.id)
    if unit.level is Level.BUILDING:
        return await _scoped(ctx, unit.id)
    ctx.data.at = unit.id
    return Goto("scope")


async def _scoped(ctx: Talk, unit_id: int) -> Transition:
    await service.check_scope(ctx.tx, ctx.person, ctx.is_admin, unit_id)
    ctx.data.unit = unit_id
    return _next(ctx, "description")


async def ask_description(ctx: Talk) -> Reply:
    current = ctx.data.description
    text = t("lecture.ask.description", limit=service.LIMITS["description"])
    if not current:
        return Reply(text, choices([(t("lecture.skip"), NO_DESCRIPTION)]))
    return Reply(f"{text}\n{t('lecture.current', value=current)}",
                 choices([(t("lecture.keep"), KEEP), (t("lecture.no_description"), NO_DESCRIPTION)]))


async def on_description(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.token == NO_DESCRIPTION:
        ctx.data.description = ""
    elif inbound.token == KEEP and ctx.data.description:
        pass
    elif inbound.kind is InboundKind.TEXT:
        ctx.data.description = service.clean("description", inbound.text)
    else:
        return Retry("lecture.expect_text")
    ctx.data.review = True
    return Goto("confirm")


def _draft(ctx: Talk) -> service.Draft:
    data = ctx.data
    assert data.kind is not None and data.title is not None and data.speaker is not None
    assert data.starts is not None and data.place is not None and data.unit is not None
    return service.Draft(kind=Kind(data.kind), title=data.title, speaker=data.speaker,
                         starts_at=parse_iso(data.starts), place=data.place, unit_id=data.unit,
                         description=data.description or "", rsvp=data.rsvp)


async def ask_confirm(ctx: Talk) -> Reply:
    draft = _draft(ctx)
    lines = [t("lecture.confirm", kind=t(f"lecture.kind.{draft.kind.value}"), title=draft.title,
               speaker=draft.speaker, when=notices.local(draft.starts_at, ctx.timezone, ctx.now), place=draft.place,
               scope=await place_label(ctx.tx, draft.unit_id),
               count=await service.audience_size(ctx.tx, draft.unit_id))]
    if draft.description:  # no line at all rather than an empty one
        lines.append(t("lecture.confirm_description", description=draft.description))
    lines.append(t("lecture.confirm_rsvp", rsvp=t("lecture.rsvp_on") if draft.rsvp else t("lecture.rsvp_off")))
    text = "\n".join(lines)
    toggle = t("lecture.rsvp_turn_off") if draft.rsvp else t("lecture.rsvp_turn_on")
    return Reply(text, choices([(t("lecture.publish"), PUBLISH), (toggle, TOGGLE_RSVP)], per_row=1))


async def on_confirm(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.token == TOGGLE_RSVP:
        ctx.data.rsvp = not ctx.data.rsvp
        return Goto("confirm")
    if inbound.token != PUBLISH:
        return Retry("nav.use_buttons")
    try:
        lecture = await service.create(ctx.tx, _draft(ctx), ctx.person, ctx.is_admin, ctx.now, ctx.timezone)
    except LectureError as error:
        if error.key in ("lecture.error.past", "lecture.error.too_far"):  # time has moved on while the draft waited:
            return Goto("time", (Reply(t(error.key, **error.params)),))  # ask the time, not the confirmation again
        raise
    count = await service.audience_size(ctx.tx, lecture.unit_id)
    return say(t("lecture.published", kind=t(f"lecture.kind.{lecture.kind.value}"), title=lecture.title,
                  count=count))


# ----------------------------------------------------------------------------------- one talk, managed


async def _managed(ctx: Talk) -> Lecture:
    return await service.view_as_organizer(ctx.tx, _lecture_id(ctx), ctx.person, ctx.is_admin)


async def ask_card(ctx: Talk, lecture: Lecture) -> Reply:
    text = await service.summary(ctx.tx, lecture, ctx.timezone, ctx.now)
    if lecture.cancelled or lecture.starts_at <= ctx.now:
        return Reply(text)
    return Reply(text, choices([(t("lecture.change_time"), CHANGE_TIME), (t("lecture.change_place"), CHANGE_PLACE),
                                (t("lecture.cancel"), CALL_OFF)], per_row=1))


async def on_card(ctx: Talk, inbound: Inbound) -> Transition:
    actions = {CHANGE_TIME: "new_time", CHANGE_PLACE: "new_place", CALL_OFF: "cancel"}
    if inbound.token not in actions:
        return Retry("nav.use_buttons")
    lecture = await _managed(ctx)
    if lecture.cancelled or lecture.starts_at <= ctx.now:
        return say(t("lecture.error.cancelled" if lecture.cancelled else "lecture.error.started"))
    return Goto(actions[inbound.token])


def _prompting(ask: Callable[[Talk, Lecture], Awaitable[Reply]]) -> Prompt[LectureData]:
    """A prompt about the managed talk (a refusal, e.g. it is no longer theirs, is said by the engine)."""

    async def prompt(ctx: Talk) -> Reply:
        return await ask(ctx, await _managed(ctx))

    return prompt


async def ask_new_time(ctx: Talk, lecture: Lecture) -> Reply:
    return Reply(f"{t('lecture.ask.time', example=_example(ctx))}\n"
                 f"{t('lecture.current', value=notices.local(lecture.starts_at, ctx.timezone, ctx.now))}")


async def on_new_time(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("lecture.expect_text")
    starts_at = service.parse_time(inbound.text, ctx.timezone, ctx.now)
    lecture, told = await service.change(ctx.tx, _lecture_id(ctx), ctx.person, ctx.is_admin, ctx.now,
                                         ctx.timezone, starts_at=starts_at)
    return say(t("lecture.change_done", title=lecture.title, count=told))


async def ask_new_place(ctx: Talk, lecture: Lecture) -> Reply:
    kind = t(f"lecture.kind.{lecture.kind.value}")
    return Reply(f"{t('lecture.ask.place', kind=kind, limit=service.LIMITS['place'])}\n"
                 f"{t('lecture.current', value=lecture.place)}")


async def on_new_place(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("lecture.expect_text")
    lecture, told = await service.change(ctx.tx, _lecture_id(ctx), ctx.person, ctx.is_admin, ctx.now,
                                         ctx.timezone, place=inbound.text)
    return say(t("lecture.change_done", title=lecture.title, count=told))


async def ask_cancel(ctx: Talk, lecture: Lecture) -> Reply:
    return Reply(t("lecture.cancel_ask", title=lecture.title), choices([(t("lecture.cancel_yes"), CALL_OFF_YES)]))


async def on_cancel(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.token != CALL_OFF_YES:
        return Retry("nav.use_buttons")
    lecture, told = await service.cancel(ctx.tx, _lecture_id(ctx), ctx.person, ctx.is_admin, ctx.now,
                                         ctx.timezone)
    return say(t("lecture.cancel_done", title=lecture.title, count=told))


def _step(ask: Prompt[LectureData], handle: Handler[LectureData], *, back: bool = True) -> State[LectureData]:
    return State(ask, _organizing(handle), back=back)


FLOW = Flow(
    name="lecture",
    first="home",
    data=LectureData,
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
