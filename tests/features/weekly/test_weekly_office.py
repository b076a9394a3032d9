"""`run_bot.py report weekly --period 2026-W49 [--unit C01] --out FILE`, run as a person runs it: XLSX that opens
with openpyxl and holds the figures, CSV in UTF-8 with BOM, and one line for what cannot be done."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl

from bot.features.reports import service as reports
from bot.storage import grid, people
from bot.storage.db import Database
from tests.cli_harness import ROOT, run
from tests.harness import Member, seed_people

FILED = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # Sunday of 2026-W49, 10:00 in the street


async def _file_a_report(path: Path) -> None:
    """A roof leak at 1号楼 of 幸福社区, filed in W49, into the office tools' database."""
    db = Database(str(path))
    await db.open()
    try:
        async with db.write() as tx:
            [person_id] = (await seed_people(tx, [Member("r1", "王阿姨", home="C01-A-B1")], FILED)).values()
            person, building = await people.by_id(tx, person_id), await grid.by_code(tx, "C01-A-B1")
            assert person is not None and building is not None
            await reports.submit(tx, person, reports.Draft("roof_leak", "漏水", building.id), FILED, "Asia/Shanghai")
    finally:
        await db.close()


async def test_the_weekly_export_as_xlsx_and_csv(tmp_path: Path) -> None:
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0
    await _file_a_report(tmp_path / "office.db")

    result = run(tmp_path, "report", "weekly", "--period", "2026-W49", "--out", "week.xlsx")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "已写入 week.xlsx：2026-W49 周报，2 个社区。"
    rows = list(openpyxl.load_workbook(tmp_path / "week.xlsx").worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "社区周报 2026-W49" and rows[1][:7] == ("编码", "单位", "状态", "新增", "办结", "超期", "积压")
    assert rows[2][:5] + rows[2][6:7] == ("C01", "幸福社区", "未生成", 1, 0, 1)  # computed now: the leak is open
    assert rows[3][:7] == ("C02", "和谐社区", "未生成", 0, 0, 0, 0)

    result = run(tmp_path, "report", "weekly", "--period", "2026-w49", "--unit", "C01", "--out", "c01.csv")
    assert result.returncode == 0, result.stderr
    data = (tmp_path / "c01.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [line[:4] for line in lines] == [["社区周报 2026-W49"], ["编码", "单位", "状态", "新增"],
                                            ["C01", "幸福社区", "未生成", "1"]]


def test_what_cannot_be_done_is_said_in_one_line(tmp_path: Path) -> None:
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0
    nowhere = tmp_path / "no-such-folder"
    for args, said in ((("--period", "2026-W49", "--out", str(nowhere / "w.xlsx")), "无法写入文件"),
                       (("--period", "last week", "--out", "w.xlsx"), "看不懂周期 last week：请写成 2026-W49。"),
                       (("--period", "2026-11", "--out", "w.xlsx"), "看不懂周期 2026-11：请写成 2026-W49。"),
                       (("--period", "2026-W49", "--unit", "C01-A", "--out", "w.xlsx"), "没有编码为 C01-A 的社区。"),
                       (("--period", "2026-W49", "--out", "w.pdf"), "w.pdf：只能写 .xlsx 或 .csv 文件。")):
        result = run(tmp_path, "report", "weekly", *args)
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(said), result.stderr
    assert not nowhere.exists() and not (tmp_path / "w.xlsx").exists()
