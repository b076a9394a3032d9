"""A scorecard as a spreadsheet: CSV (UTF-8 with BOM, opens right in Excel) or XLSX, in the current locale, dates
in the street's time zone."""

from __future__ import annotations

import csv
import io
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.grid import Level
from bot.features.scorecards.model import RATES, Metrics, Ratio, Row, Scorecard, TooFew
from bot.i18n import t

HOURS = ("hours_to_accept", "hours_to_resolve")
COLUMNS = ("code", "unit", "level", "score", "rank", "filed", *RATES, *HOURS, "overdue_now")
FIRST_RATE = COLUMNS.index(RATES[0])
BOARDS = ("red", "black")  # 红榜, 黑榜: a section (CSV) or a sheet (XLSX) each
BOARD_LEVELS = (Level.COMMUNITY, Level.COMPLEX, Level.BUILDING)
BOARD_COLUMNS = ("level", "rank", "code", "unit", "score")
Cell = str | float | int | None


def title(card: Scorecard) -> str:
    """What the sheet covers: the period, its first and last day, and whether it is a frozen 考核."""
    zone = ZoneInfo(card.period.timezone)
    last = card.period.end - timedelta(days=1)
    line = t("score.export.title", period=card.period.label, first=f"{card.period.start:%Y-%m-%d}",
             last=f"{last:%Y-%m-%d}")
    if card.frozen_at is None:
        return line
    return f"{line} {t('score.export.frozen', at=f'{card.frozen_at.astimezone(zone):%Y-%m-%d %H:%M}')}"


def header() -> list[str]:
    return [t(f"score.metric.{column}" if column in RATES else f"score.column.{column}") for column in COLUMNS]


def _cells(row: Row) -> list[Cell]:
    """One unit: rates as fractions (None: nothing to measure; 样本不足 as text), hours to one decimal."""
    figures: Metrics = row.metrics
    rates: list[Cell] = []
    for name in RATES:
        rate: Ratio | TooFew = getattr(figures, name)
        rates.append(t("score.too_few", count=rate.whole) if isinstance(rate, TooFew) else rate.value)
    hours = [None if value is None else round(value, 1) for value in (figures.hours_to_accept,
                                                                     figures.hours_to_resolve)]
    return [row.unit.code, row.unit.name, t(f"grid.level.{row.unit.level.value}"), row.score, row.rank,
            figures.counts.filed, *rates, *hours, figures.overdue_now]


def board(card: Scorecard, name: str) -> list[list[Cell]]:
    """The 红榜 (`name` "red": each level's best) or 黑榜 ("black": each level's worst, worst first), community
    level first: a line per unit with its level, rank, code, name and score."""
    lines: list[list[Cell]] = []
    for level in BOARD_LEVELS:
        rows = card.red(level) if name == "red" else card.black(level)
        lines += [[t(f"grid.level.{level.value}"), row.rank, row.unit.code, row.unit.name, row.score] for row in rows]
    return lines


def board_header() -> list[str]:
    return [t(f"score.column.{column}") for column in BOARD_COLUMNS]


def to_csv(card: Scorecard) -> bytes:
    """The title line, the header and a line per unit; rates as percentages, "—" where there is nothing. Then a
    section each for the 红榜 and the 黑榜: a blank line, the board's name, its header, its lines."""
    return csv_bytes(_sheets(card))


def _sheets(card: Scorecard) -> list[Sheet]:
    """The scorecard's table, then a sheet per board (红榜, 黑榜)."""
    rates = range(FIRST_RATE, FIRST_RATE + len(RATES))
    table = Sheet(card.period.label, [[title(card)], header(), *(_cells(row) for row in card.rows)], rates, "C3")
    return [table, *(Sheet(t(f"score.board.{name}"), [board_header(), *board(card, name)], freeze="A2")
                     for name in BOARDS)]


def csv_bytes(sheets: Sequence[Sheet]) -> bytes:
    """Sheets as one CSV in UTF-8 with BOM (opens right in Excel): the first sheet's lines, then each further
    sheet after a blank line and its name; cells in a sheet's rate columns as percentages, "—" for nothing."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for number, sheet in enumerate(sheets):
        if number:
            writer.writerows([[], [sheet.name]])
        for line in sheet.lines:
            writer.writerow([_text(cell, index in sheet.rates) for index, cell in enumerate(line)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def percent(value: float | None) -> str:
    """A rate as the exports and the chat write it: "75.0%", "—" when there is nothing to measure."""
    return "—" if value is None else f"{value:.1%}"


def _text(cell: Cell, rate: bool) -> str:
    if cell is None:
        return "—"
    if rate and isinstance(cell, float):
        return percent(cell)
    return str(cell)


def to_xlsx(card: Scorecard) -> bytes:
    """The same table as a workbook: rates in percent format, the header frozen; then a sheet each for the 红榜
    and the 黑榜."""
    return xlsx_bytes(_sheets(card))


@dataclass(frozen=True, slots=True)
class Sheet:
    """A worksheet: its name, its lines (the first in bold, a title), the columns (from 0) holding rates, and the
    cell above and left of which it is frozen ("" for none)."""

    name: str
    lines: Sequence[Sequence[Cell]]
    rates: Container[int] = ()
    freeze: str = ""


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A workbook of `sheets`: rates in percent format, "—" for nothing."""
    from openpyxl import Workbook  # only for these exports
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.worksheets[0])
    for sheet in sheets:
        page = book.create_sheet(sheet.name[:31])
        for line in sheet.lines:
            page.append(["—" if cell is None else cell for cell in line])
            for index in range(len(line)):
                if index in sheet.rates and isinstance(line[index], float):
                    page.cell(page.max_row, index + 1).number_format = "0.0%"  # openpyxl counts from 1
        page["A1"].font = Font(bold=True)
        if sheet.freeze:
            page.freeze_panes = sheet.freeze
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
