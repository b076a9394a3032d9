"""The button tokens of /stats (`ss:`): the period, a unit, a figure, a page of its reports, one report. They come
from outside: the flow re-checks on every press that the unit or report is the viewer's to see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.conversations.tokens import Ref, Token
from bot.features.scorecards.service import Figure


class Span(StrEnum):
    """The periods /stats offers, relative to now."""

    THIS_WEEK = "tw"
    LAST_WEEK = "lw"
    THIS_MONTH = "tm"
    THIS_HALF = "th"


@dataclass(frozen=True, slots=True)
class SpanPick:
    span: Span


@dataclass(frozen=True, slots=True)
class FigurePick:
    """A figure on a unit's page: the reports behind it."""

    figure: Figure


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the reports behind a figure, 0 first."""

    number: int


SPAN = Token("ss:p", SpanPick)
UNIT = Token("ss:u", Ref)  # a unit's page
REPORT = Token("ss:r", Ref)  # a report behind a figure
PAGE = Token("ss:pg", Page)
FIGURE = Token("ss:f", FigurePick)
CODECS = (SPAN, UNIT, REPORT, PAGE, FIGURE)

EXCLUDE = "ss:x"  # the report on show: 不计入考核 (asks a reason)
INCLUDE = "ss:in"  # … 恢复计入
KEEP = "ss:keep"  # the reason's own cancel: back to the report
