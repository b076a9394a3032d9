"""红榜 / 黑榜 in the scorecard exports: a section each after the table (CSV), a sheet each (XLSX), level by level,
the 黑榜 worst first and never repeating a unit of the 红榜."""

from __future__ import annotations

import csv
import io

import openpyxl

from bot.domain.grid import Level
from bot.features.scorecards import export, service
from bot.features.scorecards.model import Counts, Period, Scorecard, Unit, Weights
from bot.i18n import use_locale

WEEK = Period.parse("2026-W48", "Asia/Shanghai")
# (code, name, level, score): five communities, two complexes (one not ranked), two buildings
UNITS = (("S01", "近邻街道", Level.STREET, 80.0), ("C01", "幸福社区", Level.COMMUNITY, 82.0),
         ("C02", "和谐社区", Level.COMMUNITY, 100.0), ("C03", "平安社区", Level.COMMUNITY, 50.0),
         ("C04", "友爱社区", Level.COMMUNITY, 70.0), ("C05", "团结社区", Level.COMMUNITY, 60.0),
         ("C01-A", "阳光花园", Level.COMPLEX, 90.5), ("C01-B", "翠竹苑", Level.COMPLEX, None),
         ("C01-A-B1", "1号楼", Level.BUILDING, 40.0), ("C01-A-B2", "2号楼", Level.BUILDING, 86.0))


def _card() -> Scorecard:
    figures = service.metrics(Counts(filed=1))
    rows = service.rank([(Unit(code, name, level), figures, score) for code, name, level, score in UNITS])
    return Scorecard(WEEK, rows, Weights())


def test_the_boards_follow_the_table_in_the_csv() -> None:
    with use_locale("zh_CN"):
        lines = list(csv.reader(io.StringIO(export.to_csv(_card()).decode("utf-8-sig"))))
    table = lines.index([])  # the blank line after the table
    assert len(lines[2:table]) == len(UNITS)
    assert lines[table:] == [
        [], ["红榜"], ["层级", "排名", "编码", "单位", "得分"],
        ["社区", "1", "C02", "和谐社区", "100.0"], ["社区", "2", "C01", "幸福社区", "82.0"],
        ["社区", "3", "C04", "友爱社区", "70.0"],
        ["小区", "1", "C01-A", "阳光花园", "90.5"],
        ["楼栋", "1", "C01-A-B2", "2号楼", "86.0"], ["楼栋", "2", "C01-A-B1", "1号楼", "40.0"],
        [], ["黑榜"], ["层级", "排名", "编码", "单位", "得分"],
        ["社区", "5", "C03", "平安社区", "50.0"], ["社区", "4", "C05", "团结社区", "60.0"],
    ]


def test_the_boards_are_sheets_of_the_workbook() -> None:
    with use_locale("zh_CN"):
        book = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(_card())))
    assert book.sheetnames == ["2026-W48", "红榜", "黑榜"]
    red = [[cell.value for cell in row] for row in book["红榜"].iter_rows()]
    assert red[0] == ["层级", "排名", "编码", "单位", "得分"]
    assert red[1:] == [["社区", 1, "C02", "和谐社区", 100.0], ["社区", 2, "C01", "幸福社区", 82.0],
                       ["社区", 3, "C04", "友爱社区", 70.0], ["小区", 1, "C01-A", "阳光花园", 90.5],
                       ["楼栋", 1, "C01-A-B2", "2号楼", 86.0], ["楼栋", 2, "C01-A-B1", "1号楼", 40.0]]
    black = [[cell.value for cell in row] for row in book["黑榜"].iter_rows()]
    assert black[1:] == [["社区", 5, "C03", "平安社区", 50.0], ["社区", 4, "C05", "团结社区", 60.0]]
    assert book["黑榜"].freeze_panes == "A2"


def test_the_boards_speak_english_too() -> None:
    with use_locale("en"):
        text = export.to_csv(_card()).decode("utf-8-sig")
        sheets = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(_card()))).sheetnames
    assert "\r\nRed list\r\n" in text and "\r\nBlack list\r\n" in text
    assert sheets == ["2026-W48", "Red list", "Black list"]
