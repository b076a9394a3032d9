"""/stats (menu 📊 数据统计): the figures of a week, last week, the month or the half-year, as each person may see
them. Street administrators: the street, every community ranked, 红榜 / 黑榜, down to any unit; grid members and
duty holders: each unit where they hold a role or duty, its rank among its level street-wide and the units below
it ranked; residents: their community's totals only (no ranks, no reports). A figure opens the reports behind it,
a page at a time; a report opens read-only, or as its task card for a member who may act on it, and an
administrator takes it out of scoring with a reason (audited) or counts it again.

Every press is re-checked (viewers.py): a token naming a unit or report outside the viewer's is refused.
Diagram: stats.mmd.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.conversations.flow import (
    Advertised,
    Ctx,
    Done,
    Flow,
    Goto,
    Handler,
    Retry,
    State,
    Transition,
    choices,
)
from bot.conversations.tokens import Ref
from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Button, Inbound, InboundKind, Reply
from bot.features.reports import notices as report_notices
from bot.features.reports import routing
from bot.features.reports import store as issues
from bot.features.reports.model import Issue
from bot.features.scorecards import service, store, viewers
from bot.features.scorecards.export import percent
from bot.features.scorecards.model import RATES, Metrics, Period, Ratio, Row, Scorecard, TooFew
from bot.features.scorecards.service import MAX_REASON, SCORED_LEVELS, Figure, ScoreError
from bot.features.scorecards.tokens import (
    EXCLUDE,
    FIGURE,
    INCLUDE,
    KEEP,
    PAGE,
    REPORT,
    SPAN,
    UNIT,
    FigurePick,
    Page,
    Span,
    SpanPick,
)
from bot.i18n import t
from bot.services.dates import local_time
from bot.storage import grid

PAGE_SIZE = 8  # reports per page behind a figure
BOARD_SIZE = 3  # units on the street page's 红榜 and 黑榜
DRILL = (Figure.RESPONSE, Figure.ON_TIME, Figure.SATISFACTION, Figure.OVERDUE_NOW)  # the figures a page opens


@dataclass(slots=True)
class StatsData:
    """The period on show, the unit whose page is open, the figure whose reports are listed and the page, the
    report open. All are re-checked against the viewer at every step."""

    span: str = Span.THIS_WEEK.value
    unit: int | None = None
    figure: str = ""
    page: int = 0
    issue: int | None = None
    asking: bool = False  # the reason for leaving the report out of scoring is being asked


Stats = Ctx[StatsData]


async def _viewer(ctx: Stats) -> viewers.Viewer:
    return await viewers.viewer(ctx.tx, ctx.person, ctx.is_admin)


def _period(ctx: Stats) -> Period:
    return viewers.period(Span(ctx.data.span), ctx.now, ctx.timezone)


async def _card(ctx: Stats) -> Scorecard:
    """The whole street's scorecard of the period on show (ranks are street-wide)."""
    return await service.scorecard(ctx.tx, _period(ctx), ctx.now, viewers.weights())


async def begin(ctx: Stats) -> Transition:
    who = await _viewer(ctx)
    if len(who.roots) == 1:
        ctx.data.unit = who.roots[0].id
        return Goto("unit")
    if who.roots:
        return Goto("home")
    if who.community is None:
        return Done((Reply(t("stats.no_home")),))
    return Goto("resident")


# ------------------------------------------------------------------------------------------------ wording


def _day(day: date, now: datetime, timezone: str) -> str:
    this_year = now.astimezone(ZoneInfo(timezone)).year
    return t("date.day" if day.year == this_year else "date.day_year", year=day.year,
             month=t(f"date.month.{day.month}"), day=day.day)


def _title(ctx: Stats, name: str, card: Scorecard | None = None) -> str:
    """"📊 幸福社区 · 本周（11月21日至11月27日）", and when the half-year's 考核 was frozen."""
    period = _period(ctx)
    last = (period.end - timedelta(days=1)).date()
    line = t("stats.title", unit=name, span=t(f"stats.span.{ctx.data.span}"),
             first=_day(period.start.date(), ctx.now, ctx.timezone), last=_day(last, ctx.now, ctx.timezone))
    if card is not None and card.frozen_at is not None:
        at = f"{card.frozen_at.astimezone(ZoneInfo(ctx.timezone)):%Y-%m-%d %H:%M}"
        line += "\n" + t("score.export.frozen", at=at)
    return line


