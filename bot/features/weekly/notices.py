"""The wording of weekly reports: the draft as the secretary reads it (with its buttons), the roll-up the street
reads, their attachments, rendered in each reader's language. Notices read what they show but write nothing to the
database (the attachments are files under the media directory)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.clock import parse_iso
from bot.conversations.tokens import Ref
from bot.domain.messages import Button, Reply
from bot.features.reports import store as issues
from bot.features.reports.notices import category_name
from bot.features.scorecards.model import Period
from bot.features.weekly import export
from bot.features.weekly.model import CASES, THRESHOLDS, Draft, Field, Report, Rollup, Status, deadline_at
from bot.features.weekly.tokens import EDIT, SUBMIT, Edit
from bot.i18n import current_locale, t
from bot.services.dates import local_time
from bot.storage import grid
from bot.storage.db import Tx

if TYPE_CHECKING:
    from bot.features.scorecards.export import Cell

SHORT = 40  # characters of a text the roll-up message quotes (the spreadsheet holds it whole)


def field_names(fields: Iterable[Field]) -> str:
    return t("weekly.separator").join(t(f"weekly.field.{name.value}") for name in fields)


async def category_names(tx: Tx) -> dict[str, str]:
    """Every category's name in the current locale, by code."""
    return {category.code: category_name(category) for category in await issues.categories(tx)}


async def _names(tx: Tx, codes: Iterable[str]) -> dict[str, str]:
    names = await category_names(tx)
    for code in codes:
        if code not in names:
            found = await issues.category(tx, code, active_only=False)
            names[code] = category_name(found) if found is not None else code
    return names


def _delta(value: int | None) -> str:
    if value is None:
        return "—"
    return f"+{value}" if value > 0 else ("±0" if value == 0 else str(value))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _week(period: str, timezone: str) -> str:
    week = Period.parse(period, timezone)
    last = week.end - timedelta(days=1)
    return t("weekly.week", period=period, first=f"{week.start:%m-%d}", last=f"{last:%m-%d}")


async def summary(tx: Tx, draft: Draft, now: datetime, timezone: str) -> str:
    """The draft's figures, section by section."""
    names = await _names(tx, [code for code, _ in draft.top] + [item.category for item in draft.clusters])
    separator = t("weekly.separator")
    cases = t("weekly.cases", **{name: getattr(draft.cases, name) for name in CASES},
              **{f"{name}_delta": _delta(draft.delta(name)) for name in CASES})
    lines = [t("weekly.title", name=draft.name, week=_week(draft.period, timezone)), cases,
             separator.join(t("weekly.rate", metric=t(f"score.metric.{name}"), value=_percent(draft.rates.get(name)))
                            for name, _ in THRESHOLDS)]
    top = separator.join(t("weekly.count", what=names[code], count=count) for code, count in draft.top)
    lines.append(t("weekly.top", top=top or t("weekly.none")))
    below = separator.join(t("weekly.below_item", unit=item.name, metric=t(f"score.metric.{item.metric}"),
                             value=_percent(item.value)) for item in draft.below)
    lines.append(t("weekly.below", limit=f"{THRESHOLDS[0][1]:.0%}", units=below or t("weekly.none")))
    clusters = separator.join(t("weekly.cluster", building=item.building, what=names[item.category],
                                count=item.count) for item in draft.clusters)
    lines.append(t("weekly.repeats", repeats=draft.repeats, clusters=clusters or t("weekly.none")))
    for meeting in draft.meetings:
        lines.append(t("weekly.meeting", when=local_time(parse_iso(meeting.starts_at), timezone, now),
                       outcome=_short(meeting.outcome, 200), count=meeting.attendees))
    if not draft.meetings:
        lines.append(t("weekly.meetings_none"))
    for talk in draft.lectures:
        rating = t("weekly.none") if talk.average is None else f"{talk.average:.1f}"
        lines.append(t("weekly.lecture", kind=t(f"lecture.kind.{talk.kind}"), title=talk.title,
                       checked_in=talk.checked_in, rating=rating, rated=talk.rated))
    if not draft.lectures:
        lines.append(t("weekly.lectures_none"))
    return "\n".join(lines)


