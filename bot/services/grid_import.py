"""The grid CSV a street office fills in a spreadsheet: validate it whole, then upsert it in one transaction."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain.grid import GridUnit, Level, room_label
from bot.i18n import t
from bot.storage import grid as grid_store
from bot.storage.db import Database, Tx

MAX_BYTES = 5 * 1024 * 1024
CODE_MAX = 32
NAME_MAX = 64
ROOM_MAX = 16
RESERVED_PREFIX = "inv-"
COLUMNS = ("level", "code", "name", "parent_code", "linked_households")
CODES_SHOWN = 30  # an import's summary names at most this many added (or updated) codes

_CODE_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{CODE_MAX}}}")
_CONTROL_RE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ROOM_SEPARATORS = re.compile(r"[;；,]")
_HEADERS = dict(zip(COLUMNS, COLUMNS, strict=True)) | {
    "层级": "level", "编码": "code", "名称": "name", "上级编码": "parent_code", "联系户": "linked_households",
}
_LEVELS = {level.value: level for level in Level} | {
    "街道": Level.STREET, "社区": Level.COMMUNITY, "小区": Level.COMPLEX, "楼栋": Level.BUILDING,
    "党员中心户": Level.PARTY_HOUSEHOLD,
}
_DEPTH = {level: depth for depth, level in enumerate(Level)}

Existing = Mapping[str, tuple[GridUnit, int]]


@dataclass(frozen=True, slots=True)
class GridError:
    """One problem in the file: its 1-based line (0 for the whole file) and a catalog key with params."""

    line: int
    key: str
    params: dict[str, object] = field(default_factory=dict)

    def render(self) -> str:
        """The error in the current locale, prefixed with its line."""
        params = {name: level_name(v) if isinstance(v, Level) else v for name, v in self.params.items()}
        message = t(self.key, **params)
        return t("grid.error.line", line=self.line, message=message) if self.line else message


class ImportRejected(Exception):
    """A spreadsheet (grid or categories) was rejected; nothing was written. `errors` are line-numbered."""

    def __init__(self, errors: list[GridError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the file")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    encoding: str
    done_key: str = "grid.import.done"
    created_codes: tuple[str, ...] = ()  # in file order
    updated_codes: tuple[str, ...] = ()

    @classmethod
    def of(cls, changes: Mapping[str, Sequence[str]], encoding: str, done_key: str = "grid.import.done"
           ) -> ImportReport:
        """The report of the codes "created", "updated" and "unchanged"."""
        created, updated = tuple(changes["created"]), tuple(changes["updated"])
        return cls(len(created), len(updated), len(changes["unchanged"]), encoding, done_key, created, updated)

    def render(self) -> str:
        """A summary in the current locale: the counts, which codes were added and updated, a GBK file noted."""
        lines = [t(self.done_key, created=self.created, updated=self.updated, unchanged=self.unchanged)]
        if self.created_codes:
            lines.append(t("grid.import.created_codes", codes=_code_list(self.created_codes)))
        if self.updated_codes:
            lines.append(t("grid.import.updated_codes", codes=_code_list(self.updated_codes)))
        if self.encoding == "gbk":
            lines.append(t("grid.import.gbk"))
        return "\n".join(lines)


def _code_list(codes: Sequence[str]) -> str:
    """Up to CODES_SHOWN codes, then how many more."""
    shown = ", ".join(codes[:CODES_SHOWN])
    return shown if len(codes) <= CODES_SHOWN else t("grid.import.more", codes=shown,
                                                       count=len(codes) - CODES_SHOWN)


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    level: Level | None  # None when the level cell was not understood
    code: str
    name: str
    parent_code: str
    linked: tuple[str, ...]


def level_name(level: Level) -> str:
    """The level's name in the current locale."""
    return t(f"grid.level.{level.value}")


def render_errors(errors: Sequence[GridError]) -> str:
    """Every error on its own line, in the current locale."""
    return "\n".join(error.render() for error in errors)


async def import_grid(db: Database, data: bytes) -> ImportReport:
    """Validate the whole file and upsert it by code in one transaction; raise ImportRejected on any problem."""
    text, encoding = decode(data)
    rows, row_errors = _parse(text)
    async with db.write() as tx:
        existing = {unit.code: (unit, position) for unit, position in await grid_store.all_units(tx)}
        errors = sorted([*row_errors, *_check(rows, existing)], key=lambda error: error.line)
        if errors:
            raise ImportRejected(errors)
        changes = await _write(tx, rows, existing)
    return ImportReport.of(changes, encoding)


