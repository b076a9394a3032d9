"""How every level performs (智治): each grid unit's figures for a week, month or half-year, scores, ranks,
红榜 / 黑榜, reports left out of scoring, and the frozen half-yearly 考核.

A unit's figures count the reports located at it or below it (a community's include its complexes' and buildings'
reports), whoever owned them, as of `now`. They are read from `score_facts`: one row per report, written by
triggers (migration 017) in the same statement as every change to the report, its audit trail (`issue_events`) or
its exclusion, so each fact is recorded as it happens (a resident deleted later does not unmake their answers or
their reports' repeats).

The period's reports: filed in the period (the street's time zone), except those withdrawn by the resident, marked
duplicate of another, or excluded by an administrator (with a reason, audited). Per report, from its audit trail:

- deadline: the first routing decision (at filing) plus the category's time limit for the level it was routed to,
  both fixed at that moment: a limit changed later does not move past deadlines. The level is the report's owner
  as that decision is written (structured, not read from the decision's text; reports filed before migration 017
  had it read from the text once). The report is *due* once its deadline has passed.
- acceptance: its first `accepted` transition, or its first `resolved` one if it was resolved without being
  accepted (the task allows it). Resolution: its first `resolved` transition.
- a "fixed" answer: the resident's rating (it closes the report with the resident as actor: "is it fixed?" →
  yes → stars) or "stayed fixed" 14 days on; a "not fixed" answer: each reopening (only the resident reopens).

The figures:

- 响应率 response = due reports accepted by their deadline ÷ due reports.
- 按时办结率 on_time = due reports first resolved by their deadline ÷ due reports (one still open is late).
- 办结率 completion = reports resolved or closed now ÷ the period's reports (reopened and rejected ones are not).
- 解决率 fixed = "fixed" answers ÷ all answers, counted per answer (reopened once, then fixed: 1 of 2).
- 满意率 satisfaction = reports rated 4–5 stars ÷ reports rated (among those resolved or closed now); fewer than
  MIN_RATINGS ratings is TooFew (样本不足), which is never a number and keeps the unit out of rankings. Always shown
  with 回访率 follow_up = reports rated ÷ reports resolved or closed now.
- 重办率 redo = reports reopened at least once ÷ reports resolved at least once.
- 重复率 repeat = reports with an earlier report of the same reporter, category and place filed within the 60 days
  before ÷ the period's reports (the earlier one counts whatever became of it; decided when the report is filed).
- average hours to accept (filing → acceptance, over accepted reports) and to resolve (filing → first resolution,
  over reports resolved at least once).
- 小事不出社区率 local = reports resolved or closed now whose owner was the community level or below (not the street)
  ÷ reports resolved or closed now.
- 两联走访覆盖率 visit_coverage = households linked to a party member now (their active contact; counted at the
  household's building) visited by their member in the period ÷ those households (bot.features.visits); never a
  visit's note.
- 超期 overdue_now = open reports located in the unit, filed at any time (not excluded), whose current deadline has
  passed at `now`: a current figure, whatever the period.

A ratio with nothing to measure (÷ 0) has no value. Score = Σ points × rate (the weights CSV: 响应 30, 解决 35,
满意 35 by default) − per_overdue × overdue_now, at most max_deduction off; a unit any of whose weighted rates has no
value or is 样本不足 gets no score and no rank. Ranks compare the scorecard's units of one level (1 best; equal
scores share a rank). A half-year's snapshot, once frozen, is what that period's scorecard is from then on.

The reports behind a figure (reports_behind, for the chat): those in its whole, each saying whether it is in the
part; 解决率's are the reports answered at all (a part one has had a "fixed" answer; the figure counts answers).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from importlib.resources import files
from operator import add
from pathlib import Path
from typing import Any

from bot.domain.grid import GridUnit, Level
from bot.domain.people import Person, Role
from bot.domain.refusal import Refusal
from bot.features.reports import store as issues
from bot.features.reports.model import EventKind
from bot.features.scorecards import store
from bot.features.scorecards.model import (
    MIN_RATINGS,
    Counts,
    Kind,
    Metrics,
    Period,
    Ratio,
    Row,
    Scorecard,
    TooFew,
    Unit,
    Weights,
)
from bot.features.visits import service as visits
from bot.features.visits.model import Coverage
from bot.i18n import SUPPORTED, translate
from bot.services.grid_import import ImportRejected, decode
from bot.storage import grid
from bot.storage.db import Tx

SCORED_LEVELS = (Level.STREET, Level.COMMUNITY, Level.COMPLEX, Level.BUILDING)
WEIGHTABLE = ("response", "on_time", "completion", "fixed", "satisfaction", "follow_up", "local",  # higher is better
              "visit_coverage")
PENALTIES = ("per_overdue", "max_deduction")
DEFAULT_WEIGHTS = files("bot.features.scorecards").joinpath("weights.csv")
MAX_REASON = 500  # characters
_COUNTED = tuple(f.name for f in fields(Counts))
_OVERDUE_AT = _COUNTED.index("overdue_now")
_HOUSEHOLDS_AT, _VISITED_AT = _COUNTED.index("households"), _COUNTED.index("visited")
_NONE = Counts()


class ScoreError(Refusal):
    """A refused scorecard request (an unknown unit or report, a missing reason, a period that cannot be frozen)."""


class WeightsError(Refusal):
    """A weights CSV that cannot be used; the key says why and on which line."""


# ------------------------------------------------------------------------------------------------ figures


def metrics(counts: Counts) -> Metrics:
    """The figures made of `counts` (the definitions are in this module's docstring)."""
    c = counts
    satisfaction: Ratio | TooFew = (Ratio(c.satisfied, c.rated) if c.rated >= MIN_RATINGS
                                    else TooFew(c.satisfied, c.rated))
    return Metrics(
        counts=c,
        response=Ratio(c.accepted_in_time, c.due),
        on_time=Ratio(c.resolved_in_time, c.due),
        completion=Ratio(c.done, c.filed),
        fixed=Ratio(c.answered_fixed, c.answered_fixed + c.answered_not_fixed),
        satisfaction=satisfaction,
        follow_up=Ratio(c.rated, c.done),
        redo=Ratio(c.reopened, c.resolved_ever),
        repeat=Ratio(c.repeats, c.filed),
        hours_to_accept=c.hours_to_accept / c.accepted if c.accepted else None,
        hours_to_resolve=c.hours_to_resolve / c.resolved_ever if c.resolved_ever else None,
        local=Ratio(c.done_locally, c.done),
        overdue_now=c.overdue_now,
        visit_coverage=Ratio(c.visited, c.households),
    )


def score(figures: Metrics, weights: Weights) -> float | None:
    """The weighted score, or None when a weighted rate has no value or too few ratings."""
    total = 0.0
    for name, points in weights.points:
        rate = getattr(figures, name)
        if isinstance(rate, TooFew) or rate.value is None:
            return None
        total += points * rate.value
    return round(total - min(weights.max_deduction, weights.per_overdue * figures.overdue_now), 1)


def rank(rows: Sequence[tuple[Unit, Metrics, float | None]]) -> tuple[Row, ...]:
    """The rows with their ranks: among the units of the same level that have a score, best first, equal scores
    sharing a rank."""
    ranks: dict[str, int] = {}
    for level in SCORED_LEVELS:
        scored = sorted(((found, unit.code) for unit, _, found in rows if unit.level is level and found is not None),
                        key=lambda item: -item[0])
        for position, (found, code) in enumerate(scored):
            ranks[code] = position + 1 if position == 0 or found != scored[position - 1][0] else ranks[
                scored[position - 1][1]]
    return tuple(Row(unit, figures, found, ranks.get(unit.code)) for unit, figures, found in rows)


def roll_up(tree: Sequence[GridUnit], per_place: Mapping[int, Counts], overdue: Mapping[int, int] | None = None,
            visits: Mapping[int, Coverage] | None = None) -> dict[int, Counts]:
    """Each unit's counts: its own place's (with its `overdue` reports now and, a building, its households'
    `visits`) and those of every unit below it (`tree`: parents before children). Summed as plain lists: a
    thousand units' Counts.__add__ would cost more."""
    totals: dict[int, list[Any]] = {}
    for unit in tree:
        found = per_place.get(unit.id, _NONE)
        totals[unit.id] = values = [getattr(found, name) for name in _COUNTED]
        values[_OVERDUE_AT] += (overdue or {}).get(unit.id, 0)
        if (seen := (visits or {}).get(unit.id)) is not None:
            values[_HOUSEHOLDS_AT] += seen.linked
            values[_VISITED_AT] += seen.visited
    for unit in reversed(tree):
        parent = totals.get(unit.parent_id) if unit.parent_id is not None else None
        if parent is not None:
            parent[:] = map(add, parent, totals[unit.id])
    return {unit_id: Counts(*values) for unit_id, values in totals.items()}


async def _tree(tx: Tx, root: str | None) -> list[GridUnit]:
    """The scored units at and below `root` (a unit code; the street when None), each followed by those below it."""
    units = [unit for unit, _ in await grid.all_units(tx) if unit.level in SCORED_LEVELS]
    below: dict[int | None, list[GridUnit]] = {}
    for unit in units:
        below.setdefault(unit.parent_id, []).append(unit)
    tops = [unit for unit in units if (unit.code == root if root else unit.level is Level.STREET)]
    if not tops:
        raise ScoreError("score.error.unit", unit=root) if root else ScoreError("score.error.no_grid")
    ordered: list[GridUnit] = []

    def walk(unit: GridUnit) -> None:
        ordered.append(unit)
        for child in below.get(unit.id, []):
            walk(child)

    walk(tops[0])
    return ordered


async def _figures(tx: Tx, tree: Sequence[GridUnit], period: Period, now: datetime,
                   whole_street: bool) -> dict[int, Counts]:
    """Rolled-up counts of every unit of `tree` (the store reads only `tree`'s places unless `whole_street`)."""
    places = None if whole_street else [unit.id for unit in tree]
    counts = await store.period_counts(tx, period.start, period.end, now, places)
    return roll_up(tree, counts, await store.overdue_counts(tx, now, places),
                   await visits.coverage_by_building(tx, period.start, period.end))


async def unit_metrics(tx: Tx, period: Period, now: datetime, unit_code: str) -> Metrics:
    """One unit's figures for `period` (the weekly report's, a member's /stats), reading only its places."""
    tree = await _tree(tx, unit_code)
    return metrics((await _figures(tx, tree, period, now, whole_street=False))[tree[0].id])


async def scorecard(tx: Tx, period: Period, now: datetime, weights: Weights, unit_code: str | None = None
                    ) -> Scorecard:
    """Every unit at and below `unit_code` (the whole street when None) with figures, score and rank; a frozen
    half-year is read from its snapshot (ranks then stay the street's)."""
    frozen = await _frozen(tx, period, unit_code)
    if frozen is not None:
        return frozen
    tree = await _tree(tx, unit_code)
    totals = await _figures(tx, tree, period, now, whole_street=unit_code is None)
    rows = []
    for unit in tree:
        figures = metrics(totals[unit.id])
        rows.append((Unit(unit.code, unit.name, unit.level), figures, score(figures, weights)))
    return Scorecard(period, rank(rows), weights)


# ---------------------------------------------------------------------------------- the reports behind


class Figure(StrEnum):
    """A figure whose reports can be listed (reports_behind)."""

    FILED = "filed"  # the period's reports
    RESPONSE = "response"
    ON_TIME = "on_time"
    COMPLETION = "completion"
    FIXED = "fixed"
    SATISFACTION = "satisfaction"
    FOLLOW_UP = "follow_up"
    REDO = "redo"
    REPEAT = "repeat"
    LOCAL = "local"
    HOURS_TO_ACCEPT = "hours_to_accept"
    HOURS_TO_RESOLVE = "hours_to_resolve"
    OVERDUE_NOW = "overdue_now"  # open reports filed at any time, past their current deadline


@dataclass(frozen=True, slots=True)
class Behind:
    """A report a figure is made of: it is in the figure's whole (its denominator, or what it averages over);
    `counts` says whether it is in the part too (the numerator)."""

    report: store.ReportFacts
    counts: bool


Test = Callable[[store.ReportFacts], bool]
# Per figure: which reports make its whole, and which of those its part (the definitions in the docstring above;
# 解决率 counts answers: its reports are those answered at all, a part one has had a "fixed" answer).
_BEHIND: dict[Figure, tuple[Test, Test]] = {
    Figure.FILED: (lambda r: True, lambda r: True),
    Figure.RESPONSE: (lambda r: r.due, lambda r: r.accepted_in_time),
    Figure.ON_TIME: (lambda r: r.due, lambda r: r.resolved_in_time),
    Figure.COMPLETION: (lambda r: True, lambda r: r.done),
    Figure.FIXED: (lambda r: r.answered_fixed + r.answered_not_fixed > 0, lambda r: r.answered_fixed > 0),
    Figure.SATISFACTION: (lambda r: r.rated, lambda r: r.satisfied),
    Figure.FOLLOW_UP: (lambda r: r.done, lambda r: r.rated),
    Figure.REDO: (lambda r: r.resolved_ever, lambda r: r.reopened),
    Figure.REPEAT: (lambda r: True, lambda r: r.repeats),
    Figure.LOCAL: (lambda r: r.done, lambda r: r.done_locally),
    Figure.HOURS_TO_ACCEPT: (lambda r: r.accepted, lambda r: True),
    Figure.HOURS_TO_RESOLVE: (lambda r: r.resolved_ever, lambda r: True),
    Figure.OVERDUE_NOW: (lambda r: True, lambda r: True),
}


async def reports_behind(tx: Tx, period: Period, now: datetime, unit_code: str, figure: Figure) -> list[Behind]:
    """The reports `figure` of the unit `unit_code` (its places and those below it) is made of for `period`, as
    of `now`, in filing order (超期: the open ones past their deadline now, whenever filed). Live figures: a frozen
    考核 keeps only its totals."""
    places = [unit.id for unit in await _tree(tx, unit_code)]
    if figure is Figure.OVERDUE_NOW:
        reports = await store.overdue_reports(tx, now, places)
    else:
        reports = await store.report_facts(tx, period.start, period.end, now, places)
    whole, part = _BEHIND[figure]
    return [Behind(report, part(report)) for report in reports if whole(report)]


# ------------------------------------------------------------------------------------------- exclusions


def may_exclude(actor: Person | None, is_admin: bool) -> bool:
    """Street administrators (and the office tool, `actor` None) take reports out of scoring."""
    return is_admin or (actor is not None and any(grant.role is Role.STREET_ADMIN for grant in actor.roles))


async def exclude(tx: Tx, ref: str, reason: str, actor: Person | None, is_admin: bool, now: datetime
                  ) -> store.Exclusion:
    """Leave the report `ref` out of every figure, for `reason`; written to its audit trail too."""
    if not may_exclude(actor, is_admin):
        raise ScoreError("auth.denied")
    reason = reason.strip()
    if not reason:
        raise ScoreError("score.error.reason")
    if len(reason) > MAX_REASON:
        raise ScoreError("score.error.reason_long", limit=MAX_REASON)
    issue = await issues.by_ref(tx, ref.strip().upper())
    if issue is None:
        raise ScoreError("score.error.report", ref=ref.strip()[:20])
    if await store.exclusion(tx, issue.id) is not None:
        raise ScoreError("score.error.excluded", ref=issue.ref)
    actor_id = None if actor is None else actor.id
    await store.exclude(tx, issue.id, actor_id, reason, now)
    await issues.record(tx, issue.id, kind=EventKind.SCORE_EXCLUDED, actor_id=actor_id, now=now, detail=reason)
    found = await store.exclusion(tx, issue.id)
    assert found is not None
    return found


async def include(tx: Tx, ref: str, actor: Person | None, is_admin: bool, now: datetime) -> None:
    """Count the excluded report `ref` again; written to its audit trail."""
    if not may_exclude(actor, is_admin):
        raise ScoreError("auth.denied")
    issue = await issues.by_ref(tx, ref.strip().upper())
    if issue is None or await store.exclusion(tx, issue.id) is None:
        raise ScoreError("score.error.not_excluded", ref=ref.strip()[:20])
    await store.include(tx, issue.id)
    await issues.record(tx, issue.id, kind=EventKind.SCORE_INCLUDED, actor_id=None if actor is None else actor.id,
                        now=now)


# -------------------------------------------------------------------------------------------- snapshots


async def freeze(tx: Tx, period: Period, now: datetime, weights: Weights, actor: Person | None = None
                 ) -> Scorecard:
    """Freeze the street's half-yearly 考核 `period` and keep it; one already frozen is returned unchanged."""
    if period.kind is not Kind.HALF:
        raise ScoreError("score.error.freeze_half", period=period.label)
    if now < period.start:
        raise ScoreError("score.error.freeze_future", period=period.label)
    frozen = await _frozen(tx, period, None)
    if frozen is not None:
        return frozen
    card = await scorecard(tx, period, now, weights)
    rows = [store.SnapshotRow(row.unit.code, row.unit.name, row.unit.level.value, asdict(row.metrics.counts),
                              row.score, row.rank) for row in card.rows]
    await store.save_snapshot(tx, period.label, _weights_json(weights), rows, None if actor is None else actor.id,
                              now)
    found = await _frozen(tx, period, None)
    assert found is not None
    return found


async def _frozen(tx: Tx, period: Period, unit_code: str | None) -> Scorecard | None:
    """The frozen snapshot of `period`, its rows at and below `unit_code` (all when None)."""
    found = await store.snapshot(tx, period.label) if period.kind is Kind.HALF else None
    if found is None:
        return None
    frozen_at, weights, saved = found
    rows = [Row(Unit(row.unit_code, row.unit_name, Level(row.level)), metrics(Counts(**row.figures)), row.score,
                row.rank) for row in saved]
    if unit_code is not None:
        rows = _subtree_rows(rows, unit_code)
    points = tuple((str(name), float(value)) for name, value in weights["points"])
    return Scorecard(period, tuple(rows), Weights(points, weights["per_overdue"], weights["max_deduction"]),
                     frozen_at)


def _subtree_rows(rows: Sequence[Row], unit_code: str) -> list[Row]:
    """The row of `unit_code` and the rows below it (rows in the grid's order: a unit's own follow it)."""
    start = next((index for index, row in enumerate(rows) if row.unit.code == unit_code), None)
    if start is None:
        raise ScoreError("score.error.unit", unit=unit_code)
    depth = SCORED_LEVELS.index(rows[start].unit.level)
    end = next((index for index in range(start + 1, len(rows))
                if SCORED_LEVELS.index(rows[index].unit.level) <= depth), len(rows))
    return list(rows[start:end])


def _weights_json(weights: Weights) -> dict[str, Any]:
    return {"points": [list(item) for item in weights.points], "per_overdue": weights.per_overdue,
            "max_deduction": weights.max_deduction}


# ---------------------------------------------------------------------------------------------- weights


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    item: str
    value: str


def load_weights(path: str = "") -> Weights:
    """The weights in the CSV at `path` (JINLIN_SCORE_WEIGHTS), else the packaged default (WeightsError)."""
    try:
        data = Path(path).read_bytes() if path else DEFAULT_WEIGHTS.read_bytes()
    except OSError as error:
        raise WeightsError("score.weights.error.unreadable", path=path, error=error.strerror or "") from None
    return parse_weights(data)


def parse_weights(data: bytes) -> Weights:
    """Weights from CSV `data`: a header `item,points` (or 项目,分值), then one line per weighted rate (its name or
    its name in a catalog: response / 响应率 …) and optionally `per_overdue` and `max_deduction`; `#` lines are
    comments. Points are numbers ≥ 0; at least one rate is weighted."""
    try:
        text, _ = decode(data)
    except ImportRejected:
        raise WeightsError("score.weights.error.not_csv") from None
    lines = [_Line(number, *(cell.strip() for cell in [*cells, "", ""][:2]))
             for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1)
             if cells and any(cell.strip() for cell in cells) and not cells[0].lstrip().startswith("#")]
    if not lines or (lines[0].item.lower(), lines[0].value.lower()) not in (("item", "points"), ("项目", "分值")):
        raise WeightsError("score.weights.error.header")
    names = _item_names()
    values: dict[str, float] = {}
    for line in lines[1:]:
        item = names.get(line.item.lower())
        if item is None:
            raise WeightsError("score.weights.error.item", line=line.number, item=line.item[:40],
                               items=", ".join((*WEIGHTABLE, *PENALTIES)))
        if item in values:
            raise WeightsError("score.weights.error.twice", line=line.number, item=line.item[:40])
        try:
            value = float(line.value)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 1000:
            raise WeightsError("score.weights.error.number", line=line.number, value=line.value[:40])
        values[item] = value
    points = tuple((name, values[name]) for name in WEIGHTABLE if name in values)
    if not points:
        raise WeightsError("score.weights.error.none")
    default = Weights()
    return Weights(points, values.get("per_overdue", default.per_overdue),
                   values.get("max_deduction", default.max_deduction))


def _item_names() -> dict[str, str]:
    """Every way a weights file may name an item (its key, or its name in any catalog), lower-cased → key."""
    names = {key: key for key in (*WEIGHTABLE, *PENALTIES)}
    for locale in SUPPORTED:
        names |= {translate(locale, f"score.metric.{key}").lower(): key for key in (*WEIGHTABLE, *PENALTIES)}
    return names