def _short(text: str, limit: int = SHORT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _texts(report: Report) -> list[str]:
    return [t("weekly.text_line", field=t(f"weekly.field.{name.value}"),
              text=report.texts[name] or t("weekly.text_empty")) for name in Field]


def _status_line(report: Report, now: datetime, timezone: str) -> str:
    deadline = local_time(deadline_at(Period.parse(report.period, timezone)), timezone, now)
    if report.submitted_at is not None:
        key = "weekly.state.late_submitted" if report.status is Status.LATE else "weekly.state.submitted"
        return t(key, when=local_time(report.submitted_at, timezone, now))
    return t("weekly.state.late" if report.status is Status.LATE else "weekly.state.draft", deadline=deadline)


def buttons(report: Report) -> tuple[tuple[Button, ...], ...]:
    """✏️ each text, ✅ submit: while it is not submitted."""
    if report.submitted:
        return ()
    edits = tuple(Button(t("weekly.edit", field=t(f"weekly.field.{name.value}")), EDIT.make(Edit(report.id, name)))
                  for name in Field)
    return (edits, (Button(t("weekly.submit"), SUBMIT.make(Ref(report.id))),))


async def page(tx: Tx, report: Report, now: datetime, timezone: str) -> Reply:
    """The report as its secretary works on it: the draft, the texts so far, where it stands, its buttons."""
    assert report.draft is not None
    text = "\n".join([await summary(tx, report.draft, now, timezone), "", *_texts(report),
                      _status_line(report, now, timezone)])
    return Reply(text, buttons(report))


async def _attach(directory: Path, name: str, build: Callable[[], bytes]) -> str:
    """Build an attachment and write it, off the event loop (in the current locale); its path."""
    return await asyncio.to_thread(lambda: export.write(directory, name, build()))


async def draft_push(tx: Tx, report: Report, draft: Draft, now: datetime, timezone: str, directory: Path) -> Reply:
    """The 08:00 push to the secretaries: the page, with the chart and the spreadsheet."""
    base = f"weekly-{draft.period}-{draft.community}-{current_locale()}"
    names = await _names(tx, [code for code, _ in draft.top] + [item.category for item in draft.clusters])
    chart = await _attach(directory, f"{base}.png", lambda: export.draft_chart(draft))
    sheet = await _attach(directory, f"{base}.xlsx", lambda: export.draft_xlsx(draft, report, names))
    found = await page(tx, report, now, timezone)
    return Reply(found.text, found.buttons, photo=chart, document=sheet)


async def rollup_lines(tx: Tx, rollup: Rollup) -> list[list[Cell]]:
    """A spreadsheet line per community."""
    units = {unit.id: unit for unit, _ in await grid.all_units(tx)}
    return [export.line(report, units[report.community_id].code, units[report.community_id].name)
            for report in rollup.reports if report.community_id in units]


async def rollup_text(tx: Tx, rollup: Rollup, timezone: str) -> str:
    """Each community's key figures, where its report stands and its texts (shortened), then the 督查 list."""
    units = {unit.id: unit for unit, _ in await grid.all_units(tx)}
    lines = [t("weekly.rollup.title", week=_week(rollup.period, timezone))]
    for report in rollup.reports:
        name = units[report.community_id].name if report.community_id in units else "?"
        status = export.status_name(report)
        if report.draft is None:
            lines.append(t("weekly.rollup.undrafted", name=name, status=status))
            continue
        cases = report.draft.cases
        lines.append(t("weekly.rollup.line", name=name, status=status, new=cases.new, resolved=cases.resolved,
                       overdue=cases.overdue, backlog=cases.backlog))
        lines += [t("weekly.rollup.text", field=t(f"weekly.field.{field.value}"), text=_short(report.texts[field]))
                  for field in Field if report.texts[field]]
    late = t("weekly.separator").join(units[report.community_id].name for report in rollup.late
                                      if report.community_id in units)
    lines.append(t("weekly.rollup.late", names=late or t("weekly.none")))
    return "\n".join(lines)


async def rollup_push(tx: Tx, rollup: Rollup, timezone: str, directory: Path) -> Reply:
    """The roll-up to the street's administrators, with the chart and the spreadsheet."""
    base = f"weekly-{rollup.period}-street-{current_locale()}"
    lines = await rollup_lines(tx, rollup)
    chart = await _attach(directory, f"{base}.png", lambda: export.rollup_chart(rollup))
    sheet = await _attach(directory, f"{base}.xlsx", lambda: export.rollup_xlsx(rollup.period, lines))
    return Reply(await rollup_text(tx, rollup, timezone), photo=chart, document=sheet)


async def late_submitted(tx: Tx, report: Report, now: datetime, timezone: str) -> Reply:
    """A late report has come in: the street's administrators read its texts."""
    unit = await grid.by_id(tx, report.community_id)
    head = t("weekly.late_submitted", name=unit.name if unit else "?", week=_week(report.period, timezone))
    return Reply("\n".join([head, *_texts(report)]))


def submitted(report: Report) -> Reply:
    return Reply(t("weekly.submitted_late" if report.status is Status.LATE else "weekly.submitted_done"))