async def export_grid(db: Database) -> bytes:
    """The whole grid as UTF-8 CSV with BOM and English header: the street, then depth-first by position."""
    async with db.read() as tx:
        units = [unit for unit, _ in await grid_store.all_units(tx)]
    codes = {unit.id: unit.code for unit in units}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for unit in _depth_first(units):
        parent = codes[unit.parent_id] if unit.parent_id is not None else ""
        writer.writerow((unit.level.value, unit.code, unit.name, parent, ";".join(unit.linked_households)))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and encoding ("utf-8", "utf-8-sig" or "gbk"); rejects big, binary or unknown files."""
    if len(data) > MAX_BYTES:
        raise ImportRejected([GridError(0, "grid.error.too_large", {"max_mb": MAX_BYTES // (1024 * 1024)})])
    if _CONTROL_RE.search(data):
        raise ImportRejected([GridError(0, "grid.error.not_csv")])
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as utf8_error:
        if encoding == "utf-8":
            try:
                return data.decode("gbk"), "gbk"
            except UnicodeDecodeError:
                pass
        line = data.count(b"\n", 0, utf8_error.start) + 1
        raise ImportRejected([GridError(line, "grid.error.encoding")]) from None


def _parse(text: str) -> tuple[list[_Row], list[GridError]]:
    """The data rows under the header and the problems in their cells; raises if there is no usable header."""
    errors: list[GridError] = []
    rows: list[_Row] = []
    columns: dict[str, int] | None = None
    header_line = 1
    for line, cells in _records(text):
        if columns is None:
            columns, header_line = _header(line, cells), line
        else:
            row, row_errors = _row(line, [cells[i].strip() if i < len(cells) else "" for i in columns.values()])
            rows.append(row)
            errors += row_errors
    if columns is None:
        raise ImportRejected([GridError(1, "grid.error.empty")])
    if not rows:
        raise ImportRejected([GridError(header_line, "grid.error.no_rows")])
    return rows, errors


def _check(rows: Sequence[_Row], existing: Existing) -> Iterator[GridError]:
    """Problems that need the whole file and the stored grid: duplicates, parents, levels, streets."""
    first: dict[str, _Row] = {}
    for row in rows:
        if not row.code:
            continue
        if row.code in first:
            yield GridError(row.line, "grid.error.duplicate_code",
                            {"code": row.code, "first_line": first[row.code].line})
        else:
            first[row.code] = row
    levels = {code: row.level for code, row in first.items() if row.level}
    levels |= {code: unit.level for code, (unit, _) in existing.items()}  # a stored level never changes
    for row in rows:
        yield from _check_level_change(row, existing)
        yield from _check_parent(row, levels)
    yield from _check_streets(rows, existing)


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank, non-comment CSV records with the line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells) and not cells[0].lstrip().startswith("#"):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error:
        raise ImportRejected([GridError(line, "grid.error.malformed")]) from None


def _header(line: int, cells: list[str]) -> dict[str, int]:
    """Column name → index; English or Chinese names, any order, unknown columns ignored."""
    columns: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(cells):
        name = _HEADERS.get(cell.strip().lstrip("\ufeff").lower())
        if name in columns:
            errors.append(GridError(line, "grid.error.duplicate_column", {"column": cell.strip()}))
        elif name:
            columns[name] = index
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        errors.append(GridError(line, "grid.error.missing_columns", {"columns": ", ".join(missing)}))
    if errors:
        raise ImportRejected(errors)
    return {name: columns[name] for name in COLUMNS}


def _row(line: int, cells: list[str]) -> tuple[_Row, list[GridError]]:
    """One data row from its five cells (in COLUMNS order) and the problems found in them alone."""
    level_text, code, name, parent_code, linked_text = cells
    level = _LEVELS.get(level_text.lower())
    rooms = tuple(dict.fromkeys(room_label(room) for room in _ROOM_SEPARATORS.split(linked_text) if room.strip()))
    problems = [*_level_problems(level_text, level, parent_code, rooms), *_code_problems(code),
                *_name_problems(name), *_room_problems(rooms)]
    return _Row(line, level, code, name, parent_code, rooms), [GridError(line, *p) for p in problems]


Problems = Iterator[tuple[str, dict[str, object]]]


def _level_problems(text: str, level: Level | None, parent_code: str, rooms: tuple[str, ...]) -> Problems:
    if level is None:
        yield "grid.error.unknown_level", {"value": text}
        return
    if level is Level.STREET and parent_code:
        yield "grid.error.street_has_parent", {}
    if level.parent and not parent_code:
        yield "grid.error.missing_parent_code", {"level": level, "parent_level": level.parent}
    if rooms and level is not Level.PARTY_HOUSEHOLD:
        yield "grid.error.linked_not_allowed", {}


def _code_problems(code: str) -> Problems:
    if not code:
        yield "grid.error.missing_code", {}
    elif not _CODE_RE.fullmatch(code):
        yield "grid.error.bad_code", {"code": code, "max": CODE_MAX}
    elif code.lower().startswith(RESERVED_PREFIX):
        yield "grid.error.reserved_code", {"code": code}


def _name_problems(name: str) -> Problems:
    if not name:
        yield "grid.error.missing_name", {}
    elif len(name) > NAME_MAX:
        yield "grid.error.name_too_long", {"length": len(name), "max": NAME_MAX}


def _room_problems(rooms: tuple[str, ...]) -> Problems:
    for room in rooms:
        if len(room) > ROOM_MAX:
            yield "grid.error.room_too_long", {"room": room, "max": ROOM_MAX}


def _check_level_change(row: _Row, existing: Existing) -> Iterator[GridError]:
    old = existing.get(row.code)
    if old and row.level and old[0].level is not row.level:
        yield GridError(row.line, "grid.error.level_change",
                        {"code": row.code, "old_level": old[0].level, "new_level": row.level})


def _check_parent(row: _Row, levels: Mapping[str, Level]) -> Iterator[GridError]:
    if not row.parent_code or not row.level or not row.level.parent:
        return
    actual = levels.get(row.parent_code)
    if actual is None:
        yield GridError(row.line, "grid.error.unknown_parent", {"parent": row.parent_code})
    elif actual is not row.level.parent:
        yield GridError(row.line, "grid.error.parent_level", {
            "parent": row.parent_code, "actual": actual, "level": row.level, "expected": row.level.parent})


def _check_streets(rows: Sequence[_Row], existing: Existing) -> Iterator[GridError]:
    """Exactly one street: every street row after the first known one is an error."""
    file_codes = {row.code for row in rows}
    streets = [code for code, (unit, _) in existing.items()
               if unit.level is Level.STREET and code not in file_codes]
    for row in rows:
        if row.level is Level.STREET and row.code not in streets:
            if streets:
                yield GridError(row.line, "grid.error.second_street", {"code": row.code, "other": streets[0]})
            streets.append(row.code)


def _positions(rows: Sequence[_Row], existing: Existing) -> dict[str, int]:
    """The places, among their siblings, of the units under every parent the file names (see `_merge`)."""
    file_parents = {row.code: row.parent_code for row in rows}
    codes = {unit.id: code for code, (unit, _) in existing.items()}
    stored: dict[str, list[str]] = defaultdict(list)  # parent code ("" for none) → its staying children, in order
    for code, (unit, _) in sorted(existing.items(), key=lambda item: (item[1][1], item[1][0].id)):
        parent = codes[unit.parent_id] if unit.parent_id is not None else ""
        if file_parents.get(code, parent) == parent:
            stored[parent].append(code)
    listed: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        listed[row.parent_code].append(row.code)
    return {code: position for parent, codes_here in listed.items()
            for position, code in enumerate(_merge(stored[parent], codes_here))}


def _merge(stored: Sequence[str], listed: Sequence[str]) -> list[str]:
    """Siblings' new order: those the file leaves out keep their places, those it lists (and held a place here)
    take the file's order in the places they held, and new ones follow the row above them in the file."""
    kept = set(stored) & set(listed)
    if not kept:
        return [*stored, *listed]
    chunks: list[list[str]] = []  # one per kept unit: it, then the new ones after it in the file
    leading: list[str] = []  # new ones before the first kept unit
    for code in listed:
        if code in kept:
            chunks.append([*leading, code])
            leading = []
        elif chunks:
            chunks[-1].append(code)
        else:
            leading.append(code)
    fill = iter(chunks)
    return [code for slot in stored for code in (next(fill) if slot in kept else [slot])]