def _ratio(key: str, rate: Ratio | TooFew) -> str:
    """"响应率 75.0%（3/4）"; "满意率 样本不足（3）" as the exports write it."""
    name = t(f"score.metric.{key}")
    if isinstance(rate, TooFew):
        return t("stats.too_few", name=name, value=t("score.too_few", count=rate.whole))
    return t("stats.ratio", name=name, value=percent(rate.value), part=rate.part, whole=rate.whole)


def _figure_name(figure: Figure) -> str:
    """A figure as the exports' header names it."""
    return t(f"score.metric.{figure.value}" if figure.value in RATES else f"score.column.{figure.value}")


def _figures(figures: Metrics) -> list[str]:
    """The key figures: 响应率, 按时办结率, 满意率 with 回访率, 超期."""
    return [t("stats.filed", count=figures.counts.filed), _ratio("response", figures.response),
            _ratio("on_time", figures.on_time),
            t("stats.pair", first=_ratio("satisfaction", figures.satisfaction),
              second=_ratio("follow_up", figures.follow_up)),
            t("stats.overdue", count=figures.overdue_now)]


def _standing(card: Scorecard, row: Row) -> str:
    """"得分 86.0 · 楼栋第 1 名（共 3 个）", or why the unit is not ranked."""
    if row.rank is None:
        return t("stats.unranked")
    return t("stats.ranked", score=row.score, level=t(f"grid.level.{row.unit.level.value}"), rank=row.rank,
             count=len(card.ranked(row.unit.level)))


def _below(row: Row) -> str:
    """A unit below in its ranked list: "1. 2号楼 86.0", or not ranked."""
    if row.rank is None:
        return t("stats.below_unranked", unit=row.unit.name)
    return t("stats.below_ranked", rank=row.rank, unit=row.unit.name, score=row.score)


def _spans(ctx: Stats) -> tuple[Button, ...]:
    """The period picker: the one on show ticked."""
    return tuple(Button(("✓ " if span.value == ctx.data.span else "") + t(f"stats.span.{span.value}"),
                        SPAN.make(SpanPick(span))) for span in Span)


# ------------------------------------------------------------------------------------------------ screens


async def ask_home(ctx: Stats) -> Reply:
    """A member with several units: each with its figures and standing, a button to open it."""
    who = await _viewer(ctx)
    card = await _card(ctx)
    rows = {row.unit.code: row for row in card.rows}
    lines = [_title(ctx, t("stats.mine"), card)]
    for root in who.roots:
        row = rows.get(root.code)  # none: a frozen 考核 from before the unit was in the grid
        lines += ["", f"【{root.name}】", *([_standing(card, row), *_figures(row.metrics)] if row else [
            t("stats.not_scored")])]
    buttons = choices([(root.name, UNIT.make(Ref(root.id))) for root in who.roots])
    return Reply("\n".join(lines), (*buttons, _spans(ctx)))


async def ask_unit(ctx: Stats) -> Reply:
    """A unit's page: its figures and standing, the units below it ranked (the street's: 红榜 / 黑榜 too), a button
    per figure for the reports behind it, per unit below, up to the unit above (when the viewer's)."""
    who = await _viewer(ctx)
    place = await viewers.unit(ctx.tx, who, ctx.data.unit)
    card = await _card(ctx)
    rows = {row.unit.code: row for row in card.rows}
    if place.code not in rows:  # a frozen 考核 from before the unit was in the grid
        return Reply("\n".join([_title(ctx, place.name, card), t("stats.not_scored")]), (_spans(ctx),))
    row = rows[place.code]
    lines = [_title(ctx, place.name, card)]
    if place.level is not Level.STREET:
        lines.append(_standing(card, row))
    lines += _figures(row.metrics)
    if place.level is Level.STREET:
        for name, board in (("red", card.red(Level.COMMUNITY, BOARD_SIZE)),
                            ("black", card.black(Level.COMMUNITY, BOARD_SIZE))):
            named = "、".join(f"{found.unit.name}（{found.score}）" for found in board) or t("stats.board_empty")
            lines.append(t("stats.board", board=t(f"score.board.{name}"), units=named))
    below = sorted(((rows[unit.code], unit) for unit in await _children(ctx, place) if unit.code in rows),
                   key=lambda pair: (pair[0].rank is None, pair[0].rank or 0))
    if below:
        lines += ["", t("stats.below", level=t(f"grid.level.{below[0][1].level.value}")),
                  *(_below(found) for found, _ in below)]
    figures = [(t("stats.open_figure", name=_figure_name(figure)), FIGURE.make(FigurePick(figure)))
               for figure in DRILL]
    units = [(unit.name, UNIT.make(Ref(unit.id))) for _, unit in below]
    up = [(t("stats.up"), UNIT.make(Ref(place.parent_id)))] if (
        place.parent_id is not None and await viewers.may_see(ctx.tx, who, place.parent_id)) else []
    return Reply("\n".join(lines), (*choices(figures), *choices(units), *choices(up), _spans(ctx)))


