"""A resident's reports: the list (their own and those they follow, newest first), one report in detail with
adding information, withdrawing, rating a resolved one and asking for a review of a rejected one, and the answers
to pushed questions: "is it fixed?" (yes: stars and an optional comment; no: what is still wrong, skippable) and,
14 days on, "did it stay fixed?". Followers answer and rate as the reporter does.

Pushed buttons start this flow from anywhere: `r:view:<id>`, `r:fix:<id>:y|n`, `r:re:<id>:y|n`, `r:rev:<id>`.
Tokens are parsed strictly and the services re-check that the person is the reporter or a follower (only the
reporter adds information or withdraws); a refusal changes nothing. Diagram: my_reports.mmd.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.conversations.flow import Ctx, Done, Flow, Goto, Handler, Retry, State, Transition, choices, token_id
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.reports import service as issue_service
from bot.features.reports import store as issue_store
from bot.features.reports.model import Issue, Status
from bot.features.reports.report import category_label
from bot.features.reports.service import IssueError
from bot.i18n import t
from bot.services.people import place_label

TOKEN = re.compile(r"r:view:(\d{1,12})|r:(fix|re):(\d{1,12}):([yn])|r:rev:(\d{1,12})", re.ASCII)
STARS = range(1, 6)

Act = Callable[[Ctx, Person, Inbound], Awaitable[Transition]]


async def _guarded(ctx: Ctx, act: Callable[[Person], Awaitable[Transition]]) -> Transition:
    """Run `act` for the person themself; a refusal from the services ends the flow with its kind message."""
    if ctx.person is None:
        return Done((Reply(t("auth.denied")),))
    try:
        return await act(ctx.person)
    except IssueError as error:
        return Done((Reply(t(error.key, **error.params)),))


def _acting(act: Act) -> Handler:
    """A state handler for steps that need the person and may be refused by the services."""

    async def handle(ctx: Ctx, inbound: Inbound) -> Transition:
        return await _guarded(ctx, lambda person: act(ctx, person, inbound))

    return handle


def _me(ctx: Ctx) -> Person:
    assert ctx.person is not None  # every step of this flow checks it first
    return ctx.person


async def begin(ctx: Ctx) -> Transition:
    return await _guarded(ctx, lambda person: _start(ctx, person))


async def _start(ctx: Ctx, person: Person) -> Transition:
    token = ctx.entry.token
    if not token:
        return Goto("list") if await issue_service.reports_of(ctx.tx, person) else Done((Reply(t("mine.none")),))
    match = TOKEN.fullmatch(token)
    if match is None:
        return Done((Reply(t("auth.denied")),))
    view_id, kind, issue_id, answer, review_id = match.groups()
    if view_id:
        return await _open(ctx, person, int(view_id))
    if review_id:
        return await _review(ctx, person, int(review_id))
    if answer == "n":
        issue = await issue_service.answerable(ctx.tx, int(issue_id), person)
        ctx.data.update(issue=issue.id, ref=issue.ref)
        return Goto("still_wrong")
    issue = await issue_service.answer_fixed(ctx.tx, int(issue_id), person, True, ctx.now, ctx.timezone)
    if kind == "fix" and issue.status is Status.RESOLVED:
        ctx.data["issue"] = issue.id
        return Goto("stars")
    return Done((Reply(t("mine.stayed_fixed", ref=issue.ref)),))


async def _open(ctx: Ctx, person: Person, issue_id: int) -> Transition:
    issue = await issue_service.view_as_resident(ctx.tx, issue_id, person)
    ctx.data.update(issue=issue.id, ref=issue.ref)
    return Goto("detail")


async def _review(ctx: Ctx, person: Person, issue_id: int) -> Transition:
    issue = await issue_service.request_review(ctx.tx, issue_id, person, ctx.now, ctx.timezone)
    place = await place_label(ctx.tx, issue.owner_unit_id)
    return Done((Reply(t("mine.review_sent", ref=issue.ref, place=place)),))


async def ask_list(ctx: Ctx) -> Reply:
    items = [(t("mine.item", ref=issue.ref, category=await category_label(ctx, issue.category),
                status=t(f"status.{issue.status.value}")), f"r:view:{issue.id}")
             for issue in await issue_service.reports_of(ctx.tx, _me(ctx))]
    return Reply(t("mine.list") if items else t("mine.none"), choices(items, per_row=1))


async def on_list(ctx: Ctx, person: Person, inbound: Inbound) -> Transition:
    """Typing an item's number lands here (a pressed `r:view:` button restarts the flow through `begin`)."""
    match = TOKEN.fullmatch(inbound.token)
    if match is None or match.group(1) is None:
        return Retry("nav.use_buttons")
    return await _open(ctx, person, int(match.group(1)))


async def ask_detail(ctx: Ctx) -> Reply:
    person = _me(ctx)
    try:
        issue = await issue_service.view_as_resident(ctx.tx, ctx.data["issue"], person)
        lines = [await issue_service.summary(ctx.tx, issue, ctx.timezone, ctx.now,
                                             with_room=issue.reporter_id == person.id)]
    except IssueError as error:
        return Reply(t(error.key, **error.params), choices([(t("mine.all"), "v:list")]))
    reason = await issue_service.rejection_reason(ctx.tx, issue)
    if reason:
        lines.append(t("mine.rejected_because", reason=reason))
    photos = len(await issue_store.photos(ctx.tx, issue.id, "report"))
    if photos:
        lines.append(t("mine.photos", count=photos))
    own = issue.reporter_id == person.id
    if not own:
        lines.append(t("mine.following"))
    return Reply("\n".join(lines), (*choices(await _actions(ctx, issue, own=own)),
                                    *choices([(t("mine.all"), "v:list")])))


