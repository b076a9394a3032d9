"""A resident's reports: the list (their own and those they follow, newest first), one report in detail with
adding information, withdrawing, rating a resolved one and asking for a review of a rejected one, and the answers
to pushed questions: "is it fixed?" (yes: stars and an optional comment; no: what is still wrong, skippable) and,
14 days on, "did it stay fixed?". Followers answer and rate as the reporter does.

Pushed buttons start this flow from anywhere: `r:view:<id>`, `r:fix:<id>:y|n`, `r:re:<id>:y|n`, `r:rev:<id>`.
Tokens are parsed strictly and the services re-check that the person is the reporter or a follower (only the
reporter adds information or withdraws); a refusal changes nothing and ends the flow with its message (the
engine's). Diagram: my_reports.mmd.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import Ctx, Done, Flow, Goto, Retry, State, Transition, choices
from bot.conversations.tokens import RATINGS, Ref
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.reports import notices, tokens
from bot.features.reports import service as issue_service
from bot.features.reports import store as issue_store
from bot.features.reports.model import Issue, PhotoStage, Status
from bot.features.reports.report import category_label
from bot.features.reports.service import IssueError
from bot.features.reports.tokens import FIXED, REVIEW, STARS, STAYED, VIEW, Stars
from bot.i18n import t
from bot.services.people import place_label


@dataclass(slots=True)
class MineData:
    """The report open (None until one is), its reference, and the stars given before the comment."""

    issue: int | None = None
    ref: str = ""
    stars: int | None = None


Mine = Ctx[MineData]


def _me(ctx: Mine) -> Person:
    """The person themself: every step acts as them (the services check what they may do)."""
    if ctx.person is None:
        raise IssueError("auth.denied")
    return ctx.person


def _issue(ctx: Mine) -> int:
    """The report the steps after the list are about (set before any of them is entered)."""
    assert ctx.data.issue is not None
    return ctx.data.issue


async def begin(ctx: Mine) -> Transition:
    person = _me(ctx)
    token = ctx.entry.token
    if not token:
        return Goto("list") if await issue_service.reports_of(ctx.tx, person) else Done((Reply(t("mine.none")),))
    if (view := VIEW.parse(token)) is not None:
        return await _open(ctx, person, view.id)
    if (review := REVIEW.parse(token)) is not None:
        return await _review(ctx, person, review.id)
    fixed, stayed = FIXED.parse(token), STAYED.parse(token)
    answer = fixed or stayed
    if answer is None:
        return Done((Reply(t("auth.denied")),))
    if not answer.yes:
        issue = await issue_service.answerable(ctx.tx, answer.issue, person)
        ctx.data.issue, ctx.data.ref = issue.id, issue.ref
        return Goto("still_wrong")
    issue = await issue_service.answer_fixed(ctx.tx, answer.issue, person, True, ctx.now, ctx.timezone)
    if fixed is not None and issue.status is Status.RESOLVED:
        ctx.data.issue = issue.id
        return Goto("stars")
    return Done((Reply(t("mine.stayed_fixed", ref=issue.ref)),))


async def _open(ctx: Mine, person: Person, issue_id: int) -> Transition:
    issue = await issue_service.view_as_resident(ctx.tx, issue_id, person)
    ctx.data.issue, ctx.data.ref = issue.id, issue.ref
    return Goto("detail")


async def _review(ctx: Mine, person: Person, issue_id: int) -> Transition:
    issue = await issue_service.request_review(ctx.tx, issue_id, person, ctx.now, ctx.timezone)
    place = await place_label(ctx.tx, issue.owner_unit_id)
    return Done((Reply(t("mine.review_sent", ref=issue.ref, place=place)),))


async def ask_list(ctx: Mine) -> Reply:
    items = [(t("mine.item", ref=issue.ref, category=await category_label(ctx, issue.category),
                status=t(f"status.{issue.status.value}")), VIEW.make(Ref(issue.id)))
             for issue in await issue_service.reports_of(ctx.tx, _me(ctx))]
    return Reply(t("mine.list") if items else t("mine.none"), choices(items, per_row=1))


async def on_list(ctx: Mine, inbound: Inbound) -> Transition:
    """Typing an item's number lands here (a pressed `r:view:` button restarts the flow through `begin`)."""
    person = _me(ctx)
    view = VIEW.parse(inbound.token)
    if view is None:
        return Retry("nav.use_buttons")
    return await _open(ctx, person, view.id)


async def ask_detail(ctx: Mine) -> Reply:
    person = _me(ctx)
    try:
        issue = await issue_service.view_as_resident(ctx.tx, _issue(ctx), person)
        lines = [await notices.summary(ctx.tx, issue, ctx.timezone, ctx.now,
                                             with_room=issue.reporter_id == person.id)]
    except IssueError as error:  # gone or no longer theirs: said in place of the page, the list still offered
        return Reply(t(error.key, **error.params), choices([(t("mine.all"), tokens.ALL)]))
    reason = await issue_service.rejection_reason(ctx.tx, issue)
    if reason:
        lines.append(t("mine.rejected_because", reason=reason))
    photos = len(await issue_store.photos(ctx.tx, issue.id, PhotoStage.REPORT))
    if photos:
        lines.append(t("mine.photos", count=photos))
    own = issue.reporter_id == person.id
    if not own:
        lines.append(t("mine.following"))
    return Reply("\n".join(lines), (*choices(await _actions(ctx, issue, own=own)),
                                    *choices([(t("mine.all"), tokens.ALL)])))