async def _children(ctx: Stats, place: GridUnit) -> list[GridUnit]:
    """The scored units just below `place`, in the grid's order."""
    if place.level is Level.BUILDING:
        return []
    return await grid.children(ctx.tx, place.id, SCORED_LEVELS[SCORED_LEVELS.index(place.level) + 1])


async def ask_resident(ctx: Stats) -> Reply:
    """A resident's community: reports filed and resolved, satisfaction with its sample; no ranks, no reports."""
    who = await _viewer(ctx)
    if who.community is None:
        raise ScoreError("stats.no_home")
    figures = await service.unit_metrics(ctx.tx, _period(ctx), ctx.now, who.community.code)
    rate = figures.satisfaction
    satisfied = (t("stats.resident_too_few", count=rate.whole) if isinstance(rate, TooFew)
                 else t("stats.resident_satisfied", value=percent(rate.value), count=rate.whole))
    lines = [_title(ctx, who.community.name), t("stats.resident", filed=figures.counts.filed,
                                                 done=figures.counts.done), satisfied]
    return Reply("\n".join(lines), (_spans(ctx),))


async def ask_reports(ctx: Stats) -> Reply:
    """The reports behind the figure, a page at a time: ✓ those in its part (accepted in time …), ✗ the others."""
    who = await _viewer(ctx)
    place = await viewers.unit(ctx.tx, who, ctx.data.unit)
    figure = Figure(ctx.data.figure)
    behind = await service.reports_behind(ctx.tx, _period(ctx), ctx.now, place.code, figure)
    pages = max(1, -(-len(behind) // PAGE_SIZE))
    number = min(ctx.data.page, pages - 1)
    shown = behind[number * PAGE_SIZE:(number + 1) * PAGE_SIZE]
    lines = [_title(ctx, place.name), t("stats.reports", figure=_figure_name(figure), count=len(behind))]
    if not behind:
        lines.append(t("stats.reports_none"))
    else:
        lines.append(t(f"stats.legend.{figure.value}"))
    if pages > 1:
        lines.append(t("stats.page", page=number + 1, pages=pages))
    items = []
    for found in shown:
        facts = found.report
        mark = "" if figure is Figure.OVERDUE_NOW else "✓ " if found.counts else "✗ "  # 超期: every one is
        label = f"{mark}{facts.ref} {await _category(ctx, facts.category)}"
        lines.append(t("stats.report_line", report=label, status=t(f"status.{facts.status.value}")))
        items.append((label, REPORT.make(Ref(facts.issue_id))))
    turns = ([(t("stats.previous"), PAGE.make(Page(number - 1)))] if number else []) + (
        [(t("stats.next"), PAGE.make(Page(number + 1)))] if number + 1 < pages else [])
    return Reply("\n".join(lines), (*choices(items, per_row=1), *choices(turns)))


async def _category(ctx: Stats, code: str) -> str:
    found = await issues.category(ctx.tx, code, active_only=False)
    return code if found is None else report_notices.category_name(found)


async def ask_report(ctx: Stats) -> Reply:
    """One report behind a figure: its task card for a member who may act on it now, else a read-only summary;
    whether it is out of scoring, and for an administrator the button to change that (不计入考核 first asks the
    reason, in this state)."""
    if ctx.data.asking:
        return await _reason_asked(ctx)
    who = await _viewer(ctx)
    issue = await _open_report(ctx, who)
    member = ctx.person is not None and await routing.in_scope(ctx.tx, ctx.person, issue.unit_id)
    if member and issue.is_open:
        card = await report_notices.task_card(ctx.tx, issue, ctx.timezone, ctx.now)
        text, buttons = f"{card.text}\n{t('tasks.status', status=report_notices.status_name(issue))}", card.buttons
    else:  # the reporter's room only for grid members over the place, as in the reports' own views
        text, buttons = await report_notices.summary(ctx.tx, issue, ctx.timezone, ctx.now, with_room=member), ()
    excluded = await store.exclusion(ctx.tx, issue.id)
    if excluded is not None:
        text += "\n" + t("stats.excluded", at=local_time(excluded.excluded_at, ctx.timezone, ctx.now),
                          reason=excluded.reason)
    if who.admin:
        buttons = (*buttons, (Button(t("stats.include"), INCLUDE) if excluded else Button(t("stats.exclude"),
                                                                                         EXCLUDE),))
    return Reply(text, buttons)


async def _open_report(ctx: Stats, who: viewers.Viewer) -> Issue:
    """The report on show, if it is still `who`'s to see (under the unit on show, itself theirs)."""
    return await viewers.report(ctx.tx, who, await viewers.unit(ctx.tx, who, ctx.data.unit), ctx.data.issue)


async def _reason_asked(ctx: Stats) -> Reply:
    who = await _viewer(ctx)
    issue = await _open_report(ctx, who)
    return Reply(t("stats.reason_ask", ref=issue.ref, limit=MAX_REASON), ((Button(t("stats.keep"), KEEP),),))


async def on_report(ctx: Stats, inbound: Inbound) -> Transition:
    """While a reason is asked: the typed reason leaves the report out of scoring (service.exclude re-checks the
    administrator and audits it; too long is asked again), 不排除 keeps it. Otherwise, or for any other press,
    as on every page."""
    if not ctx.data.asking or (inbound.kind is InboundKind.BUTTON and inbound.token != KEEP):
        ctx.data.asking = False
        return await _PRESSES["report"](ctx, inbound)
    who = await _viewer(ctx)
    issue = await _open_report(ctx, who)
    if inbound.token == KEEP:
        ctx.data.asking = False
        return Goto("report", (Reply(t("stats.kept", ref=issue.ref)),))
    if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
        return Retry("stats.reason_expected")
    try:
        found = await service.exclude(ctx.tx, issue.ref, inbound.text, ctx.person, ctx.is_admin, ctx.now)
    except ScoreError as error:
        if error.key != "score.error.reason_long":
            raise
        return Goto("report", (Reply(t(error.key, **error.params)),))  # asked again: the text can be shortened
    ctx.data.asking = False
    return Goto("report", (Reply(t("score.excluded_done", ref=found.ref, reason=found.reason)),))


# ------------------------------------------------------------------------------------------------ presses


def _presses(state: str) -> Handler[StatsData]:
    """What a press does on any page (an old page's buttons too): each token is re-checked against the viewer
    before anything is shown; a new period shows `state` again."""

    async def on_press(ctx: Stats, inbound: Inbound) -> Transition:
        token = inbound.token
        who = await _viewer(ctx)
        if (span := SPAN.parse(token)) is not None:
            ctx.data.span, ctx.data.page = span.span.value, 0
            return Goto(state)
        if (ref := UNIT.parse(token)) is not None:
            ctx.data.unit = (await viewers.unit(ctx.tx, who, ref.id)).id
            return Goto("unit")
        if (figure := FIGURE.parse(token)) is not None and ctx.data.unit is not None:
            await viewers.unit(ctx.tx, who, ctx.data.unit)
            ctx.data.figure, ctx.data.page = figure.figure.value, 0
            return Goto("reports")
        if (page := PAGE.parse(token)) is not None and ctx.data.figure:
            ctx.data.page = page.number
            return Goto("reports")
        if (ref := REPORT.parse(token)) is not None:
            place = await viewers.unit(ctx.tx, who, ctx.data.unit)
            ctx.data.issue = (await viewers.report(ctx.tx, who, place, ref.id)).id
            return Goto("report")
        if token in (EXCLUDE, INCLUDE) and ctx.data.issue is not None:
            return await _exclusion(ctx, who, token)
        return Retry("nav.use_buttons")

    return on_press


async def _exclusion(ctx: Stats, who: viewers.Viewer, token: str) -> Transition:
    """不计入考核 asks the reason; 恢复计入 counts the report again at once (both audited by the service)."""
    issue = await _open_report(ctx, who)
    if not who.admin:
        raise ScoreError("auth.denied")
    if token == EXCLUDE:
        ctx.data.asking = True
        return Goto("report")
    await service.include(ctx.tx, issue.ref, ctx.person, ctx.is_admin, ctx.now)
    return Goto("report", (Reply(t("score.included_done", ref=issue.ref)),))


_PRESSES = {state: _presses(state) for state in ("home", "unit", "resident", "reports", "report")}

FLOW = Flow(
    name="stats",
    first="home",
    data=StatsData,
    begin=begin,
    command="stats",
    advertised=Advertised.EVERYONE,
    states={
        "home": State(ask_home, _PRESSES["home"], back=False),
        "unit": State(ask_unit, _PRESSES["unit"]),
        "resident": State(ask_resident, _PRESSES["resident"], back=False),
        "reports": State(ask_reports, _PRESSES["reports"]),
        "report": State(ask_report, on_report),
    },
)
