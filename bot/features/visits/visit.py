"""两联走访. A party member: their households (due dates, overdue first) → one household (last visit, rhythm, flag
monthly) → 上门 / 电话 / 微信 → a note (words or a voice note) → an optional photo → "有需要反映的事吗？" → saved,
or a category and what they raised, filed as a report on the household's behalf. Their own visits can be read
back. A branch (小区党支部) secretary: the branch's coverage this quarter, its overdue households and the latest
visits, each readable with its note. Every step re-checks rights; the services check again when they read or
write. Diagram: visit.mmd."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import Ctx, Done, Flow, Goto, Handler, Retry, State, Transition, choices, photo_or_skip
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.contacts import service as contacts
from bot.features.reports import store as issues
from bot.features.reports.notices import category_name
from bot.features.reports.tokens import CATEGORY, CategoryPick
from bot.features.visits import notices, service
from bot.features.visits.model import Mode, Quarter
from bot.features.visits.tokens import (
    BRANCH,
    HOUSEHOLD,
    MINE,
    MODE,
    MONTHLY,
    NEED,
    NO_NEED,
    NO_PHOTO,
    VISIT,
    ModePick,
)
from bot.i18n import t
from bot.services.people import place_label


@dataclass(slots=True)
class VisitData:
    household: int | None = None  # visit_households.id
    mode: str | None = None
    note: str = ""
    voice: str = ""
    photo: str = ""
    category: str | None = None
    visit: int | None = None  # the visit being read


Visiting = Ctx[VisitData]


def _denied() -> Done:
    return Done((Reply(t("auth.denied")),))


async def begin(ctx: Visiting) -> Transition:
    if contacts.is_member(ctx.person):
        return Goto("households")
    if service.secretary_branches(ctx.person):
        return Goto("branch")
    return _denied()


def _member(handle: Handler[VisitData]) -> Handler[VisitData]:
    """A step of someone who is still a party member."""

    async def guarded(ctx: Visiting, inbound: Inbound) -> Transition:
        return await handle(ctx, inbound) if contacts.is_member(ctx.person) else _denied()

    return guarded


# ------------------------------------------------------------------------------------------- the member


async def ask_households(ctx: Visiting) -> Reply:
    rhythms = await service.rhythms_of(ctx.tx, ctx.person, ctx.now)
    items = [(await notices.household_line(ctx.tx, rhythm, ctx.timezone, ctx.now),
              HOUSEHOLD.make(Ref(rhythm.household_id))) for rhythm in rhythms]
    extra = [(t("visit.mine"), MINE)]
    if service.secretary_branches(ctx.person):
        extra.append((t("visit.branch"), BRANCH))
    text = t("visit.households", count=len(rhythms)) if rhythms else t("visit.households_none")
    return Reply(text, (*choices(items, per_row=1), *choices(extra)))


async def on_households(ctx: Visiting, inbound: Inbound) -> Transition:
    if inbound.token == MINE:
        return Goto("mine")
    if inbound.token == BRANCH and service.secretary_branches(ctx.person):
        return Goto("branch")
    picked = HOUSEHOLD.parse(inbound.token)
    if picked is None:
        return Retry("nav.use_buttons")
    rhythm = await service.own_household(ctx.tx, ctx.person, picked.id, ctx.now)
    ctx.data = VisitData(household=rhythm.household_id)
    return Goto("household")


def _household(ctx: Visiting) -> int:
    assert ctx.data.household is not None
    return ctx.data.household


async def ask_household(ctx: Visiting) -> Reply:
    rhythm = await service.own_household(ctx.tx, ctx.person, _household(ctx), ctx.now)
    modes = [(t(f"visit.mode.{mode.value}"), MODE.make(ModePick(mode))) for mode in Mode]
    flag = t("visit.to_quarterly") if rhythm.monthly else t("visit.to_monthly")
    return Reply(f"{await notices.household_page(ctx.tx, rhythm, ctx.timezone, ctx.now)}\n\n{t('visit.ask_mode')}",
                 (*choices(modes, per_row=3), *choices([(flag, MONTHLY)])))


async def on_household(ctx: Visiting, inbound: Inbound) -> Transition:
    if inbound.token == MONTHLY:
        rhythm = await service.own_household(ctx.tx, ctx.person, _household(ctx), ctx.now)
        await service.set_monthly(ctx.tx, ctx.person, rhythm.household_id, not rhythm.monthly, ctx.now)
        return Goto("household", (Reply(t("visit.rhythm_saved")),))
    picked = MODE.parse(inbound.token)
    if picked is None:
        return Retry("nav.use_buttons")
    ctx.data.mode = picked.mode.value
    return Goto("note")


async def ask_note(ctx: Visiting) -> Reply:
    return Reply(t("visit.ask_note", limit=service.NOTE_MAX))


async def on_note(ctx: Visiting, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.TEXT:
        ctx.data.note, ctx.data.voice = service.clean_note(inbound.text), ""
    elif inbound.kind is InboundKind.VOICE and inbound.media_ref:
        ctx.data.note, ctx.data.voice = "", inbound.media_ref
    else:
        return Retry("visit.expect_note")
    return Goto("photo")


async def ask_photo(ctx: Visiting) -> Reply:
    return Reply(t("visit.ask_photo"), choices([(t("visit.no_photo"), NO_PHOTO)]))


async def on_photo(ctx: Visiting, inbound: Inbound) -> Transition:
    photo = photo_or_skip(inbound, NO_PHOTO)
    if photo is None:
        return Retry("visit.expect_photo")
    ctx.data.photo = photo
    return Goto("need")


async def ask_need(ctx: Visiting) -> Reply:
    return Reply(t("visit.ask_need"), choices([(t("visit.no_need"), NO_NEED), (t("visit.need"), NEED)], per_row=1))


async def _log(ctx: Visiting) -> int:
    assert ctx.data.mode is not None
    visit = await service.log(ctx.tx, ctx.person, _household(ctx), Mode(ctx.data.mode), ctx.data.note,
                              ctx.data.voice, ctx.data.photo, ctx.now)
    return visit.id


async def on_need(ctx: Visiting, inbound: Inbound) -> Transition:
    if inbound.token == NEED:
        return Goto("category")
    if inbound.token != NO_NEED:
        return Retry("nav.use_buttons")
    await _log(ctx)
    return Done((Reply(t("visit.saved")),))


async def ask_category(ctx: Visiting) -> Reply:
    categories = await issues.categories(ctx.tx)
    return Reply(t("visit.ask_category"), choices([(category_name(category), CATEGORY.make(CategoryPick(category.code)))
                                                   for category in categories]))


async def on_category(ctx: Visiting, inbound: Inbound) -> Transition:
    picked = CATEGORY.parse(inbound.token)
    if picked is None or await issues.category(ctx.tx, picked.code) is None:
        return Retry("nav.use_buttons")
    ctx.data.category = picked.code
    return Goto("need_text")


async def ask_need_text(ctx: Visiting) -> Reply:
    return Reply(t("visit.ask_need_text"))


async def on_need_text(ctx: Visiting, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.TEXT:
        text, voice = inbound.text, ""
    elif inbound.kind is InboundKind.VOICE and inbound.media_ref:
        text, voice = "", inbound.media_ref
    else:
        return Retry("visit.expect_note")
    assert ctx.data.category is not None
    visit_id = await _log(ctx)
    issue = await service.raise_need(ctx.tx, ctx.person, visit_id, ctx.data.category, text, voice, ctx.now,
                                     ctx.timezone)
    told = issue.reporter_id is not None and issue.reporter_id != (ctx.person.id if ctx.person else None)
    return Done((Reply(t("visit.filed_told" if told else "visit.filed_self", ref=issue.ref)),))


async def ask_mine(ctx: Visiting) -> Reply:
    visits = await service.my_visits(ctx.tx, ctx.person)
    items = [(await notices.visit_line(ctx.tx, visit, ctx.timezone, ctx.now), VISIT.make(Ref(visit.id)))
             for visit in visits]
    return Reply(t("visit.mine_title") if items else t("visit.mine_none"), choices(items, per_row=1))


async def on_list(ctx: Visiting, inbound: Inbound) -> Transition:
    picked = VISIT.parse(inbound.token)
    if picked is None:
        return Retry("nav.use_buttons")
    ctx.data.visit = (await service.read_visit(ctx.tx, ctx.person, picked.id)).id
    return Goto("card")


async def ask_card(ctx: Visiting) -> Reply:
    assert ctx.data.visit is not None
    visit = await service.read_visit(ctx.tx, ctx.person, ctx.data.visit)
    return await notices.visit_card(ctx.tx, visit, ctx.timezone, ctx.now)


async def on_card(ctx: Visiting, inbound: Inbound) -> Transition:
    return Retry("nav.use_buttons")


# --------------------------------------------------------------------------------------- the secretary


async def ask_branch(ctx: Visiting) -> Reply:
    quarter = Quarter.containing(ctx.now, ctx.timezone)
    parts, items = [], []
    for branch_id in service.secretary_branches(ctx.person):
        figure, late, recent = await service.branch_page(ctx.tx, ctx.person, branch_id, ctx.now, quarter)
        parts.append("\n".join([t("visit.branch_title", place=await place_label(ctx.tx, branch_id)),
                                notices.coverage_line(figure),
                                t("visit.branch_overdue", count=len(late)) if late else t("visit.branch_no_overdue"),
                                *await notices.overdue_lines(ctx.tx, late)]))
        items += [(await notices.visit_line(ctx.tx, visit, ctx.timezone, ctx.now), VISIT.make(Ref(visit.id)))
                  for visit in recent]
    return Reply("\n\n".join(parts), choices(items, per_row=1))


def _secretary(handle: Handler[VisitData]) -> Handler[VisitData]:
    async def guarded(ctx: Visiting, inbound: Inbound) -> Transition:
        return await handle(ctx, inbound) if service.secretary_branches(ctx.person) else _denied()

    return guarded


FLOW = Flow(
    name="visit",
    first="households",
    data=VisitData,
    begin=begin,
    states={
        "households": State(ask_households, _member(on_households), back=False),
        "household": State(ask_household, _member(on_household)),
        "note": State(ask_note, _member(on_note)),
        "photo": State(ask_photo, _member(on_photo)),
        "need": State(ask_need, _member(on_need)),
        "category": State(ask_category, _member(on_category)),
        "need_text": State(ask_need_text, _member(on_need_text)),
        "mine": State(ask_mine, _member(on_list)),
        "card": State(ask_card, on_card),
        "branch": State(ask_branch, _secretary(on_list)),
    },
)