async def _actions(ctx: Mine, issue: Issue, *, own: bool) -> list[tuple[str, str]]:
    """What the person may do with the report now (each re-checked by the services when pressed)."""
    actions = []
    if own and issue.is_open:
        actions += [(t("mine.add_info"), tokens.ADD_INFO), (t("mine.withdraw"), tokens.WITHDRAW)]
    if issue.status is Status.RESOLVED:  # resolved and not rated yet (rating closes it)
        actions.append((t("mine.rate"), tokens.RATE))
    if await issue_service.reviewable(ctx.tx, issue):
        actions.append((t("issue.review"), tokens.ASK_REVIEW))
    return actions


async def on_detail(ctx: Mine, inbound: Inbound) -> Transition:
    person = _me(ctx)
    if inbound.token == tokens.ASK_REVIEW:
        return await _review(ctx, person, _issue(ctx))
    if inbound.token == tokens.RATE:
        await issue_service.answerable(ctx.tx, _issue(ctx), person)
        return Goto("stars")
    moves = {tokens.ADD_INFO: "info", tokens.WITHDRAW: "withdraw", tokens.ALL: "list"}
    return Goto(moves[inbound.token]) if inbound.token in moves else Retry("nav.use_buttons")


async def ask_info(ctx: Mine) -> Reply:
    return Reply(t("mine.info", ref=ctx.data.ref))


async def on_info(ctx: Mine, inbound: Inbound) -> Transition:
    person = _me(ctx)
    photo = inbound.media_ref if inbound.kind is InboundKind.PHOTO else ""
    text = inbound.text.strip() if inbound.kind in (InboundKind.TEXT, InboundKind.PHOTO) else ""
    if not (text or photo):
        return Retry("mine.expect_info")
    if len(text) > issue_service.MAX_DESCRIPTION:
        return Retry("report.description_too_long")
    issue = await issue_service.add_info(ctx.tx, _issue(ctx), person, text, photo, ctx.now)
    return Done((Reply(t("mine.info_added", ref=issue.ref)),))


async def ask_withdraw(ctx: Mine) -> Reply:
    return Reply(t("mine.withdraw_confirm", ref=ctx.data.ref), choices([(t("mine.withdraw_yes"), tokens.WITHDRAW_YES)]))


async def on_withdraw(ctx: Mine, inbound: Inbound) -> Transition:
    person = _me(ctx)
    if inbound.token != tokens.WITHDRAW_YES:
        return Retry("nav.use_buttons")
    issue = await issue_service.withdraw(ctx.tx, _issue(ctx), person, ctx.now)
    return Done((Reply(t("mine.withdrawn", ref=issue.ref)),))


async def ask_still_wrong(ctx: Mine) -> Reply:
    return Reply(t("mine.still_wrong", ref=ctx.data.ref), choices([(t("mine.skip"), tokens.STILL_WRONG_SKIP)]))


async def on_still_wrong(ctx: Mine, inbound: Inbound) -> Transition:
    """Not fixed: what is still wrong, in words or a voice note (or skipped), goes with the report back to the
    grid."""
    person = _me(ctx)
    words = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    voice = inbound.media_ref if inbound.kind is InboundKind.VOICE else ""
    if not (words or voice) and inbound.token != tokens.STILL_WRONG_SKIP:
        return Retry("mine.expect_still_wrong")
    if len(words) > issue_service.MAX_DESCRIPTION:
        return Retry("report.description_too_long")
    issue = await issue_service.answer_fixed(ctx.tx, _issue(ctx), person, False, ctx.now, ctx.timezone,
                                             words=words, voice=voice)
    return Done((Reply(t("mine.reopened", ref=issue.ref)),))


async def ask_stars(ctx: Mine) -> Reply:
    return Reply(t("mine.stars"), choices([("⭐" * stars, STARS.make(Stars(stars))) for stars in RATINGS],
                                          per_row=1))


async def on_stars(ctx: Mine, inbound: Inbound) -> Transition:
    rating = STARS.parse(inbound.token)
    if rating is None:
        return Retry("nav.use_buttons")
    ctx.data.stars = rating.stars
    return Goto("comment")


async def ask_comment(ctx: Mine) -> Reply:
    return Reply(t("mine.comment"), choices([(t("mine.skip"), tokens.COMMENT_SKIP)]))


async def on_comment(ctx: Mine, inbound: Inbound) -> Transition:
    person = _me(ctx)
    comment = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    if not comment and inbound.token != tokens.COMMENT_SKIP:
        return Retry("mine.expect_comment")
    assert ctx.data.stars is not None  # the comment is asked after the stars
    issue = await issue_service.rate(ctx.tx, _issue(ctx), person, ctx.data.stars, comment, ctx.now)
    return Done((Reply(t("mine.rated", ref=issue.ref)),))


FLOW = Flow(
    name="my_reports",
    first="list",
    data=MineData,
    begin=begin,
    claims=("r:",),
    states={
        "list": State(ask_list, on_list, back=False),
        "detail": State(ask_detail, on_detail),
        "still_wrong": State(ask_still_wrong, on_still_wrong, back=False),
        "info": State(ask_info, on_info),
        "withdraw": State(ask_withdraw, on_withdraw),
        "stars": State(ask_stars, on_stars, back=False),
        "comment": State(ask_comment, on_comment),
    },
)
