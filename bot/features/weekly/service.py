"""The weekly Saturday report (周报) of every community, and the street's roll-up.

Each community has a report per week (scorecards' Period of Kind.WEEK: Saturday to Friday). Rows are planned ahead
for every community (at every pass of the scheduler, as meetings plan theirs: a community a grid import adds is
planned at the next pass); at Saturday 08:00 (street time) the week's draft is computed (`draft`), kept with the
row and pushed to the community's secretaries with its chart and spreadsheet; they add the three texts (key work,
what they need from the street, next week's plan) and submit. At 12:00 a report not submitted is late and goes on
the street's 督查 list; it can still be submitted, and stays late. Then the street's administrators (the
street_admin role, which administrators named in the settings hold) get the roll-up of all communities, with its
chart and spreadsheet. Those 08:00 / 12:00 moments are rows of `scheduled_jobs` (`WeeklyJobs` is their source).

The draft's figures, for the community's places (it and everything below it), in the week:

- 新增 new: the week's reports (scorecards' `filed`: not withdrawn, duplicate or excluded);
- 办结 resolved: reports whose latest resolution fell in the week and that are resolved or closed now;
- 超期 overdue: open reports past their deadline now (scorecards' `overdue_now`); 积压 backlog: open reports now;
- Δ on last week: against last week's draft as it was kept; a week never drafted is computed now, its overdue and
  backlog then unknown (no Δ);
- the community's 响应率, 按时办结率 and 满意率, and every unit at or below it whose rate is under its THRESHOLDS
  value (样本不足 and nothing to measure are not "below");
- the top TOP_CATEGORIES categories of the week's reports; 重复 repeats (scorecards' `repeats`) and clusters
  (CLUSTER_MIN or more of the week's reports of one category at one building);
- meetings held (outcomes entered) that began in the week, with their outcomes and attendance; talks scoped at or
  below the community that began in the week, with check-ins and ratings.

Every secretary action re-checks that the person is a secretary of the report's community.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.clock import iso
from bot.domain.grid import GridUnit, Level
from bot.domain.people import Person, Role
from bot.domain.refusal import Refusal
from bot.features.lectures import store as lectures
from bot.features.meetings import store as meetings
from bot.features.scorecards import service as scorecards
from bot.features.scorecards.model import Kind, Period, Ratio, Weights
from bot.features.weekly import notices, store
from bot.features.weekly.model import (
    CLUSTER_MIN,
    MAX_TEXT,
    THRESHOLDS,
    TOP_CATEGORIES,
    Below,
    Cases,
    Cluster,
    Draft,
    Field,
    Job,
    LectureLine,
    MeetingLine,
    Report,
    Rollup,
    Status,
    deadline_at,
    draft_at,
)
from bot.services import jobs, notify
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Subject

SENT, LATE, SKIPPED = "sent", "late", "skipped"  # the jobs' outcomes


class WeeklyError(Refusal):
    """A refused action on a weekly report."""


# ------------------------------------------------------------------------------------------------ time


def weeks_to_plan(now: datetime, timezone: str) -> list[Period]:
    """The week under way, and the week just ended while its deadline is ahead (Saturday morning)."""
    week = Period.containing(now, Kind.WEEK, timezone)
    previous = week.previous()
    return [previous, week] if now < deadline_at(previous) else [week]


# ------------------------------------------------------------------------------------------- the draft


def _rate(value: object) -> float | None:
    """A Ratio's value; None for nothing to measure and for 样本不足."""
    return value.value if isinstance(value, Ratio) else None