async def _actions(ctx: Ctx, issue: Issue, *, own: bool) -> list[tuple[str, str]]:
    """What the person may do with the report now (each re-checked by the services when pressed)."""
    actions = [(t("mine.add_info"), "v:info"), (t("mine.withdraw"), "v:withdraw")] if own and issue.is_open else []
    if issue.status is Status.RESOLVED:  # resolved and not rated yet (rating closes it)
        actions.append((t("mine.rate"), "v:rate"))
    if await issue_service.reviewable(ctx.tx, issue):
        actions.append((t("issue.review"), "v:review"))
    return actions


async def on_detail(ctx: Ctx, person: Person, inbound: Inbound) -> Transition:
    if inbound.token == "v:review":
        return await _review(ctx, person, ctx.data["issue"])
    if inbound.token == "v:rate":
        await issue_service.answerable(ctx.tx, ctx.data["issue"], person)
        return Goto("stars")
    moves = {"v:info": "info", "v:withdraw": "withdraw", "v:list": "list"}
    return Goto(moves[inbound.token]) if inbound.token in moves else Retry("nav.use_buttons")


async def ask_info(ctx: Ctx) -> Reply:
    return Reply(t("mine.info", ref=ctx.data["ref"]))


async def on_info(ctx: Ctx, person: Person, inbound: Inbound) -> Transition:
    photo = inbound.media_ref if inbound.kind is InboundKind.PHOTO else ""
    text = inbound.text.strip() if inbound.kind in (InboundKind.TEXT, InboundKind.PHOTO) else ""
    if not (text or photo):
        return Retry("mine.expect_info")
    if len(text) > issue_service.MAX_DESCRIPTION:
        return Retry("report.description_too_long")
    try:
        issue = await issue_service.add_info(ctx.tx, ctx.data["issue"], person, text, photo, ctx.now)
    except IssueError as error:
        return Done((Reply(t(error.key, **error.params)),))
    return Done((Reply(t("mine.info_added", ref=issue.ref)),))


async def ask_withdraw(ctx: Ctx) -> Reply:
    return Reply(t("mine.withdraw_confirm", ref=ctx.data["ref"]), choices([(t("mine.withdraw_yes"), "w:yes")]))


async def on_withdraw(ctx: Ctx, person: Person, inbound: Inbound) -> Transition:
    if inbound.token != "w:yes":
        return Retry("nav.use_buttons")
    issue = await issue_service.withdraw(ctx.tx, ctx.data["issue"], person, ctx.now)
    return Done((Reply(t("mine.withdrawn", ref=issue.ref)),))


async def ask_still_wrong(ctx: Ctx) -> Reply:
    return Reply(t("mine.still_wrong", ref=ctx.data["ref"]), choices([(t("mine.skip"), "sw:skip")]))


async def on_still_wrong(ctx: Ctx, person: Person, inbound: Inbound) -> Transition:
    """Not fixed: what is still wrong, in words or a voice note (or skipped), goes with the report back to the
    grid."""
    words = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    voice = inbound.media_ref if inbound.kind is InboundKind.VOICE else ""
    if not (words or voice) and inbound.token != "sw:skip":
        return Retry("mine.expect_still_wrong")
    if len(words) > issue_service.MAX_DESCRIPTION:
        return Retry("report.description_too_long")
    issue = await issue_service.answer_fixed(ctx.tx, ctx.data["issue"], person, False, ctx.now, ctx.timezone,
                                             words=words, voice=voice)
    return Done((Reply(t("mine.reopened", ref=issue.ref)),))


async def ask_stars(ctx: Ctx) -> Reply:
    return Reply(t("mine.stars"), choices([("⭐" * stars, f"s:{stars}") for stars in STARS], per_row=1))


async def on_stars(ctx: Ctx, inbound: Inbound) -> Transition:
    stars = token_id(inbound, "s")
    if stars not in STARS:
        return Retry("nav.use_buttons")
    ctx.data["stars"] = stars
    return Goto("comment")


async def ask_comment(ctx: Ctx) -> Reply:
    return Reply(t("mine.comment"), choices([(t("mine.skip"), "cm:skip")]))


async def on_comment(ctx: Ctx, person: Person, inbound: Inbound) -> Transition:
    comment = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    if not comment and inbound.token != "cm:skip":
        return Retry("mine.expect_comment")
    issue = await issue_service.rate(ctx.tx, ctx.data["issue"], person, ctx.data["stars"], comment, ctx.now)
    return Done((Reply(t("mine.rated", ref=issue.ref)),))


FLOW = Flow(
    name="my_reports",
    first="list",
    begin=begin,
    claims=("r:",),
    states={
        "list": State(ask_list, _acting(on_list), back=False),
        "detail": State(ask_detail, _acting(on_detail)),
        "still_wrong": State(ask_still_wrong, _acting(on_still_wrong), back=False),
        "info": State(ask_info, _acting(on_info)),
        "withdraw": State(ask_withdraw, _acting(on_withdraw)),
        "stars": State(ask_stars, on_stars, back=False),
        "comment": State(ask_comment, _acting(on_comment)),
    },
)
