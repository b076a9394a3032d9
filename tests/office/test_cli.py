"""The office tools, run as a person would: `python run_bot.py ...` in a fresh directory."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from PIL import Image

from bot.domain.people import Duty
from bot.features.invites import store as invite_store
from bot.services import posters
from bot.storage.db import Database
from tests.cli_harness import ROOT, python, run


def test_grid_import_export_invite_and_posters(tmp_path: Path) -> None:
    imported = run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv"))
    assert imported.returncode == 0, imported.stderr
    assert "21" in imported.stdout
    again = run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv"))
    assert again.returncode == 0 and "21" in again.stdout  # all unchanged, nothing duplicated
    exported = run(tmp_path, "grid", "export", "grid-out.csv")
    assert exported.returncode == 0
    assert (tmp_path / "grid-out.csv").read_bytes().startswith(b"\xef\xbb\xbflevel,code,name,parent_code")
    invite = run(tmp_path, "invite", "--role", "building_leader", "--unit", "C01-A-B1", "--duty", "safety")
    assert invite.returncode == 0, invite.stderr
    assert "/start inv-" in invite.stdout
    wrong = run(tmp_path, "invite", "--role", "building_leader", "--unit", "C01")
    assert wrong.returncode == 1 and "层级和这个职务不符" in wrong.stderr


def test_posters_as_the_readme_says(tmp_path: Path) -> None:
    if posters.find_cjk_font() is None:
        pytest.skip("no Chinese font on this machine (apt-get install fonts-noto-cjk or fonts-wqy-microhei)")
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0
    line = re.search(r"run_bot\.py (posters .*?)\s+#", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert line is not None

    result = run(tmp_path, *shlex.split(line.group(1)))

    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "posters").glob("*.png"))
    assert len(files) == 10
    with Image.open(files[0]) as image:
        assert image.height > image.width


def test_posters_without_a_chinese_font_are_refused_in_one_line(tmp_path: Path) -> None:
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0

    result = run(tmp_path, "posters", "--out", "posters", "--bot-username", "jinlin_bot",
                 JINLIN_POSTER_FONT=str(tmp_path / "no-such-font.ttf"))

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "JINLIN_POSTER_FONT" in result.stderr and "apt-get install fonts-noto-cjk" in result.stderr
    assert not (tmp_path / "posters").exists()


def test_grid_import_says_what_changed_in_the_default_language(tmp_path: Path) -> None:
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0
    (tmp_path / "few.csv").write_text("level,code,name,parent_code,linked_households\n"
                                      "building,C01-A-B2,2号楼（东）,C01-A,\nbuilding,C01-A-B4,4号楼,C01-A,\n",
                                      encoding="utf-8")

    chinese = run(tmp_path, "grid", "import", "few.csv")
    english = run(tmp_path, "grid", "import", "few.csv", JINLIN_LOCALE="en")

    assert chinese.stdout.splitlines() == ["网格导入完成：新建 1 个，更新 1 个，没有变化 0 个。",
                                           "新建：C01-A-B4", "更新：C01-A-B2"]
    assert english.stdout.splitlines()[0] == "Grid imported: 0 created, 0 updated, 2 unchanged."
    exported = run(tmp_path, "grid", "export").stdout
    assert [line.split(",")[1] for line in exported.splitlines() if line.startswith("building,C01-A-")] == [
        "C01-A-B1", "C01-A-B2", "C01-A-B4", "C01-A-B3"]  # the new one follows the row above it in the file


def test_bad_grid_file_is_rejected_whole_with_line_numbers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("level,code,name,parent_code,linked_households\nstreet,S1,街道,,\ncommunity,C 1,社区,S1,\n"
                   "building,B1,楼,NOPE,\n", encoding="utf-8")
    result = run(tmp_path, "grid", "import", str(bad))
    assert result.returncode == 1
    assert "第 3 行" in result.stderr and "第 4 行" in result.stderr
    exported = run(tmp_path, "grid", "export")
    assert exported.stdout.strip() == "level,code,name,parent_code,linked_households"  # nothing was applied


def test_an_export_that_cannot_be_written_says_so_in_one_line(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-such-folder"
    assert run(tmp_path, "report", "scorecard", "--period", "2026-11", "--out", "card.csv").stderr.strip(
    ).splitlines()[-1] == "网格里还没有街道：请先导入网格（grid import 文件）。"
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0
    for args in (("grid", "export", str(nowhere / "grid.csv")),
                 ("report", "scorecard", "--period", "2026-11", "--out", str(nowhere / "card.csv"))):
        result = run(tmp_path, *args)
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("无法写入文件"), result.stderr
        assert "Traceback" not in result.stderr
        assert not nowhere.exists()


def test_help_and_usage_errors_speak_the_default_language(tmp_path: Path) -> None:
    chinese = run(tmp_path, "invite", "--help")
    english = run(tmp_path, "invite", "--help", JINLIN_LOCALE="en")
    wrong = run(tmp_path, "invite", "--role", "mayor", "--unit", "C01")
    missing = run(tmp_path, "grid", "import")

    assert chinese.returncode == 0 and chinese.stdout.startswith("用法：run_bot.py invite")
    assert "显示这段说明，然后退出" in chinese.stdout and "分工，可以填几个，用逗号分开" in chinese.stdout
    assert english.stdout.startswith("usage: run_bot.py invite") and "duties, several separated by commas" in (
        english.stdout)
    assert wrong.returncode == 2
    assert wrong.stderr.splitlines()[-1].startswith("run_bot.py invite：出错了：--role 没有 'mayor' 这一项，可以选：")
    assert missing.stderr.splitlines()[-1] == "run_bot.py grid import：出错了：缺少这些参数：file"


def test_configuration_error_is_one_clear_line(tmp_path: Path) -> None:
    result = run(tmp_path, "console", JINLIN_TIMEZONE="Nowhere/Land")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["jinlin: configuration error: JINLIN_TIMEZONE: unknown time zone "
                                                  "'Nowhere/Land'"]


async def test_invite_takes_several_duties_in_one_option(tmp_path: Path) -> None:
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0

    result = run(tmp_path, "invite", "--role", "building_leader", "--unit", "C01-A-B1", "--duty", "safety,sanitation")
    unknown = run(tmp_path, "invite", "--role", "building_leader", "--unit", "C01-A-B1", "--duty", "safety,cooking")

    assert result.returncode == 0, result.stderr
    code = re.search(r"inv-[a-z0-9]+", result.stdout)
    assert code is not None
    db = Database(str(tmp_path / "office.db"))
    await db.open(exclusive=False)
    try:
        async with db.read() as tx:
            invite = await invite_store.get(tx, code.group())
    finally:
        await db.close()
    assert invite is not None and invite.duties == (Duty.SAFETY, Duty.SANITATION)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == ("没有“cooking”这个分工。"
                                      "可以用的分工：safety, sanitation, mediation, publicity, legal_advisor")


def test_office_commands_load_no_channel_library(tmp_path: Path) -> None:
    """Each office tool through bot.cli.main in one process, which then lists the channels' libraries it holds; last,
    it loads bot.app (the channels) and lists them again, to show that the listing sees them."""
    commands = [["grid", "import", str(ROOT / "sample" / "grid.csv")], ["grid", "export", "grid.csv"],
                ["categories", "export", "categories.csv"], ["lecture", "list"],
                ["invite", "--role", "building_leader", "--unit", "C01-A-B1"],
                ["posters", "--out", "posters", "--bot-username", "jinlin_bot"],
                ["report", "scorecard", "--period", "2026-W48", "--out", "card.xlsx"]]
    script = f"""
import sys
from bot.cli import main
codes = [main(command) for command in {commands!r}]
channels = lambda: sorted({{name.split(".")[0] for name in sys.modules}} & {{"telegram", "wechatpy", "aiohttp"}})
print(codes, channels())
import bot.app
print(channels())
"""
    result = python(tmp_path, "-c", script)

    assert result.returncode == 0, result.stderr
    office, after_app = result.stdout.splitlines()[-2:]
    assert office.startswith("[0, 0, 0, 0, 0, ") and office.endswith("] []")  # posters: 0, or 1 without a CJK font
    assert after_app == "['aiohttp', 'telegram', 'wechatpy']"