async def draft(tx: Tx, community_code: str, week: Period, now: datetime) -> Draft:
    """One community's figures for `week`, as of `now` (read only; see the module's definitions)."""
    unit = await grid.by_code(tx, community_code)
    if unit is None or unit.level is not Level.COMMUNITY:
        raise WeeklyError("weekly.error.unit", unit=community_code[:40])
    places = await grid.subtree(tx, [unit.id])
    card = await scorecards.scorecard(tx, week, now, Weights(), unit.code)
    own = card.rows[0].metrics
    cases = Cases(own.counts.filed, await store.resolved(tx, places, week.start, week.end), own.overdue_now,
                  await store.backlog(tx, places))
    below = tuple(Below(row.unit.code, row.unit.name, name, value) for row in card.rows for name, limit in THRESHOLDS
                  if (value := _rate(getattr(row.metrics, name))) is not None and value < limit)
    clusters = []
    for building_id, category, count in await store.clusters(tx, places, week.start, week.end, CLUSTER_MIN):
        building = await grid.by_id(tx, building_id)
        if building is not None:
            clusters.append(Cluster(building.code, building.name, category, count))
    return Draft(unit.code, unit.name, week.label, cases, await _last(tx, unit.id, places, week),
                 {name: _rate(getattr(own, name)) for name, _ in THRESHOLDS},
                 tuple((await store.categories(tx, places, week.start, week.end))[:TOP_CATEGORIES]), below,
                 own.counts.repeats, tuple(clusters), await _meetings(tx, unit.id, week),
                 await _lectures(tx, places, week))


async def _last(tx: Tx, community_id: int, places: Sequence[int], week: Period) -> Cases:
    """Last week's cases: as drafted then, else computed now (the week's reports counted as scorecards count them;
    overdue and backlog unknown)."""
    previous = week.previous()
    kept = await store.of(tx, community_id, previous.label)
    if kept is not None and kept.draft is not None:
        return kept.draft.cases
    filed = sum(count for _, count in await store.categories(tx, places, previous.start, previous.end))
    return Cases(filed, await store.resolved(tx, places, previous.start, previous.end), None, None)


async def _meetings(tx: Tx, community_id: int, week: Period) -> tuple[MeetingLine, ...]:
    held = []
    for meeting_id in await store.meetings_held(tx, community_id, week.start, week.end):
        meeting = await meetings.meeting(tx, meeting_id)
        if meeting is not None:
            held.append(MeetingLine(iso(meeting.starts_at), meeting.outcome,
                                    len(await meetings.attendees(tx, meeting_id))))
    return tuple(held)


async def _lectures(tx: Tx, places: Sequence[int], week: Period) -> tuple[LectureLine, ...]:
    talks = []
    for lecture in await lectures.in_units(tx, places, week.start, limit=100):
        if lecture.starts_at >= week.end or lecture.cancelled:
            continue
        counts = await lectures.counts(tx, lecture.id)
        average = counts.rating_sum / counts.rated if counts.rated else None
        talks.append(LectureLine(lecture.title, lecture.kind.value, iso(lecture.starts_at), counts.checked_in,
                                 counts.rated, average))
    return tuple(talks)


# -------------------------------------------------------------------------------------------- planning


async def plan(tx: Tx, now: datetime, timezone: str) -> list[int]:
    """Plan the reports of every community for the weeks to plan (and each week's roll-up) that are missing, with
    their draft, deadline and roll-up jobs; the new reports' ids."""
    created: list[int] = []
    if not await grid.children(tx, None, Level.COMMUNITY):
        return created  # no grid yet: nothing to report on, nothing to roll up
    for week in weeks_to_plan(now, timezone):
        for community_id in await store.unplanned(tx, week.label):
            report_id = await store.create(tx, community_id, week.label, now)
            await scheduled_jobs.schedule(tx, Subject.WEEKLY_REPORT, report_id, Job.DRAFT, draft_at(week))
            await scheduled_jobs.schedule(tx, Subject.WEEKLY_REPORT, report_id, Job.DEADLINE, deadline_at(week))
            created.append(report_id)
        if await store.rollup_id(tx, week.label) is None:
            rollup = await store.create_rollup(tx, week.label, now)
            await scheduled_jobs.schedule(tx, Subject.WEEKLY_ROLLUP, rollup, Job.ROLLUP, deadline_at(week))
    return created


