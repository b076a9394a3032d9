"""一评议 in the chat. Diagram: evaluation.mmd.

Voters (party members of a branch, residents linked to one): a pushed `ev:b:<round>` (the open push, the
reminder), or a round on the home page → whom to rate → grade → optional comment → cast, then the next one. The
grade is never echoed back and the cast clears it from the stored chat events; the conversation forgets it.
Managers (the branch's secretary, street administrators): home → a branch → open this half's round, or once closed
its results → a member → the determination; admins also open every branch's round at once. `ev:m:<round>` (the
close push) leads to the results, `ev:r:<target>` (a member's result push) to that member's own result only.
Every step re-checks rights in the service. `RESULTS` is the menu's "📜 我的评议结果"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.flow import Ctx, Flow, Goto, NoData, Retry, State, Transition, choices, say
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.evaluations import notices, service
from bot.features.evaluations.model import Grade, RoundStatus, TargetKind
from bot.features.evaluations.tokens import (
    BALLOTS,
    BRANCH,
    DETERMINE,
    GRADE,
    MANAGE,
    OPEN_ALL,
    OPEN_ONE,
    RESULT,
    ROUND,
    SKIP_COMMENT,
    TARGET,
    GradePick,
)
from bot.i18n import t
from bot.storage import grid, inbox


@dataclass(slots=True)
class EvaluationData:
    """The round being voted in or managed, the branch whose page is open, the target being rated or determined,
    and the grade picked until the ballot is cast (then dropped)."""

    round: int | None = None
    branch: int | None = None
    target: int | None = None
    grade: str | None = None


Eval = Ctx[EvaluationData]


def _person(ctx: Ctx[Any]) -> Person:
    assert ctx.person is not None  # the menu and pushed buttons are for registered people only
    return ctx.person


def _grades() -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple(((notices.grade_name(grade), GRADE.make(GradePick(grade))),) for grade in Grade)


# --------------------------------------------------------------------------------------------- begin


async def begin(ctx: Eval) -> Transition:
    token = ctx.entry.token
    if not token:
        return Goto("home")
    person = _person(ctx)
    if (ballots := BALLOTS.parse(token)) is not None:
        return await _to_ballots(ctx, ballots.id)
    if (result := RESULT.parse(token)) is not None:
        own = await service.own_result(ctx.tx, result.id, person)
        branch = await grid.by_id(ctx.tx, own.round.branch_id)
        return say(notices.result_text(own, "" if branch is None else branch.name))
    if (manage := MANAGE.parse(token)) is not None:
        await service.round_results(ctx.tx, manage.id, ctx.person, ctx.is_admin)
        ctx.data.round = manage.id
        return Goto("results")
    return say(t("auth.denied"))


async def _to_ballots(ctx: Eval, round_id: int) -> Transition:
    left = await service.ballots_left(ctx.tx, round_id, _person(ctx), ctx.now)
    if not left:
        return say(t("evaluation.all_done"))
    ctx.data = EvaluationData(round=round_id)
    return Goto("ballots")


# ---------------------------------------------------------------------------------------------- home


async def ask_home(ctx: Eval) -> Reply:
    person = _person(ctx)
    rounds = await service.open_rounds_for(ctx.tx, person, ctx.now)
    items = [(t("evaluation.vote_in", branch=branch.name, left=left), ROUND.make(Ref(round_.id)))
             for round_, branch, left in rounds]
    managed = await service.managed_branches(ctx.tx, person, ctx.is_admin)
    items += [(t("evaluation.manage", branch=branch.name), BRANCH.make(Ref(branch.id))) for branch in managed]
    if service.is_street_admin(person, ctx.is_admin):
        items.append((t("evaluation.open_all"), OPEN_ALL))
    return Reply(t("evaluation.home") if items else t("evaluation.home_empty"), choices(items, per_row=1))


async def on_home(ctx: Eval, inbound: Inbound) -> Transition:
    if inbound.token == OPEN_ALL:
        opened = await service.open_all(ctx.tx, ctx.person, ctx.is_admin, ctx.now, ctx.timezone)
        return Goto("home", (Reply(t("evaluation.opened_all", count=opened)),))
    if (picked := ROUND.parse(inbound.token)) is not None:
        return await _to_ballots(ctx, picked.id)
    if (branch := BRANCH.parse(inbound.token)) is not None:
        await service.managed_branch(ctx.tx, ctx.person, ctx.is_admin, branch.id)
        ctx.data = EvaluationData(branch=branch.id)
        return Goto("branch")
    return Retry("nav.use_buttons")


# -------------------------------------------------------------------------------------------- voting


def _round_id(ctx: Eval) -> int:
    assert ctx.data.round is not None
    return ctx.data.round


def _target_id(ctx: Eval) -> int:
    assert ctx.data.target is not None
    return ctx.data.target


async def ask_ballots(ctx: Eval) -> Reply:
    left = await service.ballots_left(ctx.tx, _round_id(ctx), _person(ctx), ctx.now)
    items = [(t("evaluation.rate", name=notices.target_name(target)), TARGET.make(Ref(target.id)))
             for target in left]
    return Reply(t("evaluation.ballots", count=len(left)), choices(items, per_row=1))


async def on_ballots(ctx: Eval, inbound: Inbound) -> Transition:
    picked = TARGET.parse(inbound.token)
    if picked is None:
        return Retry("nav.use_buttons")
    target = await service.votable(ctx.tx, picked.id, _person(ctx), ctx.now)
    if target.round_id != ctx.data.round:
        return Retry("nav.use_buttons")  # a button of another round's list
    ctx.data.target, ctx.data.grade = target.id, None
    return Goto("grade")


async def ask_grade(ctx: Eval) -> Reply:
    target = await service.votable(ctx.tx, _target_id(ctx), _person(ctx), ctx.now)
    key = "evaluation.ask_branch_grade" if target.kind is TargetKind.BRANCH else "evaluation.ask_grade"
    return Reply(t(key, name=notices.target_name(target)), choices([item for row in _grades() for item in row],
                                                                    per_row=2))


async def on_grade(ctx: Eval, inbound: Inbound) -> Transition:
    picked = GRADE.parse(inbound.token)
    if picked is None:
        return Retry("evaluation.use_grades")
    await service.votable(ctx.tx, _target_id(ctx), _person(ctx), ctx.now)
    ctx.data.grade = picked.grade.value
    return Goto("comment")


async def ask_comment(ctx: Eval) -> Reply:
    return Reply(t("evaluation.ask_comment", limit=service.COMMENT_MAX),
                 choices([(t("evaluation.skip_comment"), SKIP_COMMENT)]))


async def on_comment(ctx: Eval, inbound: Inbound) -> Transition:
    if ctx.data.grade is None:  # back here after the ballot was cast
        return Goto("ballots")
    typed = inbound.kind is InboundKind.TEXT and bool(inbound.text.strip())
    if inbound.token != SKIP_COMMENT and not typed:
        return Retry("evaluation.expect_comment")
    person = _person(ctx)
    await service.vote(ctx.tx, _target_id(ctx), person, Grade(ctx.data.grade), inbound.text if typed else "",
                       ctx.now)
    await inbox.forget_handled(ctx.tx, ctx.sender.channel, ctx.sender.user_id, GRADE.head)
    ctx.data.grade = ctx.data.target = None
    if not await service.ballots_left(ctx.tx, _round_id(ctx), person, ctx.now):
        return say(t("evaluation.cast_last"))
    return Goto("ballots", (Reply(t("evaluation.cast")),))


# ------------------------------------------------------------------------------------------ managing


def _branch_id(ctx: Eval) -> int:
    assert ctx.data.branch is not None
    return ctx.data.branch


async def ask_branch(ctx: Eval) -> Reply:
    branch, latest, voters = await service.branch_page(ctx.tx, _branch_id(ctx), ctx.person, ctx.is_admin)
    year, half = service.half_of(ctx.now, ctx.timezone)
    items = []
    if latest is None:
        text = t("evaluation.branch_none", branch=branch.name)
    else:
        text = t(f"evaluation.branch_{latest.status.value}", branch=branch.name,
                 period=notices.period(latest.year, latest.half), voters=voters)
        if latest.status is RoundStatus.CLOSED:
            items.append((t("evaluation.record"), DETERMINE))
    if latest is None or (latest.year, latest.half) != (year, half):
        items.append((t("evaluation.open_one", period=notices.period(year, half)), OPEN_ONE))
    return Reply(text, choices(items, per_row=1))


async def on_branch(ctx: Eval, inbound: Inbound) -> Transition:
    if inbound.token == OPEN_ONE:
        opened = await service.open_round(ctx.tx, _branch_id(ctx), ctx.person, ctx.is_admin, ctx.now, ctx.timezone)
        return Goto("branch", (Reply(t("evaluation.opened_one", period=notices.period(opened.year, opened.half))),))
    if inbound.token == DETERMINE:
        _, latest, _ = await service.branch_page(ctx.tx, _branch_id(ctx), ctx.person, ctx.is_admin)
        if latest is None:
            return Retry("nav.use_buttons")
        await service.round_results(ctx.tx, latest.id, ctx.person, ctx.is_admin)
        ctx.data.round = latest.id
        return Goto("results")
    return Retry("nav.use_buttons")


async def ask_results(ctx: Eval) -> Reply:
    branch, results = await service.round_results(ctx.tx, _round_id(ctx), ctx.person, ctx.is_admin)
    members = [result.target for result in results if result.target.kind is TargetKind.MEMBER]
    text = "\n".join([notices.round_page(branch, results),
                      t("evaluation.cap_note", cap=service.excellent_cap(len(members)), members=len(members))])
    return Reply(text, choices([(t("evaluation.determine", name=notices.target_name(target)),
                                 TARGET.make(Ref(target.id))) for target in members], per_row=1))


async def on_results(ctx: Eval, inbound: Inbound) -> Transition:
    picked = TARGET.parse(inbound.token)
    if picked is None:
        return Retry("nav.use_buttons")
    target = await service.determinable(ctx.tx, picked.id, ctx.person, ctx.is_admin)
    if target.round_id != ctx.data.round:
        return Retry("nav.use_buttons")
    ctx.data.target = target.id
    return Goto("determination")


async def ask_determination(ctx: Eval) -> Reply:
    target = await service.determinable(ctx.tx, _target_id(ctx), ctx.person, ctx.is_admin)
    return Reply(t("evaluation.ask_determination", name=notices.target_name(target)),
                 choices([item for row in _grades() for item in row], per_row=2))


async def on_determination(ctx: Eval, inbound: Inbound) -> Transition:
    picked = GRADE.parse(inbound.token)
    if picked is None:
        return Retry("evaluation.use_grades")
    target = await service.determine(ctx.tx, _target_id(ctx), picked.grade, ctx.person, ctx.is_admin, ctx.now)
    return Goto("results", (Reply(t("evaluation.determined", name=notices.target_name(target),
                                    grade=notices.grade_name(picked.grade))),))


FLOW = Flow(
    name="evaluation",
    first="home",
    data=EvaluationData,
    begin=begin,
    claims=("ev:",),
    states={
        "home": State(ask_home, on_home, back=False),
        "ballots": State(ask_ballots, on_ballots),
        "grade": State(ask_grade, on_grade),
        "comment": State(ask_comment, on_comment),
        "branch": State(ask_branch, on_branch),
        "results": State(ask_results, on_results),
        "determination": State(ask_determination, on_determination),
    },
)


# --------------------------------------------------------------------------------- 📜 我的评议结果


async def begin_results(ctx: Ctx[NoData]) -> Transition:
    """The member's own results, newest first; nobody else's."""
    results = await service.own_results(ctx.tx, _person(ctx))
    if not results:
        return say(t("evaluation.no_results"))
    texts = []
    for result in results:
        branch = await grid.by_id(ctx.tx, result.round.branch_id)
        texts.append(notices.result_text(result, "" if branch is None else branch.name))
    return say("\n\n".join(texts))


RESULTS = Flow(name="evaluation_results", first="", data=NoData, begin=begin_results, states={})