async def _write(tx: Tx, rows: Sequence[_Row], existing: Existing) -> dict[str, list[str]]:
    """Upsert the valid rows, parents first, and move units the file leaves out only to keep their places;
    the codes created, updated and unchanged, in file order."""
    changes: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    ids = {code: unit.id for code, (unit, _) in existing.items()}
    positions = _positions(rows, existing)
    outcome = {}
    for row in sorted(rows, key=lambda row: _DEPTH[_level(row)]):
        parent_id = ids[row.parent_code] if row.parent_code else None
        old = existing.get(row.code)
        new = (row.name, parent_id, row.linked, positions[row.code])
        if old and (old[0].name, old[0].parent_id, old[0].linked_households, old[1]) == new:
            outcome[row.code] = "unchanged"
            continue
        ids[row.code] = await grid_store.upsert(tx, row.code, _level(row), *new)
        outcome[row.code] = "updated" if old else "created"
    for code, position in positions.items():
        if code not in outcome and existing[code][1] != position:
            await grid_store.set_position(tx, existing[code][0].id, position)
    for row in rows:
        changes[outcome[row.code]].append(row.code)
    return changes


def _level(row: _Row) -> Level:
    """The level of a row that passed validation."""
    if row.level is None:
        raise ValueError(f"line {row.line} has no level")
    return row.level


def _depth_first(units: Sequence[GridUnit]) -> Iterator[GridUnit]:
    """Units from the roots down, siblings in the given (position) order."""
    children: dict[int | None, list[GridUnit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    stack = list(reversed(children[None]))
    while stack:
        unit = stack.pop()
        yield unit
        stack.extend(reversed(children[unit.id]))