async def _unplanned(tx: Tx, now: datetime, timezone: str) -> bool:
    if not await grid.children(tx, None, Level.COMMUNITY):
        return False
    for week in weeks_to_plan(now, timezone):
        if await store.unplanned(tx, week.label) or await store.rollup_id(tx, week.label) is None:
            return True
    return False


class WeeklyJobs:
    """The `DueWork` of weekly reports: plans what is missing, then fires the drafts, the deadlines and the
    roll-ups due, their attachments written under the media `directory`."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        return await fire_due(db, now, timezone, self._directory)


async def fire_due(db: Database, now: datetime, timezone: str, directory: Path) -> int:
    """Plan what is missing, then fire every weekly job due by `now` (the communities' before the roll-ups), each in
    its own transaction; returns how many fired."""
    async with db.read() as tx:
        missing = await _unplanned(tx, now, timezone)
    if missing:
        async with db.write() as tx:
            await plan(tx, now, timezone)
    fired = await jobs.fire_each(db, Subject.WEEKLY_REPORT,
                                 now, lambda tx, job: _fire_report(tx, job.subject_id, job.kind, now, timezone,
                                                                   directory))
    return fired + await jobs.fire_each(db, Subject.WEEKLY_ROLLUP, now,
                                        lambda tx, job: _fire_rollup(tx, job.subject_id, now, timezone, directory))


async def _fire_report(tx: Tx, report_id: int, kind: str, now: datetime, timezone: str, directory: Path) -> str:
    report = await store.get(tx, report_id)
    if report is None:
        return SKIPPED
    if kind == Job.DEADLINE:
        return LATE if await store.mark_late(tx, report.id) else SKIPPED
    unit = await grid.by_id(tx, report.community_id)
    if report.status is not Status.PLANNED or unit is None:
        return SKIPPED
    found = await draft(tx, unit.code, Period.parse(report.period, timezone), now)
    await store.drafted(tx, report.id, found, now)
    drafted = await store.get(tx, report.id)
    assert drafted is not None
    await notify.push_all(tx, await secretaries(tx, report.community_id), idempotency=f"weekly:{report.id}:draft",
                          now=now, render=lambda: notices.draft_push(tx, drafted, found, now, timezone, directory))
    return SENT


async def _fire_rollup(tx: Tx, rollup_id: int, now: datetime, timezone: str, directory: Path) -> str:
    period = await store.rollup_period(tx, rollup_id)
    if period is None:
        return SKIPPED
    found = await rollup(tx, period)
    await store.mark_rollup_sent(tx, rollup_id, now)
    await notify.push_all(tx, await street_admins(tx), idempotency=f"weekly:rollup:{period}", now=now,
                          render=lambda: notices.rollup_push(tx, found, timezone, directory))
    return SENT


async def rollup(tx: Tx, period: str) -> Rollup:
    """Every community's report of `period`, in the grid's order."""
    return Rollup(period, tuple(await store.of_period(tx, period)))


async def week_reports(tx: Tx, week: Period, now: datetime, unit_code: str | None = None
                       ) -> list[tuple[GridUnit, Report]]:
    """Every community's report of `week` (only `unit_code`'s when given), in the grid's order, for the office
    tool: as kept once drafted, else with its draft computed now."""
    communities = await grid.children(tx, None, Level.COMMUNITY)
    if unit_code is not None:
        communities = [unit for unit in communities if unit.code == unit_code]
        if not communities:
            raise WeeklyError("weekly.error.unit", unit=unit_code[:40])
    found = []
    for unit in communities:
        report = await store.of(tx, unit.id, week.label)
        if report is None or report.draft is None:
            live = await draft(tx, unit.code, week, now)
            report = (replace(report, draft=live) if report is not None else
                      Report(0, unit.id, week.label, Status.PLANNED, live, dict.fromkeys(Field, ""), None, None, None))
        found.append((unit, report))
    return found


# ------------------------------------------------------------------------------------------ who is who


async def secretaries(tx: Tx, community_id: int) -> list[int]:
    return await people.role_holders(tx, Role.COMMUNITY_SECRETARY, community_id)


async def street_admins(tx: Tx) -> list[int]:
    """Who gets the roll-up: the holders of the street's role (administrators named in the settings hold it)."""
    streets = await grid.children(tx, None, Level.STREET)
    return await people.role_holders(tx, Role.STREET_ADMIN, streets[0].id) if streets else []


