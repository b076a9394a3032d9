"""Report categories from a CSV: export, all-or-nothing import with every error listed, and the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.domain.grid import Level
from bot.domain.people import Account, Duty, Role
from bot.features.reports import notices
from bot.features.reports import service as issue_service
from bot.features.reports import store as issues
from bot.features.reports.categories import ImportRejected, export_categories, import_categories
from bot.i18n import use_locale
from bot.services.grid_import import import_grid, render_errors
from bot.storage import grid, people
from bot.storage.db import Database
from tests.cli_harness import run

ROOT = Path(__file__).resolve().parents[3]
HEADER = "code,duty,building_hours,complex_hours,community_hours,street_hours,infrastructure,name_zh,name_en\n"
DEFAULTS = ["roof_leak", "parking", "sanitation", "lighting", "water_pressure", "noise", "pets", "property",
            "neighbour_dispute", "safety_hazard", "legal", "other"]


async def _codes(db: Database) -> list[str]:
    async with db.read() as tx:
        return [category.code for category in await issues.categories(tx)]


async def test_export_lists_the_defaults_and_reimports_unchanged(db: Database) -> None:
    data = await export_categories(db)
    assert data.startswith(b"\xef\xbb\xbf" + HEADER.replace("\n", "\r\n").encode())  # as Excel writes it
    lines = data.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == DEFAULTS
    assert "safety_hazard,safety,2,2,2,2,0,," in lines
    assert "roof_leak,,24,24,24,24,1,," in lines
    assert "neighbour_dispute,mediation,120,72,72,96,0,," in lines
    report = await import_categories(db, data)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 12)


async def test_an_active_column_of_0_retires_a_category_and_1_brings_it_back(db: Database) -> None:
    header = HEADER.replace("name_en\n", "name_en,active\n")
    report = await import_categories(db, (header + "pets,sanitation,72,48,48,168,0,,,0\n"
                                                   "parking,,72,48,48,168,0,,,\n").encode())
    assert (report.created, report.updated, report.unchanged) == (0, 2, 0)  # pets retired, parking moved last
    assert "pets" not in await _codes(db)
    async with db.read() as tx:
        assert await issues.category(tx, "pets") is None  # not offered to residents …
        assert await issues.category(tx, "pets", active_only=False) is not None  # … but old reports keep it
    assert b"pets" not in await export_categories(db)
    await import_categories(db, (header + "pets,sanitation,72,48,48,168,0,,,1\n").encode())
    assert (await _codes(db))[-1] == "pets"


async def test_a_bad_active_value_or_retiring_every_category_is_refused(db: Database) -> None:
    header = HEADER.replace("name_en\n", "name_en,active\n")
    with pytest.raises(ImportRejected) as bad:
        await import_categories(db, (header + "pets,sanitation,72,48,48,168,0,,,no\n").encode())
    assert [(error.line, error.key) for error in bad.value.errors] == [(2, "categories.error.active")]
    every = "".join(f"{code},,1,1,1,1,0,,,0\n" for code in DEFAULTS)
    with pytest.raises(ImportRejected) as none:
        await import_categories(db, (header + every).encode())
    assert [error.key for error in none.value.errors] == ["categories.error.none_left"]
    assert await _codes(db) == DEFAULTS  # nothing changed


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
async def test_import_changes_limits_adds_a_category_and_sets_the_order(db: Database, bom: bytes) -> None:
    text = (HEADER + "elevator,safety,4,8,12,24.5,1,电梯故障,Lift out of order\n"
            "noise,mediation,48,48,48,120,0,,\n"
            "roof_leak,,12,24,24,24,1,屋顶/墙面漏水,\n")
    report = await import_categories(db, bom + text.encode())
    assert (report.created, report.updated, report.unchanged) == (1, 2, 0)
    codes = await _codes(db)
    assert codes[-3:] == ["elevator", "noise", "roof_leak"]  # after the categories the file left out
    assert sorted(codes) == sorted([*DEFAULTS, "elevator"])
    async with db.read() as tx:
        elevator = await issues.category(tx, "elevator")
        noise = await issues.category(tx, "noise")
        roof = await issues.category(tx, "roof_leak")
    assert elevator is not None and noise is not None and roof is not None
    assert elevator.duty is Duty.SAFETY and elevator.infrastructure
    assert elevator.limits == {Level.BUILDING: 4, Level.COMPLEX: 8, Level.COMMUNITY: 12, Level.STREET: 24.5}
    assert noise.limits[Level.BUILDING] == 48
    with use_locale("en"):
        assert notices.category_name(elevator) == "Lift out of order"
        assert notices.category_name(roof) == "🏠 Roof leak"  # no English name: the catalog's
    assert notices.category_name(roof) == "屋顶/墙面漏水"
    again = await import_categories(db, bom + text.encode())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


async def test_every_error_is_listed_and_nothing_is_applied(db: Database) -> None:
    before = await export_categories(db)
    text = (HEADER
            + "elevator,safety,4,8,12,24,1,电梯故障,\n"  # 2: a new category needs both names
            + "Lift-2,,4,8,12,24,1,电梯,Lift\n"  # 3: bad code
            + "noise,police,0,-1,abc,9000,2,,\n"  # 4: duty, four hours and infrastructure
            + "\n"
            + "noise,,48,48,48,120,0,,\n"  # 6: the same code again
            + "pets,,72,48,48,168,0," + "猫" * 33 + ",\n"  # 7: name too long
            + "parking,,72,48,48,168,0,,\n")  # 8: fine, but not applied either
    with pytest.raises(ImportRejected) as rejected:
        await import_categories(db, text.encode())
    errors = rejected.value.errors
    assert [(error.line, error.key) for error in errors] == [
        (2, "categories.error.names_needed"), (3, "categories.error.bad_code"), (4, "categories.error.duty"),
        (4, "categories.error.hours"), (4, "categories.error.hours"), (4, "categories.error.hours"),
        (4, "categories.error.hours"), (4, "categories.error.infrastructure"), (6, "grid.error.duplicate_code"),
        (7, "categories.error.name_too_long")]
    rendered = render_errors(errors)
    assert "第 3 行：编码“Lift-2”不符合要求" in rendered
    assert "第 4 行：“street_hours”应是大于 0、不超过 8760 的小时数，现在是“9000”。" in rendered
    assert "第 6 行：编码“noise”和第 4 行重复了。" in rendered
    assert await export_categories(db) == before


@pytest.mark.parametrize(("data", "key"), [
    (b"", "categories.error.empty"),
    (HEADER.encode(), "categories.error.no_rows"),
    (b"code,duty,hours\nnoise,,1\n", "categories.error.missing_columns"),
    (b"code,code,duty,building_hours,complex_hours,community_hours,street_hours,infrastructure,name_zh,name_en\n",
     "grid.error.duplicate_column"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "grid.error.not_csv"),
    (b"x" * (1024 * 1024 + 1), "categories.error.too_large"),
])
async def test_unusable_files_are_refused(db: Database, data: bytes, key: str) -> None:
    with pytest.raises(ImportRejected) as rejected:
        await import_categories(db, data)
    assert rejected.value.errors[0].key == key


async def test_imported_time_limit_applies_to_new_reports(db: Database, clock: ManualClock) -> None:
    await import_grid(db, (ROOT / "sample" / "grid.csv").read_bytes())
    await import_categories(db, (HEADER + "roof_leak,,6,24,24,24,1,,\n").encode())
    async with db.write() as tx:
        building = await grid.by_code(tx, "C01-A-B1")
        assert building is not None
        resident_id = await people.create(tx, Account("telegram", "1", "1"), display_name="居民", locale="zh_CN",
                                          now=clock.now())
        await people.set_home(tx, resident_id, building.id, "3-201")
        leader_id = await people.create(tx, Account("telegram", "2", "2"), display_name="楼长", locale="zh_CN",
                                        now=clock.now())
        await people.grant_role(tx, leader_id, Role.BUILDING_LEADER, building.id)
        resident = await people.by_id(tx, resident_id)
        assert resident is not None
        issue = await issue_service.submit(tx, resident, issue_service.Draft("roof_leak", "漏水", building.id),
                                           clock.now(), "Asia/Shanghai")
    assert issue.due_at == clock.now() + timedelta(hours=6)


def test_cli_exports_and_imports_all_or_nothing(tmp_path: Path) -> None:
    exported = run(tmp_path, "categories", "export", "categories.csv")
    assert exported.returncode == 0, exported.stderr
    path = tmp_path / "categories.csv"
    path.write_bytes(path.read_bytes() + "elevator,safety,4,8,12,24,1,电梯故障,Lift out of order\n".encode())
    imported = run(tmp_path, "categories", "import", "categories.csv")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "类别导入完成：新建 1 个，更新 0 个，没有变化 12 个。"
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "noise,,48,48,48,120,0,,\nlift,,0,8,12,24,1,电梯,Lift\n", encoding="utf-8")
    rejected = run(tmp_path, "categories", "import", "bad.csv")
    assert rejected.returncode == 1
    assert "文件有 1 处错误，没有导入任何内容" in rejected.stderr and "第 3 行" in rejected.stderr
    listed = run(tmp_path, "categories", "export")
    assert listed.stdout.startswith(HEADER) and "lift," not in listed.stdout
    assert "\nnoise,mediation,72,48,48,168,0,,\n" in listed.stdout
    assert listed.stdout.endswith("\nelevator,safety,4,8,12,24,1,电梯故障,Lift out of order\n")
