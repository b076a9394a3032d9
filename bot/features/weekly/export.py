"""What a weekly report carries: a chart (PNG, drawn by matplotlib's Agg renderer with a font that draws Chinese,
found as the posters find theirs) and a spreadsheet (XLSX, or CSV for the office tool: scorecards' writers), in the
current locale. The attachments are written under the media directory's `weekly/` folder, which "delete my
information" never empties (it deletes only files people sent, in the media directory itself)."""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from bot.features.scorecards.export import Cell, Sheet, csv_bytes, xlsx_bytes
from bot.features.weekly.model import CASES, Draft, Field, Report, Rollup, Status
from bot.i18n import t
from bot.services.posters import find_cjk_font

log = logging.getLogger(__name__)
FOLDER = "weekly"
_COLOURS = ("#c0392b", "#2980b9", "#e67e22", "#7f8c8d")


@cache
def _font_path() -> str:
    """The Chinese font the charts use ("" when there is none: labels may then show boxes, said once)."""
    found = find_cjk_font()
    if found is None:
        log.warning("no font with Chinese glyphs found (JINLIN_POSTER_FONT, fonts-wqy-microhei …): weekly charts "
                    "will show boxes for Chinese labels")
        return ""
    return str(found)


def chart_png(title: str, groups: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> bytes:
    """A bar chart: for each of `groups` a bar of each series (label, one value per group)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # drawn off-screen, no display, no network
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    path = _font_path()
    font = FontProperties(fname=path) if path else FontProperties()
    figure = Figure(figsize=(8, 4.5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    for index, (label, values) in enumerate(series):
        places = [group + (index - (len(series) - 1) / 2) * width for group in range(len(groups))]
        bars = axes.bar(places, values, width, label=label, color=_COLOURS[index % len(_COLOURS)])
        axes.bar_label(bars, fontproperties=font)
    axes.set_xticks(range(len(groups)), list(groups), fontproperties=font)
    axes.set_title(title, fontproperties=font)
    axes.legend(prop=font)
    top = max((value for _, values in series for value in values), default=0)
    axes.set_ylim(0, max(top, 1) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of reports
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def draft_chart(draft: Draft) -> bytes:
    """This week's cases beside last week's."""
    last = [getattr(draft.last, name) or 0 for name in CASES]
    return chart_png(t("weekly.chart.title", name=draft.name, period=draft.period),
                     [t(f"weekly.case.{name}") for name in CASES],
                     [(t("weekly.chart.this_week"), [getattr(draft.cases, name) or 0 for name in CASES]),
                      (t("weekly.chart.last_week"), last)])


def rollup_chart(rollup: Rollup) -> bytes:
    """Each community's new, resolved and overdue cases."""
    drafts = [report.draft for report in rollup.reports if report.draft is not None]
    return chart_png(t("weekly.chart.rollup_title", period=rollup.period), [draft.name for draft in drafts],
                     [(t(f"weekly.case.{name}"), [getattr(draft.cases, name) or 0 for draft in drafts])
                      for name in CASES[:3]])


# ------------------------------------------------------------------------------------------- spreadsheets


def status_name(report: Report) -> str:
    if report.status is Status.LATE and report.submitted:
        return t("weekly.status.late_submitted")
    return t(f"weekly.status.{report.status.value}")


def header() -> list[Cell]:
    """The columns of a line per community (the roll-up and the office tool)."""
    return [t("score.column.code"), t("score.column.unit"), t("weekly.column.status"),
            *(t(f"weekly.case.{name}") for name in CASES), *(t("weekly.column.delta", case=t(f"weekly.case.{name}"))
                                                             for name in CASES),
            *(t(f"score.metric.{name}") for name in ("response", "on_time", "satisfaction")),
            t("weekly.column.repeats"), t("weekly.column.clusters"), *(t(f"weekly.field.{name.value}")
                                                                       for name in Field)]


RATE_COLUMNS = range(11, 14)  # header()'s three rates


def line(report: Report, code: str, name: str) -> list[Cell]:
    """One community's line: its status, figures (none until drafted) and texts."""
    draft = report.draft
    figures: list[Cell] = [None] * 13
    if draft is not None:
        figures = [*(getattr(draft.cases, case) for case in CASES), *(draft.delta(case) for case in CASES),
                   *(draft.rates.get(rate) for rate in ("response", "on_time", "satisfaction")), draft.repeats,
                   len(draft.clusters)]
    return [code, name, status_name(report), *figures, *(report.texts[field] for field in Field)]


def _title(period: str) -> str:
    return t("weekly.export.title", period=period)


def table(period: str, lines: Sequence[Sequence[Cell]]) -> list[Sequence[Cell]]:
    return [[_title(period)], header(), *lines]


def rollup_xlsx(period: str, lines: Sequence[Sequence[Cell]]) -> bytes:
    return xlsx_bytes([Sheet(period, table(period, lines), RATE_COLUMNS, "C3")])


def rollup_csv(period: str, lines: Sequence[Sequence[Cell]]) -> bytes:
    return csv_bytes([Sheet(period, table(period, lines), RATE_COLUMNS)])


def draft_xlsx(draft: Draft, report: Report, names: Mapping[str, str]) -> bytes:
    """One community's report: the cases with last week's and the change, then each section of the draft
    (`names`: the categories' names by code)."""
    cases: list[Sequence[Cell]] = [[t("weekly.column.item"), t("weekly.chart.this_week"), t("weekly.chart.last_week"),
                                    t("weekly.column.change")]]
    cases += [[t(f"weekly.case.{name}"), getattr(draft.cases, name), getattr(draft.last, name), draft.delta(name)]
              for name in CASES]
    rates: list[list[Cell]] = [[t(f"score.metric.{name}"), value] for name, value in draft.rates.items()]
    top: list[list[Cell]] = [[names.get(code, code), count] for code, count in draft.top]
    below: list[list[Cell]] = [[item.code, item.name, t(f"score.metric.{item.metric}"), item.value]
                               for item in draft.below]
    clusters: list[list[Cell]] = [[item.code, item.building, names.get(item.category, item.category), item.count]
                                  for item in draft.clusters]
    texts: list[list[Cell]] = [[t(f"weekly.field.{name.value}"), report.texts[name]] for name in Field]
    lines: list[Sequence[Cell]] = [[t("weekly.export.draft_title", name=draft.name, period=draft.period)], *cases,
                                   [], [t("weekly.section.rates")], *rates, [], [t("weekly.section.top")], *top,
                                   [], [t("weekly.section.below")], *below,
                                   [], [t("weekly.section.repeats"), draft.repeats],
                                   [t("weekly.section.clusters")], *clusters, [], *texts]
    return xlsx_bytes([Sheet(draft.period, lines, (1, 3))])


def write(directory: Path, name: str, data: bytes) -> str:
    """Write an attachment under the media directory's weekly folder; its path."""
    folder = directory / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return str(path)
