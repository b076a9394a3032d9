"""Who sees which figures in the chat (/stats): street administrators the whole street; grid members and duty
holders the units where they hold a role or duty, and those below; residents their community's totals only.
Every unit and report a button names is checked here again (tokens are untrusted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import config
from bot.domain.grid import GridUnit, Level
from bot.domain.people import Person
from bot.features.reports import store as issues
from bot.features.reports.model import Issue
from bot.features.scorecards.model import Kind, Period, Weights
from bot.features.scorecards.service import SCORED_LEVELS, ScoreError, load_weights, may_exclude
from bot.features.scorecards.tokens import Span
from bot.storage import grid
from bot.storage.db import Tx


@dataclass(frozen=True, slots=True)
class Viewer:
    """What one person may see: `roots` the scored units their figures start at (nearest the street first; the
    street alone for administrators), `admin` whether they take reports out of scoring, `community` the
    community a resident (no roots) lives in, if any."""

    roots: tuple[GridUnit, ...]
    admin: bool
    community: GridUnit | None = None


async def viewer(tx: Tx, person: Person | None, is_admin: bool) -> Viewer:
    """The viewer `person` is now (read afresh at every step: a role may have been given or taken)."""
    admin = may_exclude(person, is_admin)
    held = [] if person is None else [grant.unit_id for grant in person.roles] + [
        grant.unit_id for grant in person.duties]
    units = [unit for unit in [await grid.by_id(tx, unit_id) for unit_id in held] if unit is not None]
    scored = [unit for unit in units if unit.level in SCORED_LEVELS]
    street = next((unit for unit, _ in await grid.all_units(tx) if unit.level is Level.STREET), None)
    if admin and street is not None:
        scored.append(street)
    roots: list[GridUnit] = []
    for unit in sorted(scored, key=lambda unit: SCORED_LEVELS.index(unit.level)):
        above = {found.id for found in await grid.ancestry(tx, unit.id)}
        if not any(root.id in above for root in roots):
            roots.append(unit)
    if roots or person is None or person.building_id is None:
        return Viewer(tuple(roots), admin)
    home = await grid.ancestry(tx, person.building_id)
    return Viewer((), admin, next((unit for unit in home if unit.level is Level.COMMUNITY), None))


async def unit(tx: Tx, who: Viewer, unit_id: int | None) -> GridUnit:
    """The scored unit `unit_id`, if it lies at or below one of `who`'s roots (else auth.denied)."""
    found = None if unit_id is None else await grid.by_id(tx, unit_id)
    if found is None or found.level not in SCORED_LEVELS or not await _under(tx, who, found.id):
        raise ScoreError("auth.denied")
    return found


async def may_see(tx: Tx, who: Viewer, unit_id: int) -> bool:
    """Whether `unit` would let `who` see `unit_id`."""
    try:
        await unit(tx, who, unit_id)
    except ScoreError:
        return False
    return True


async def report(tx: Tx, who: Viewer, place: GridUnit, issue_id: int | None) -> Issue:
    """The report `issue_id`, if it is located at or below `place` and `place` is `who`'s to see."""
    await unit(tx, who, place.id)
    found = None if issue_id is None else await issues.get(tx, issue_id)
    if found is None or place.id not in {above.id for above in await grid.ancestry(tx, found.unit_id)}:
        raise ScoreError("auth.denied")
    return found


async def _under(tx: Tx, who: Viewer, unit_id: int) -> bool:
    above = {found.id for found in await grid.ancestry(tx, unit_id)}
    return any(root.id in above for root in who.roots)


def period(span: Span, now: datetime, timezone: str) -> Period:
    """The period `span` names, as of `now` in the street's time zone."""
    if span is Span.LAST_WEEK:
        return Period.containing(now, Kind.WEEK, timezone).previous()
    kind = {Span.THIS_WEEK: Kind.WEEK, Span.THIS_MONTH: Kind.MONTH, Span.THIS_HALF: Kind.HALF}[span]
    return Period.containing(now, kind, timezone)


def weights() -> Weights:
    """The street's scoring weights, as the bot was started with them (JINLIN_SCORE_WEIGHTS, environment then
    .env), so the chat ranks as the office exports do."""
    return load_weights(config.load().score_weights)
