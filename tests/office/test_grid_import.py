"""The grid CSV import and export."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.domain.grid import Level
from bot.i18n import use_locale
from bot.services.grid_import import (
    MAX_BYTES,
    ImportRejected,
    ImportReport,
    export_grid,
    import_grid,
    render_errors,
)
from bot.services.people import clean_room
from bot.storage import grid as grid_store
from bot.storage.db import Database

SAMPLE = Path(__file__).resolve().parents[2] / "sample" / "grid.csv"
HEADER = "level,code,name,parent_code,linked_households\n"


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


async def snapshot(db: Database) -> list[tuple[str, str, str, int | None, tuple[str, ...], int]]:
    async with db.read() as tx:
        units = await grid_store.all_units(tx)
    return sorted((u.code, u.level.value, u.name, u.parent_id, u.linked_households, pos) for u, pos in units)


async def errors_of(db: Database, data: bytes) -> list[tuple[int, str]]:
    with pytest.raises(ImportRejected) as caught:
        await import_grid(db, data)
    return [(error.line, error.key) for error in caught.value.errors]


async def test_sample_imports_whole_grid(db: Database) -> None:
    report = await import_grid(db, SAMPLE.read_bytes())

    assert (report.created, report.updated, report.unchanged, report.encoding) == (21, 0, 0, "utf-8")
    assert report.created_codes[:3] == ("S01", "C01", "C01-A") and len(report.created_codes) == 21
    levels = [Level(unit[1]) for unit in await snapshot(db)]
    assert {level: levels.count(level) for level in Level} == {
        Level.STREET: 1, Level.COMMUNITY: 2, Level.COMPLEX: 4, Level.BUILDING: 10, Level.PARTY_HOUSEHOLD: 4}
    async with db.read() as tx:
        building = await grid_store.by_code(tx, "C01-A-B1")
        assert building is not None
        chain = await grid_store.ancestry(tx, building.id)
    assert [unit.code for unit in chain] == ["C01-A-B1", "C01-A", "C01", "S01"]
    assert [unit.name for unit in chain] == ["1号楼", "阳光花园", "幸福社区", "近邻街道"]


async def test_reimport_of_same_file_changes_nothing(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    before = await snapshot(db)

    report = await import_grid(db, SAMPLE.read_bytes())

    assert (report.created, report.updated, report.unchanged) == (0, 0, 21)
    assert await snapshot(db) == before


async def test_export_then_reimport_is_a_round_trip(db: Database, tmp_path: Path) -> None:
    await import_grid(db, SAMPLE.read_bytes())

    exported = await export_grid(db)

    assert exported.startswith(b"\xef\xbb\xbf" + HEADER.encode().rstrip(b"\n"))
    first_rows = exported.decode("utf-8-sig").splitlines()[1:3]
    assert first_rows == ["street,S01,近邻街道,,", "community,C01,幸福社区,S01,"]
    report = await import_grid(db, exported)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 21)
    fresh = Database(str(tmp_path / "fresh.db"))
    await fresh.open()
    try:
        assert (await import_grid(fresh, exported)).created == 21
        assert await export_grid(fresh) == exported
    finally:
        await fresh.close()


async def test_round_trip_holds_for_a_file_in_any_row_order(db: Database) -> None:
    header, _comment, *rows = sample_text().splitlines()
    random.Random(7).shuffle(rows)
    await import_grid(db, "\n".join([header, *rows]).encode())

    report = await import_grid(db, await export_grid(db))

    assert (report.created, report.updated, report.unchanged) == (0, 0, 21)


async def test_rename_and_move_update_instead_of_duplicating(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    text = sample_text().replace("C01-A,阳光花园,C01", "C01-A,阳光家园,C01")
    text = text.replace("楼栋,C01-A-B3,3号楼,C01-A,", "楼栋,C01-A-B3,3号楼,C01-B,")

    report = await import_grid(db, text.encode())

    assert (report.created, report.updated) == (0, 4)  # renamed, moved, and both C01-B buildings shift down
    async with db.read() as tx:
        complex_ = await grid_store.by_code(tx, "C01-A")
        moved = await grid_store.by_code(tx, "C01-A-B3")
        new_parent = await grid_store.by_code(tx, "C01-B")
        assert complex_ is not None and moved is not None and new_parent is not None
        assert complex_.name == "阳光家园"
        assert moved.parent_id == new_parent.id
        assert [u.code for u in await grid_store.children(tx, new_parent.id, Level.BUILDING)] == [
            "C01-A-B3", "C01-B-B1", "C01-B-B2"]
    assert len(await snapshot(db)) == 21


async def test_partial_file_adds_after_existing_units_and_leaves_others_alone(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    before = await snapshot(db)

    report = await import_grid(db, (HEADER + "building,C01-A-B4,4号楼,C01-A,\n").encode())

    assert (report.created, report.updated, report.unchanged) == (1, 0, 0)
    after = await snapshot(db)
    assert [unit for unit in after if unit[0] != "C01-A-B4"] == before
    async with db.read() as tx:
        complex_ = await grid_store.by_code(tx, "C01-A")
        assert complex_ is not None
        buildings = await grid_store.children(tx, complex_.id, Level.BUILDING)
    assert [u.code for u in buildings] == ["C01-A-B1", "C01-A-B2", "C01-A-B3", "C01-A-B4"]


async def children_codes(db: Database, parent: str) -> list[str]:
    async with db.read() as tx:
        unit = await grid_store.by_code(tx, parent)
        assert unit is not None
        level = Level.BUILDING if unit.level is Level.COMPLEX else Level.COMPLEX
        return [child.code for child in await grid_store.children(tx, unit.id, level)]


async def test_a_file_touching_a_few_units_never_reorders_the_others(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())

    renamed = await import_grid(db, (HEADER + "building,C01-A-B2,2号楼（东）,C01-A,\n").encode())
    inserted = await import_grid(db, (HEADER + "building,C01-A-B1,1号楼,C01-A,\n"
                                      "building,C01-A-B1X,1号楼附楼,C01-A,\n").encode())
    swapped = await import_grid(db, (HEADER + "building,C01-A-B3,3号楼,C01-A,\n"
                                     "building,C01-A-B1,1号楼,C01-A,\n").encode())

    assert (renamed.created, renamed.updated, renamed.unchanged) == (0, 1, 0)
    assert renamed.updated_codes == ("C01-A-B2",)
    assert (inserted.created_codes, inserted.updated_codes, inserted.unchanged) == (("C01-A-B1X",), (), 1)
    assert swapped.updated_codes == ("C01-A-B3", "C01-A-B1")
    assert await children_codes(db, "C01-A") == ["C01-A-B3", "C01-A-B1X", "C01-A-B2", "C01-A-B1"]
    assert await children_codes(db, "C01") == ["C01-A", "C01-B"]
    report = await import_grid(db, await export_grid(db))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 22)  # the positions left are a whole


async def test_the_summary_names_the_codes_added_and_updated(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    text = sample_text().replace("C01-A,阳光花园,C01", "C01-A,阳光家园,C01") + "building,C02-B-B4,4号楼,C02-B,\n"

    report = await import_grid(db, text.encode())

    with use_locale("zh_CN"):
        assert report.render().splitlines() == [
            "网格导入完成：新建 1 个，更新 1 个，没有变化 20 个。", "新建：C02-B-B4", "更新：C01-A"]
    with use_locale("en"):
        assert report.render().splitlines()[1:] == ["Created: C02-B-B4", "Updated: C01-A"]


def test_a_long_list_of_codes_is_cut_short() -> None:
    report = ImportReport.of({"created": [f"B{i}" for i in range(40)], "updated": [], "unchanged": []}, "utf-8")

    with use_locale("en"):
        assert report.render().splitlines()[1] == "Created: " + ", ".join(f"B{i}" for i in range(30)) + " and 10 more"


async def test_utf8_bom_file_is_accepted(db: Database) -> None:
    report = await import_grid(db, b"\xef\xbb\xbf" + SAMPLE.read_bytes())

    assert (report.created, report.encoding) == (21, "utf-8-sig")


async def test_gbk_file_is_accepted_and_reported(db: Database) -> None:
    report = await import_grid(db, sample_text().encode("gbk"))

    assert (report.created, report.encoding) == (21, "gbk")
    async with db.read() as tx:
        community = await grid_store.by_code(tx, "C01")
    assert community is not None and community.name == "幸福社区"
    with use_locale("zh_CN"):
        assert "GBK" in report.render()
    with use_locale("en"):
        assert report.render().startswith("Grid imported: 21 created, 0 updated, 0 unchanged.")


async def test_undecodable_bytes_are_rejected_with_save_as_hint(db: Database) -> None:
    data = (HEADER + "street,S01,ok,,\n").encode() + b"street,S02,\xff\xfe\x80,,\n"
    with pytest.raises(ImportRejected) as caught:
        await import_grid(db, data)

    assert [(e.line, e.key) for e in caught.value.errors] == [(3, "grid.error.encoding")]
    with use_locale("zh_CN"):
        assert "CSV UTF-8" in render_errors(caught.value.errors)
    assert await snapshot(db) == []


@pytest.mark.parametrize(("data", "key"), [
    (b"PK\x03\x04\x14\x00\x06\x00workbook.xml", "grid.error.not_csv"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "grid.error.not_csv"),
    (b"a" * (MAX_BYTES + 1), "grid.error.too_large"),
    (b"", "grid.error.empty"),
    (b"# only a comment\n\n", "grid.error.empty"),
    (HEADER.encode(), "grid.error.no_rows"),
    (b"level,code,name\nstreet,S01,x\n", "grid.error.missing_columns"),
    (b"<html><body>not a grid</body></html>\n", "grid.error.missing_columns"),
])
async def test_files_that_are_not_grid_csv_are_rejected(db: Database, data: bytes, key: str) -> None:
    errors = await errors_of(db, data)

    assert [error_key for _, error_key in errors] == [key]


async def test_chinese_header_in_any_column_order(db: Database) -> None:
    data = "名称,编码,层级,联系户,上级编码,备注\n近邻街道,S01,街道,,,随便写\n".encode()

    assert (await import_grid(db, data)).created == 1


async def test_bad_file_lists_every_error_with_its_line_and_writes_nothing(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    before = await snapshot(db)
    bad = (
        "层级,编码,名称,上级编码,联系户\n"          # 1
        "# 新增第三个社区\n"                        # 2
        "社区,C03,新社区,S01,\n"                    # 3 fine
        "\n"                                        # 4 blank
        "村,X1,某村,S01,\n"                         # 5 unknown level
        "小区,C03-A,新小区,C09,\n"                  # 6 parent not in file or database
        "楼栋,C03-A-B1,1号楼,C03-A,\n"             # 7 fine (parent in file, though broken)
        "楼栋,C03-A-B1,1号楼,C03-A,\n"             # 8 duplicate of line 7
        "楼栋,C03 B2!,2号楼,C03-A,\n"              # 9 bad code characters
        "社区,C01-A,阳光花园,S01,\n"                # 10 existing complex cannot become a community
        "街道,S02,另一个街道,,\n"                   # 11 second street
        "楼栋,inv-7,7号楼,C01-A,\n"                # 12 reserved prefix
        "党员中心户,C03-A-B1-H1,,C01-A,201\n"      # 13 empty name and parent of the wrong level
    ).encode()

    errors = await errors_of(db, bad)

    assert errors == [
        (5, "grid.error.unknown_level"),
        (6, "grid.error.unknown_parent"),
        (8, "grid.error.duplicate_code"),
        (9, "grid.error.bad_code"),
        (10, "grid.error.level_change"),
        (11, "grid.error.second_street"),
        (12, "grid.error.reserved_code"),
        (13, "grid.error.missing_name"),
        (13, "grid.error.parent_level"),
    ]
    assert await snapshot(db) == before


async def test_errors_render_with_line_numbers_in_both_locales(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    with pytest.raises(ImportRejected) as caught:
        await import_grid(db, (HEADER + "street,S01,x,,\ncomplex,C01,y,S01,\n").encode())
    errors = caught.value.errors

    with use_locale("zh_CN"):
        assert render_errors(errors).splitlines() == [
            "第 3 行：编码“C01”现在是社区，不能改成小区。如确实要改，请用一个新编码。",
            "第 3 行：上级“S01”是街道，但小区的上级应是社区。",
        ]
    with use_locale("en"):
        assert render_errors(errors).splitlines()[0] == (
            'line 3: The code "C01" is already a community and cannot become a residential complex; '
            "use a new code instead.")


async def test_street_alone_in_an_empty_database_must_be_unique(db: Database) -> None:
    errors = await errors_of(db, (HEADER + "street,S01,a,,\nstreet,S02,b,,\ncommunity,C01,c,,\n").encode())

    assert errors == [(3, "grid.error.second_street"), (4, "grid.error.missing_parent_code")]


async def test_party_household_linked_rooms_are_parsed(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    data = (HEADER + 'party_household,C01-A-B2-H1,2号楼 党员中心户,C01-A-B2,"101；102, 103;;102"\n').encode()

    await import_grid(db, data)

    async with db.read() as tx:
        sample_household = await grid_store.by_code(tx, "C01-A-B1-H1")
        new_household = await grid_store.by_code(tx, "C01-A-B2-H1")
    assert sample_household is not None and new_household is not None
    assert sample_household.linked_households == ("201", "202", "302")
    assert new_household.linked_households == ("101", "102", "103")


async def test_a_room_written_another_way_is_the_same_room_in_the_grid_and_at_home(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    data = (HEADER + 'party_household,C01-A-B2-H1,2号楼 党员中心户,C01-A-B2,"１０１室；102 号, 3—103;101"\n').encode()

    await import_grid(db, data)

    async with db.read() as tx:
        household = await grid_store.by_code(tx, "C01-A-B2-H1")
    assert household is not None and household.linked_households == ("101", "102", "3-103")
    assert [clean_room(typed) for typed in ("101", "１０１", "101 室", "3–103", "3 - 103")] == [
        "101", "101", "101", "3-103", "3-103"]  # as a resident types their room when joining


async def test_linked_rooms_only_for_party_households_and_short(db: Database) -> None:
    await import_grid(db, SAMPLE.read_bytes())
    data = (HEADER + "building,C01-A-B9,9号楼,C01-A,101\n"
            + "party_household,C01-A-B9-H1,x,C01-A-B9,101;" + "1" * 17 + "\n").encode()

    assert await errors_of(db, data) == [(2, "grid.error.linked_not_allowed"), (3, "grid.error.room_too_long")]
