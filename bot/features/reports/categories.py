"""Report categories as a CSV an administrator edits: export, and import validated whole in one transaction."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from bot.domain.grid import Level
from bot.domain.people import Duty
from bot.features.reports import store
from bot.features.reports.model import CATEGORY_CODE, CLIMB, Category
from bot.i18n import SUPPORTED, translate
from bot.services.grid_import import GridError, ImportRejected, ImportReport, decode
from bot.storage.db import Database

COLUMNS = ("code", "duty", "building_hours", "complex_hours", "community_hours", "street_hours", "infrastructure",
           "name_zh", "name_en")
OPTIONAL = ("active",)  # "0" retires a category: residents no longer see it, reports filed under it keep it
HOURS = {Level.BUILDING: "building_hours", Level.COMPLEX: "complex_hours", Level.COMMUNITY: "community_hours",
         Level.STREET: "street_hours"}
MAX_BYTES = 1024 * 1024
MAX_HOURS = 8760  # a year
NAME_MAX = 32


async def export_categories(db: Database) -> bytes:
    """The active categories in their order, as UTF-8 CSV with BOM (opens right in Excel)."""
    async with db.read() as tx:
        categories = await store.categories(tx)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for category in categories:
        writer.writerow((category.code, category.duty.value if category.duty else "",
                         *(f"{category.limits[level]:g}" for level in CLIMB), int(category.infrastructure),
                         category.name_zh, category.name_en))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


async def import_categories(db: Database, data: bytes) -> ImportReport:
    """Validate every row, then upsert them by code in one transaction (raise ImportRejected on any problem).

    The file's order is the menu order, after categories the file leaves out (those are kept as they are).
    """
    if len(data) > MAX_BYTES:
        raise ImportRejected([GridError(0, "categories.error.too_large", {"max_kb": MAX_BYTES // 1024})])
    text, encoding = decode(data)
    categories, retired, errors = parse(text)
    if errors:
        raise ImportRejected(errors)
    counts = Counter[str]()
    async with db.write() as tx:
        existing = {category.code: category for category in await store.categories(tx)}
        if not set(existing) - retired and not categories:
            raise ImportRejected([GridError(0, "categories.error.none_left")])
        for code in sorted(retired & set(existing)):
            await store.retire_category(tx, code)
            counts["updated"] += 1
        positions = await store.category_positions(tx)
        codes = {category.code for category in categories}
        first = max((p for code, p in positions.items() if code not in codes), default=0) + 1
        for position, category in enumerate(categories, start=first):
            old = existing.get(category.code)
            if old == category and positions.get(category.code) == position:
                counts["unchanged"] += 1
                continue
            await store.upsert_category(tx, category, position)
            counts["updated" if old else "created"] += 1
    return ImportReport(counts["created"], counts["updated"], counts["unchanged"], encoding,
                        done_key="categories.import.done")


def parse(text: str) -> tuple[list[Category], set[str], list[GridError]]:
    """The categories in the file, the codes it retires (`active` 0), and every problem found in it, with its
    line."""
    categories: list[Category] = []
    retired: set[str] = set()
    errors: list[GridError] = []
    first_line: dict[str, int] = {}
    rows = list(_rows(text))
    for line, cells in rows:
        problems = list(_problems(cells))
        code = cells["code"]
        if code in first_line:
            problems.append(("grid.error.duplicate_code", {"code": code, "first_line": first_line[code]}))
        elif code:
            first_line[code] = line
        errors += [GridError(line, key, params) for key, params in problems]
        if problems:
            continue
        if cells.get("active") == "0":
            retired.add(code)
        else:
            categories.append(_category(cells))
    if not rows:
        errors.append(GridError(0, "categories.error.no_rows"))
    return categories, retired, errors


def _rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Each non-blank data row (with the line it ends on) as column → stripped cell."""
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: dict[str, int] | None = None
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _header(reader.line_num, cells)
                continue
            yield reader.line_num, {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()}
    except csv.Error:
        raise ImportRejected([GridError(reader.line_num, "grid.error.malformed")]) from None
    if columns is None:
        raise ImportRejected([GridError(0, "categories.error.empty", {"header": ",".join(COLUMNS)})])


def _header(line: int, cells: list[str]) -> dict[str, int]:
    """Column name → index (any order; unknown columns are ignored)."""
    names = [cell.strip().lower() for cell in cells]
    errors = [GridError(line, "grid.error.duplicate_column", {"column": name})
              for name in COLUMNS if names.count(name) > 1]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        errors.append(GridError(line, "categories.error.missing_columns",
                                {"columns": ", ".join(missing), "header": ",".join(COLUMNS)}))
    if errors:
        raise ImportRejected(errors)
    return {name: names.index(name) for name in (*COLUMNS, *OPTIONAL) if name in names}


Problems = Iterator[tuple[str, dict[str, object]]]


def _problems(cells: dict[str, str]) -> Problems:
    code = cells["code"]
    if not code:
        yield "grid.error.missing_code", {}
    elif not CATEGORY_CODE.fullmatch(code):
        yield "categories.error.bad_code", {"code": code}
    if cells["duty"] and cells["duty"] not in {duty.value for duty in Duty}:
        yield "categories.error.duty", {"value": cells["duty"], "duties": ", ".join(Duty)}
    for column in HOURS.values():
        if _hours(cells[column]) is None:
            yield "categories.error.hours", {"column": column, "value": cells[column], "max": MAX_HOURS}
    if cells["infrastructure"] not in ("0", "1"):
        yield "categories.error.infrastructure", {"value": cells["infrastructure"]}
    if cells.get("active", "") not in ("", "0", "1"):
        yield "categories.error.active", {"value": cells["active"]}
    for column in ("name_zh", "name_en"):
        if len(cells[column]) > NAME_MAX:
            yield "categories.error.name_too_long", {"column": column, "length": len(cells[column]),
                                                     "max": NAME_MAX}
    if code and not (cells["name_zh"] and cells["name_en"]) and not _catalog_named(code):
        yield "categories.error.names_needed", {"code": code}


def _hours(text: str) -> float | None:
    """Hours as a number in (0, MAX_HOURS], or None."""
    try:
        hours = float(text)
    except ValueError:
        return None
    return hours if 0 < hours <= MAX_HOURS else None


def _catalog_named(code: str) -> bool:
    """Whether every catalog names the category (true of the default ones), so its name cells may stay empty."""
    key = f"category.{code}"
    return all(translate(locale, key) != key for locale in SUPPORTED)


def _category(cells: dict[str, str]) -> Category:
    """The category of a row that passed validation."""
    limits = {level: float(cells[column]) for level, column in HOURS.items()}
    return Category(cells["code"], Duty(cells["duty"]) if cells["duty"] else None, limits,
                    cells["infrastructure"] == "1", cells["name_zh"], cells["name_en"])
