"""The wording of 一评议: the pushes (a round opens, the reminder, it closes, a member's own result, their
determination) and how results read. Totals and comments show only from the service's THRESHOLD ballots; no text
ever repeats a voter's grade back to them (it would be kept beside their chat). Rendered in the current locale."""

from __future__ import annotations

from datetime import datetime

from bot.conversations.tokens import Ref
from bot.domain.grid import GridUnit
from bot.domain.messages import Button, Reply
from bot.features.evaluations.model import THRESHOLD, Grade, Result, Round, Tally, Target, TargetKind
from bot.features.evaluations.tokens import BALLOTS, MANAGE, RESULT
from bot.i18n import t
from bot.services.dates import local_time


def period(year: int, half: int) -> str:
    """"2026年上半年" / "first half of 2026"."""
    return t("evaluation.period", year=year, half=t("evaluation.first_half") if half == 1
             else t("evaluation.second_half"))


def grade_name(grade: Grade) -> str:
    return t(f"evaluation.grade.{grade.value}")


def tally_text(tally: Tally) -> str:
    """Totals per grade, or 样本不足 below the threshold (nor how many there are, then)."""
    if tally.total < THRESHOLD:
        return t("evaluation.too_few", threshold=THRESHOLD)
    counts = " · ".join(f"{grade_name(grade)} {tally.counts[grade]}" for grade in Grade)
    return t("evaluation.totals", counts=counts, total=tally.total)


def target_name(target: Target) -> str:
    if target.kind is TargetKind.BRANCH:
        return t("evaluation.the_branch", name=target.name)
    return target.name if target.person_id is not None else t("evaluation.gone", name=target.name)


def _ballots(round_: Round) -> tuple[tuple[Button, ...], ...]:
    return ((Button(t("evaluation.go_vote"), BALLOTS.make(Ref(round_.id))),),)


def opened(round_: Round, branch: GridUnit, timezone: str, now: datetime) -> Reply:
    return Reply(t("evaluation.opened_push", branch=branch.name, period=period(round_.year, round_.half),
                   until=local_time(round_.closes_at, timezone, now, weekday=True)), _ballots(round_))


def reminder(round_: Round, branch: GridUnit, timezone: str, now: datetime) -> Reply:
    return Reply(t("evaluation.reminder_push", branch=branch.name, period=period(round_.year, round_.half),
                   until=local_time(round_.closes_at, timezone, now, weekday=True)), _ballots(round_))


def closed(round_: Round, branch: GridUnit) -> Reply:
    return Reply(t("evaluation.closed_push", branch=branch.name, period=period(round_.year, round_.half)),
                 ((Button(t("evaluation.record"), MANAGE.make(Ref(round_.id))),),))


def result_text(result: Result, branch_name: str) -> str:
    """A member's own result: totals (from the threshold), comments unattributed (from the threshold), the
    branch's determination."""
    tally = result.tally
    lines = [t("evaluation.result_title", branch=branch_name, period=period(result.round.year, result.round.half)),
             tally_text(tally)]
    if tally.total >= THRESHOLD and tally.comments:
        lines.append(t("evaluation.comments"))
        lines.extend(f"· {comment}" for comment in tally.comments)
    determination = result.target.determination
    lines.append(t("evaluation.determination", grade=grade_name(determination)) if determination
                 else t("evaluation.not_determined"))
    return "\n".join(lines)


def own_result(result: Result, branch: GridUnit) -> Reply:
    """The private push at the close."""
    return Reply(result_text(result, branch.name),
                 ((Button(t("evaluation.view_result"), RESULT.make(Ref(result.target.id))),),))


def determined(round_: Round, target: Target) -> Reply:
    assert target.determination is not None
    return Reply(t("evaluation.determined_push", period=period(round_.year, round_.half),
                   grade=grade_name(target.determination)),
                 ((Button(t("evaluation.view_result"), RESULT.make(Ref(target.id))),),))


def round_page(branch: GridUnit, results: list[Result]) -> str:
    """A closed round for its managers: each target's totals (threshold applied) and determination."""
    first = results[0].round if results else None
    lines = [t("evaluation.round_title", branch=branch.name,
               period="" if first is None else period(first.year, first.half))]
    for result in results:
        target = result.target
        mark = "" if target.kind is TargetKind.BRANCH else (
            f" → {grade_name(target.determination)}" if target.determination else t("evaluation.mark_pending"))
        lines.append(f"{target_name(target)}：{tally_text(result.tally)}{mark}")
    return "\n".join(lines)
