"""道德模范评选 in the chat: one flow for everyone, its pages reached by `dm:` buttons (pushed or listed), each of
which the services re-check. Diagram: campaign.mmd.

- Home (menu 🏅 道德模范): the campaigns in the person's street and community; ➕ 新建评选 for street
  administrators: title → scope (the street or a community) → confirm the phase dates (or type other lengths).
- A campaign's page offers what can be done now: 我要提名 (category → building, walked down with buttons → the
  room typed → the person, when several live there → story → optional photo → submit), 查看公示, 去投票, 审核
  (the reviewer), 结果.
- The nominee's push: 同意 / 不同意 (`dm:ok`), and after 同意 a button taking it back before 公示.
- 公示: the approved nominations, each with its story and photo and 提出异议 (typed), which reaches the reviewer.
- Ballot: a category → its candidates → one press votes (one ballot per category, never for oneself).
- Review: consented nominations (with any burst flagged), each → 通过 / 不通过 (a reason) before 公示, 撤下 (a
  reason) during 公示 and the vote; results after the close: ⭐ toggles the 表彰 list, 📢 发布表彰 sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.conversations.flow import (
    Ctx,
    Done,
    Flow,
    Goto,
    Handler,
    Retry,
    State,
    Transition,
    choices,
    photo_or_skip,
    pick_unit,
    say,
    unit_choices,
)
from bot.conversations.tokens import Ref
from bot.domain.grid import Level
from bot.domain.messages import Button, Inbound, InboundKind, Reply
from bot.features.moral_models import notices, service
from bot.features.moral_models.model import Campaign, Category, Phase, Status
from bot.features.moral_models.tokens import (
    ANNOUNCE_HONOURS,
    APPROVE,
    BALLOT,
    CAMPAIGN,
    CATEGORY,
    CONSENT,
    DAYS,
    EXAMINE,
    HONOUR,
    KIND,
    NEW,
    NOMINATE,
    NOMINEE,
    OBJECT,
    PUBLIC,
    PUBLISH,
    REJECT,
    REMOVE,
    RESULTS,
    REVIEW,
    SCOPE,
    SHOW,
    SKIP_PHOTO,
    SUBMIT,
    VOTE,
    Pick,
)
from bot.i18n import t
from bot.services.people import clean_room, place_label
from bot.storage import grid

BELOW = {Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.COMPLEX, Level.COMPLEX: Level.BUILDING}


@dataclass(slots=True)
class ModelData:
    """The campaign and nomination a page is about; a new campaign's draft; a nomination's draft (category, the
    unit `at` which the building walk stands, the building, the candidates at the room typed, nominee, story,
    photo); what the reviewer is giving a reason for."""

    campaign: int | None = None
    nomination: int | None = None
    title: str = ""
    unit: int | None = None
    days: list[int] = field(default_factory=lambda: list(service.DEFAULT_DAYS))
    category: str = ""
    at: int | None = None
    building: int | None = None
    candidates: list[int] = field(default_factory=list)
    nominee: int | None = None
    story: str = ""
    photo: str = ""
    decision: str = ""  # REJECT or REMOVE


Page = Ctx[ModelData]


def _campaign_id(ctx: Page) -> int:
    assert ctx.data.campaign is not None
    return ctx.data.campaign


def _nomination_id(ctx: Page) -> int:
    assert ctx.data.nomination is not None
    return ctx.data.nomination


# ------------------------------------------------------------------------------------------------ begin


async def begin(ctx: Page) -> Transition:
    """The menu opens the home page; a `dm:` button opens the page it names, or does what it says."""
    return await _open(ctx, ctx.entry.token) if ctx.entry.token else Goto("home")


async def _open(ctx: Page, token: str) -> Transition:
    data = ctx.data
    if (ref := CAMPAIGN.parse(token)) is not None:
        data.campaign = (await service.visible(ctx.tx, ref.id, ctx.person, ctx.is_admin)).id
        return Goto("campaign")
    if (ref := NOMINATE.parse(token)) is not None:
        data.campaign = (await service.nominating(ctx.tx, ref.id, ctx.person, ctx.now)).id
        return Goto("nom_category")
    if (answer := CONSENT.parse(token)) is not None:
        done = await service.consent(ctx.tx, answer.nomination, ctx.person, answer.yes, ctx.now)
        said = {Status.CONSENTED: t("moral.consented"), Status.DECLINED: t("moral.declined")}
        return Done((Reply(said.get(done.status, t("moral.withdrawn")), notices.consent_buttons(done)),))
    if (ref := PUBLIC.parse(token)) is not None:
        data.campaign = (await service.public_list(ctx.tx, ref.id, ctx.person, ctx.is_admin))[0].id
        return Goto("public")
    if (ref := SHOW.parse(token)) is not None:
        owner, found = await service.public_nomination(ctx.tx, ref.id, ctx.person, ctx.is_admin)
        data.campaign, data.nomination = owner.id, found.id
        return Goto("public_card")
    if (ref := OBJECT.parse(token)) is not None:
        owner, found = await service.public_nomination(ctx.tx, ref.id, ctx.person, ctx.is_admin)
        data.campaign, data.nomination = owner.id, found.id
        return Goto("objection")
    return await _voting_or_reviewing(ctx, token)


async def _voting_or_reviewing(ctx: Page, token: str) -> Transition:
    data = ctx.data
    if (ref := BALLOT.parse(token)) is not None:
        data.campaign = (await service.ballot(ctx.tx, ref.id, ctx.person, ctx.now))[0].id
        return Goto("ballot")
    if (pick := CATEGORY.parse(token)) is not None:
        data.campaign = (await service.ballot(ctx.tx, pick.campaign, ctx.person, ctx.now))[0].id
        data.category = pick.category.value
        return Goto("ballot_category")
    if (ref := VOTE.parse(token)) is not None:
        found = await service.vote(ctx.tx, ref.id, ctx.person, ctx.now, ctx.timezone)
        data.campaign = found.campaign_id
        return Goto("ballot", (Reply(t("moral.voted", category=notices.category(found.category))),))
    if (ref := REVIEW.parse(token)) is not None:
        data.campaign = (await service.reviewing(ctx.tx, ref.id, ctx.person, ctx.is_admin)).id
        return Goto("review")
    if (ref := EXAMINE.parse(token)) is not None:
        owner, found = await service.examine(ctx.tx, ref.id, ctx.person, ctx.is_admin)
        data.campaign, data.nomination = owner.id, found.id
        return Goto("review_card")
    if (ref := RESULTS.parse(token)) is not None:
        data.campaign = (await service.results(ctx.tx, ref.id, ctx.person, ctx.is_admin))[0].id
        return Goto("results")
    if (ref := HONOUR.parse(token)) is not None:
        found = await service.toggle_honour(ctx.tx, ref.id, ctx.person, ctx.is_admin)
        data.campaign = found.campaign_id
        return Goto("results")
    return say(t("auth.denied"))


async def _stay(ctx: Page, inbound: Inbound) -> Transition:
    """A page whose every button is a `dm:` one (see `_routed`): anything else is not understood."""
    return Retry("nav.use_buttons")


def _routed(handle: Handler[ModelData]) -> Handler[ModelData]:
    """A pressed `dm:` button starts this flow again, through `begin`; one chosen by typing its number or label
    (the console, WeCom's numbered lists) reaches the page's handler instead, and is opened the same way."""

    async def routed(ctx: Page, inbound: Inbound) -> Transition:
        if inbound.token.startswith("dm:"):
            ctx.data = ModelData()
            return await _open(ctx, inbound.token)
        return await handle(ctx, inbound)

    return routed


# ------------------------------------------------------------------------------------------ home, campaign


async def ask_home(ctx: Page) -> Reply:
    listed = await service.listed_for(ctx.tx, ctx.person, ctx.is_admin)
    items = [(t("moral.item", title=item.title, phase=notices.phase(item.phase)), CAMPAIGN.make(Ref(item.id)))
             for item in listed]
    if service.may_create(ctx.person, ctx.is_admin):
        items.append((t("moral.new"), NEW))
    return Reply(t("moral.home") if listed else t("moral.home_empty"), choices(items, per_row=1))


async def on_home(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.token == NEW and service.may_create(ctx.person, ctx.is_admin):
        return Goto("new_title")
    return Retry("nav.use_buttons")


async def _actions(ctx: Page, campaign: Campaign) -> list[tuple[str, str]]:
    """What this person can do in the campaign now."""
    ref = Ref(campaign.id)
    resident = await service.in_scope(ctx.tx, ctx.person, campaign)
    reviewer = await service.is_reviewer(ctx.tx, ctx.person, ctx.is_admin, campaign)
    items = []
    if resident and campaign.phase is Phase.NOMINATING and ctx.now < campaign.nominate_until:
        items.append((t("moral.nominate"), NOMINATE.make(ref)))
    if campaign.phase in service.PUBLIC:
        items.append((t("moral.public"), PUBLIC.make(ref)))
    if resident and campaign.phase is Phase.VOTING:
        items.append((t("moral.vote"), BALLOT.make(ref)))
    if reviewer:
        items.append((t("moral.review"), REVIEW.make(ref)))
    if campaign.phase is Phase.HONOURED or (reviewer and campaign.phase is Phase.CLOSED):
        items.append((t("moral.results"), RESULTS.make(ref)))
    return items


async def ask_campaign(ctx: Page) -> Reply:
    campaign = await service.visible(ctx.tx, _campaign_id(ctx), ctx.person, ctx.is_admin)
    lines = [await notices.card(ctx.tx, campaign, ctx.timezone, ctx.now)]
    mine = await service.mine(ctx.tx, campaign.id, ctx.person)
    names = await service.names(ctx.tx, mine)
    lines += [t("moral.mine_line", category=notices.category(item.category), name=names[item.id],
                status=notices.status(item.status)) for item in mine]
    return Reply("\n".join(lines), choices(await _actions(ctx, campaign), per_row=1))


# ------------------------------------------------------------------------------------------ new campaign


async def ask_new_title(ctx: Page) -> Reply:
    return Reply(t("moral.ask.title", limit=service.LIMITS["title"]))


async def on_new_title(ctx: Page, inbound: Inbound) -> Transition:
    if not service.may_create(ctx.person, ctx.is_admin):
        return say(t("auth.denied"))
    if inbound.kind is not InboundKind.TEXT:
        return Retry("moral.expect_text")
    ctx.data.title = service.clean("title", inbound.text)
    return Goto("new_scope")


async def ask_new_scope(ctx: Page) -> Reply:
    units = await service.scopes(ctx.tx)
    items = [(t("moral.scope_street", name=unit.name) if unit.level is Level.STREET else unit.name,
              SCOPE.make(Ref(unit.id))) for unit in units]
    return Reply(t("moral.ask.scope"), choices(items))


async def on_new_scope(ctx: Page, inbound: Inbound) -> Transition:
    ref = SCOPE.parse(inbound.token)
    if ref is None or ref.id not in {unit.id for unit in await service.scopes(ctx.tx)}:
        return Retry("nav.use_buttons")
    ctx.data.unit = ref.id
    return Goto("new_confirm")


async def ask_new_confirm(ctx: Page) -> Reply:
    data = ctx.data
    assert data.unit is not None
    ends = service.phase_ends(ctx.now, data.days, ctx.timezone)
    text = t("moral.confirm", title=data.title, scope=await place_label(ctx.tx, data.unit),
             nominate=notices.day(ends[0], ctx.timezone, ctx.now), review=notices.day(ends[1], ctx.timezone, ctx.now),
             publicize=notices.day(ends[2], ctx.timezone, ctx.now), vote=notices.day(ends[3], ctx.timezone, ctx.now))
    return Reply(text, choices([(t("moral.publish"), PUBLISH), (t("moral.change_days"), DAYS)], per_row=1))


async def on_new_confirm(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.token == DAYS:
        return Goto("new_days")
    if inbound.token != PUBLISH:
        return Retry("nav.use_buttons")
    data = ctx.data
    assert data.unit is not None
    made = await service.create(ctx.tx, data.title, data.unit, data.days, ctx.person, ctx.is_admin, ctx.now,
                                ctx.timezone)
    return say(t("moral.published", title=made.title))


async def ask_new_days(ctx: Page) -> Reply:
    return Reply(t("moral.ask.days", current=" ".join(str(days) for days in ctx.data.days)))


async def on_new_days(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("moral.expect_text")
    ctx.data.days = list(service.parse_days(inbound.text))
    return Goto("new_confirm")


# -------------------------------------------------------------------------------------------- nominating


async def ask_nom_category(ctx: Page) -> Reply:
    campaign = await service.nominating(ctx.tx, _campaign_id(ctx), ctx.person, ctx.now)
    return Reply(t("moral.ask.category", title=campaign.title),
                 choices([(notices.category(value), KIND.make(Pick(campaign.id, value))) for value in Category]))


async def on_nom_category(ctx: Page, inbound: Inbound) -> Transition:
    pick = KIND.parse(inbound.token)
    if pick is None or pick.campaign != ctx.data.campaign:
        return Retry("nav.use_buttons")
    campaign = await service.nominating(ctx.tx, pick.campaign, ctx.person, ctx.now)
    ctx.data.category, ctx.data.at = pick.category.value, campaign.unit_id
    return Goto("nom_unit")


async def ask_nom_unit(ctx: Page) -> Reply:
    at = await grid.by_id(ctx.tx, ctx.data.at or 0)
    below = None if at is None else BELOW.get(at.level)
    if at is None or below is None:
        return Reply(t("moral.error.scope"))
    return Reply(t("moral.ask.unit", place=await place_label(ctx.tx, at.id)), await unit_choices(ctx, below, at.id))


async def on_nom_unit(ctx: Page, inbound: Inbound) -> Transition:
    await service.nominating(ctx.tx, _campaign_id(ctx), ctx.person, ctx.now)
    at = await grid.by_id(ctx.tx, ctx.data.at or 0)
    below = None if at is None else BELOW.get(at.level)
    unit = None if at is None or below is None else await pick_unit(ctx, inbound, below, at.id)
    if unit is None:
        return Retry("nav.use_buttons")  # a forged or stale button: only the units offered
    if unit.level is Level.BUILDING:
        ctx.data.building = unit.id
        return Goto("nom_room")
    ctx.data.at = unit.id
    return Goto("nom_unit")


async def ask_nom_room(ctx: Page) -> Reply:
    return Reply(t("moral.ask.room", place=await place_label(ctx.tx, ctx.data.building)))


async def on_nom_room(ctx: Page, inbound: Inbound) -> Transition:
    room = clean_room(inbound.text) if inbound.kind is InboundKind.TEXT else None
    if room is None or ctx.data.building is None:
        return Retry("moral.expect_room")
    living = await service.people_at(ctx.tx, _campaign_id(ctx), ctx.person, ctx.data.building, room, ctx.now)
    ctx.data.candidates = [person_id for person_id, _ in living]
    if len(living) == 1:
        ctx.data.nominee = living[0][0]
        return Goto("nom_story")
    return Goto("nom_person")


async def ask_nom_person(ctx: Page) -> Reply:
    names = {person_id: name for person_id, name in await _candidates(ctx)}
    return Reply(t("moral.ask.person"), choices([(name or t("moral.unnamed"), NOMINEE.make(Ref(person_id)))
                                                 for person_id, name in names.items()]))


async def _candidates(ctx: Page) -> list[tuple[int, str]]:
    """(id, name) of the people found at the room typed."""
    return [(person_id, await service.name(ctx.tx, person_id)) for person_id in ctx.data.candidates]


async def on_nom_person(ctx: Page, inbound: Inbound) -> Transition:
    ref = NOMINEE.parse(inbound.token)
    if ref is None or ref.id not in ctx.data.candidates:
        return Retry("nav.use_buttons")
    ctx.data.nominee = ref.id
    return Goto("nom_story")


async def ask_nom_story(ctx: Page) -> Reply:
    return Reply(t("moral.ask.story", limit=service.LIMITS["story"]))


async def on_nom_story(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("moral.expect_text")
    ctx.data.story = service.clean("story", inbound.text)
    return Goto("nom_photo")


async def ask_nom_photo(ctx: Page) -> Reply:
    return Reply(t("moral.ask.photo"), choices([(t("moral.skip_photo"), SKIP_PHOTO)]))


async def on_nom_photo(ctx: Page, inbound: Inbound) -> Transition:
    photo = photo_or_skip(inbound, SKIP_PHOTO)
    if photo is None:
        return Retry("moral.expect_photo")
    ctx.data.photo = photo
    return Goto("nom_confirm")


async def ask_nom_confirm(ctx: Page) -> Reply:
    data = ctx.data
    names = dict(await _candidates(ctx))
    text = t("moral.nom_confirm", story=t("moral.story", category=notices.category(Category(data.category)),
                                           name=names.get(data.nominee or 0, ""), story=data.story))
    return Reply(text, choices([(t("moral.submit"), SUBMIT)]), photo=data.photo)


async def on_nom_confirm(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.token != SUBMIT:
        return Retry("nav.use_buttons")
    data = ctx.data
    assert data.nominee is not None
    await service.nominate(ctx.tx, _campaign_id(ctx), ctx.person, Category(data.category), data.nominee,
                           data.story, data.photo, ctx.now, ctx.timezone)
    return say(t("moral.nominated"))


# ---------------------------------------------------------------------------------------- 公示, objections


async def ask_public(ctx: Page) -> Reply:
    campaign, listed = await service.public_list(ctx.tx, _campaign_id(ctx), ctx.person, ctx.is_admin)
    names = await service.names(ctx.tx, listed)
    items = [(f"{notices.category(item.category)} · {names[item.id]}", SHOW.make(Ref(item.id))) for item in listed]
    text = t("moral.public_list", title=campaign.title) if items else t("moral.none_approved")
    return Reply(text, choices(items, per_row=1))


async def ask_public_card(ctx: Page) -> Reply:
    campaign, found = await service.public_nomination(ctx.tx, _nomination_id(ctx), ctx.person, ctx.is_admin)
    names = await service.names(ctx.tx, [found])
    buttons = choices([(t("moral.object"), OBJECT.make(Ref(found.id)))]) if (
        campaign.phase is Phase.PUBLICIZING) else ()
    return Reply(notices.story(found, names[found.id]), buttons, photo=found.photo_ref)


async def ask_objection(ctx: Page) -> Reply:
    return Reply(t("moral.ask.objection", limit=service.LIMITS["objection"]))


async def on_objection(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("moral.expect_text")
    await service.object_to(ctx.tx, _nomination_id(ctx), ctx.person, inbound.text, ctx.now)
    return say(t("moral.objected"))


# ---------------------------------------------------------------------------------------------------- vote


async def ask_ballot(ctx: Page) -> Reply:
    campaign, listed, mine = await service.ballot(ctx.tx, _campaign_id(ctx), ctx.person, ctx.now)
    names = await service.names(ctx.tx, listed)
    items = []
    for value in Category:
        if any(item.category is value for item in listed):
            chosen = mine.get(value)
            label = (t("moral.ballot_done", category=notices.category(value), name=names.get(chosen, ""))
                     if chosen else notices.category(value))
            items.append((label, CATEGORY.make(Pick(campaign.id, value))))
    text = t("moral.ballot", title=campaign.title) if items else t("moral.none_approved")
    return Reply(text, choices(items, per_row=1))


async def ask_ballot_category(ctx: Page) -> Reply:
    campaign, listed, mine = await service.ballot(ctx.tx, _campaign_id(ctx), ctx.person, ctx.now)
    value = Category(ctx.data.category)
    candidates = [item for item in listed if item.category is value]
    names = await service.names(ctx.tx, candidates)
    lines = [t("moral.ballot_category", category=notices.category(value))]
    lines += [notices.story(item, names[item.id]) for item in candidates]
    if value in mine:
        return Reply("\n\n".join([*lines, t("moral.error.voted")]),
                     choices([(t("moral.back_to_ballot"), BALLOT.make(Ref(campaign.id)))]))
    return Reply("\n\n".join(lines), choices([(t("moral.vote_for", name=names[item.id]), VOTE.make(Ref(item.id)))
                                              for item in candidates], per_row=1))


# -------------------------------------------------------------------------------------------------- review


async def ask_review(ctx: Page) -> Reply:
    campaign, listed, flags = await service.review_list(ctx.tx, _campaign_id(ctx), ctx.person, ctx.is_admin)
    names = await service.names(ctx.tx, listed)
    items = [(t("moral.review_item", category=notices.category(item.category), name=names[item.id],
                status=notices.status(item.status), flag="⚠️ " if item.id in flags else ""),
              EXAMINE.make(Ref(item.id))) for item in listed]
    lines = [t("moral.review_list", title=campaign.title, phase=notices.phase(campaign.phase))]
    lines += [t("moral.flag_line", name=names[item.id], votes=flags[item.id], window=service.BURST_MINUTES)
              for item in listed if item.id in flags]
    if not items:
        lines.append(t("moral.review_empty"))
    return Reply("\n".join(lines), choices(items, per_row=1))


async def ask_review_card(ctx: Page) -> Reply:
    campaign, found = await service.examine(ctx.tx, _nomination_id(ctx), ctx.person, ctx.is_admin)
    names = await service.names(ctx.tx, [found])
    events, objections = await service.history(ctx.tx, found.id)
    lines = [notices.story(found, names[found.id]), t("moral.status_line", status=notices.status(found.status))]
    if found.reason:
        lines.append(t("moral.reason_line", reason=found.reason))
    lines += [t("moral.flag_line", name=names[found.id], votes=event.note, window=service.BURST_MINUTES)
              for event in events if event.kind == "flagged"]
    lines += [t("moral.objection_line", text=item.text) for item in objections]
    buttons: list[tuple[str, str]] = []
    if found.status is Status.CONSENTED and campaign.phase in service.BEFORE_PUBLICITY:
        buttons = [(t("moral.approve"), APPROVE), (t("moral.reject"), REJECT)]
    elif found.status is Status.APPROVED and campaign.phase in (Phase.PUBLICIZING, Phase.VOTING):
        buttons = [(t("moral.remove"), REMOVE)]
    buttons.append((t("moral.back_to_review"), REVIEW.make(Ref(campaign.id))))
    return Reply("\n".join(lines), choices(buttons), photo=found.photo_ref)


async def on_review_card(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.token == APPROVE:
        await service.decide(ctx.tx, _nomination_id(ctx), ctx.person, ctx.is_admin, True, "", ctx.now)
        return Goto("review", (Reply(t("moral.approved")),))
    if inbound.token in (REJECT, REMOVE):
        await service.examine(ctx.tx, _nomination_id(ctx), ctx.person, ctx.is_admin)
        ctx.data.decision = inbound.token
        return Goto("reason")
    return Retry("nav.use_buttons")


async def ask_reason(ctx: Page) -> Reply:
    return Reply(t("moral.ask.reason", limit=service.LIMITS["reason"]))


async def on_reason(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("moral.expect_text")
    if ctx.data.decision == REMOVE:
        await service.remove(ctx.tx, _nomination_id(ctx), ctx.person, ctx.is_admin, inbound.text, ctx.now)
        return Goto("review", (Reply(t("moral.removed")),))
    await service.decide(ctx.tx, _nomination_id(ctx), ctx.person, ctx.is_admin, False, inbound.text, ctx.now)
    return Goto("review", (Reply(t("moral.rejected")),))


async def ask_results(ctx: Page) -> Reply:
    campaign, listed, tally = await service.results(ctx.tx, _campaign_id(ctx), ctx.person, ctx.is_admin)
    names = await service.names(ctx.tx, listed)
    text = f"{t('moral.results_title', title=campaign.title)}\n{notices.results(listed, names, tally)}"
    if campaign.phase is not Phase.CLOSED or not await service.is_reviewer(ctx.tx, ctx.person, ctx.is_admin,
                                                                           campaign):
        return Reply(text)
    toggles = [(t("moral.honour_toggle", mark="⭐" if item.honoured else "☆", name=names[item.id]),
                HONOUR.make(Ref(item.id))) for item in listed]
    rows = (*choices(toggles), (Button(t("moral.announce_honours"), ANNOUNCE_HONOURS),))
    return Reply(f"{text}\n\n{t('moral.results_hint')}", rows)


async def on_results(ctx: Page, inbound: Inbound) -> Transition:
    if inbound.token != ANNOUNCE_HONOURS:
        return Retry("nav.use_buttons")
    told = await service.honour(ctx.tx, _campaign_id(ctx), ctx.person, ctx.is_admin, ctx.now)
    return say(t("moral.honours_sent", count=told))


FLOW = Flow(
    name="moral_models",
    first="home",
    data=ModelData,
    begin=begin,
    claims=("dm:",),
    states={
        "home": State(ask_home, _routed(on_home), back=False),
        "campaign": State(ask_campaign, _routed(_stay)),
        "new_title": State(ask_new_title, _routed(on_new_title)),
        "new_scope": State(ask_new_scope, _routed(on_new_scope)),
        "new_confirm": State(ask_new_confirm, _routed(on_new_confirm)),
        "new_days": State(ask_new_days, _routed(on_new_days)),
        "nom_category": State(ask_nom_category, _routed(on_nom_category), back=False),
        "nom_unit": State(ask_nom_unit, _routed(on_nom_unit)),
        "nom_room": State(ask_nom_room, _routed(on_nom_room)),
        "nom_person": State(ask_nom_person, _routed(on_nom_person)),
        "nom_story": State(ask_nom_story, _routed(on_nom_story)),
        "nom_photo": State(ask_nom_photo, _routed(on_nom_photo)),
        "nom_confirm": State(ask_nom_confirm, _routed(on_nom_confirm)),
        "public": State(ask_public, _routed(_stay)),
        "public_card": State(ask_public_card, _routed(_stay)),
        "objection": State(ask_objection, _routed(on_objection)),
        "ballot": State(ask_ballot, _routed(_stay)),
        "ballot_category": State(ask_ballot_category, _routed(_stay)),
        "review": State(ask_review, _routed(_stay)),
        "review_card": State(ask_review_card, _routed(on_review_card)),
        "reason": State(ask_reason, _routed(on_reason)),
        "results": State(ask_results, _routed(on_results)),
    },
)