def sees_rollup(person: Person | None, is_admin: bool) -> bool:
    return is_admin or (person is not None and any(grant.role is Role.STREET_ADMIN for grant in person.roles))


async def own_report(tx: Tx, report_id: int, person: Person | None) -> Report:
    """The report, if `person` is a secretary of its community and it has been drafted."""
    report = await store.get(tx, report_id)
    if report is None or person is None or person.id not in await secretaries(tx, report.community_id):
        raise WeeklyError("auth.denied")
    if report.status is Status.PLANNED:
        raise WeeklyError("weekly.error.not_drafted")
    return report


async def current_for(tx: Tx, person: Person | None) -> Report | None:
    """The latest drafted report of a community `person` is a secretary of."""
    if person is None:
        return None
    for grant in person.roles:
        if grant.role is Role.COMMUNITY_SECRETARY and person.id in await secretaries(tx, grant.unit_id):
            found = await store.latest_drafted(tx, grant.unit_id)
            if found is not None:
                return found
    return None


def is_secretary(person: Person | None) -> bool:
    return person is not None and any(grant.role is Role.COMMUNITY_SECRETARY for grant in person.roles)


async def latest_rollup(tx: Tx, person: Person | None, is_admin: bool) -> Rollup | None:
    """The latest week whose roll-up went out, for a street administrator."""
    if not sees_rollup(person, is_admin):
        raise WeeklyError("auth.denied")
    period = await store.latest_rollup(tx)
    return None if period is None else await rollup(tx, period)


# ------------------------------------------------------------------------------------------- secretary


async def editable(tx: Tx, report_id: int, person: Person | None) -> Report:
    """The report, if `person` may still change its texts (not submitted yet)."""
    report = await own_report(tx, report_id, person)
    if report.submitted:
        raise WeeklyError("weekly.error.submitted")
    return report


async def set_text(tx: Tx, report_id: int, person: Person | None, field: Field, text: str) -> Report:
    """One of the three texts, typed by a secretary of the community before submitting."""
    report = await editable(tx, report_id, person)
    text = text.strip()
    if not text:
        raise WeeklyError("weekly.error.empty", retry=True)
    if len(text) > MAX_TEXT:
        raise WeeklyError("weekly.error.too_long", retry=True, limit=MAX_TEXT)
    await store.set_text(tx, report.id, field, text)
    changed = await store.get(tx, report.id)
    assert changed is not None
    return changed


async def submit(tx: Tx, report_id: int, person: Person | None, now: datetime, timezone: str) -> Report:
    """Submit, once the three texts are there: on time before the deadline, else it stays late (the street's
    administrators are told of a late one)."""
    report = await editable(tx, report_id, person)
    assert person is not None
    missing = [name for name in Field if not report.texts[name].strip()]
    if missing:
        raise WeeklyError("weekly.error.incomplete", missing=notices.field_names(missing))
    week = Period.parse(report.period, timezone)
    late = report.status is Status.LATE or now >= deadline_at(week)
    await store.submitted(tx, report.id, Status.LATE if late else Status.SUBMITTED, person.id, now)
    done = await store.get(tx, report.id)
    assert done is not None
    if late:
        await notify.push_all(tx, await street_admins(tx), idempotency=f"weekly:{report.id}:late_submitted",
                              now=now, render=lambda: notices.late_submitted(tx, done, now, timezone))
    return done
