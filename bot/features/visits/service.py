"""两联 visits: a party member logs a visit to a household they look after (上门 / 电话 / 微信, a note in words or
a voice note, an optional photo); a need raised in it is filed as a report on the household's behalf — its
registered resident is the reporter (told, kept informed, asked to rate), or the member when nobody is registered.

Each household is due a visit a quarter after the last (or after it was first linked), a month once flagged. Every
Monday at 09:00 (held past quiet hours) each branch (小区党支部) secretary gets the branch's overdue households:
one `scheduled_jobs` row per branch, the next week's written when it fires. Coverage (households visited in a
period ÷ linked households) feeds the scorecards. Visit notes are read by the member and their branch secretary
only, never exported, scored or broadcast. Every action re-checks rights."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Reply
from bot.domain.people import Person, Role
from bot.domain.quiet import QuietHours
from bot.domain.refusal import Refusal
from bot.features.contacts import service as contacts
from bot.features.contacts.model import Household
from bot.features.reports import service as reports
from bot.features.reports import store as issues
from bot.features.reports.model import EventKind, Issue
from bot.features.reports.timers import quiet_hours
from bot.features.visits import notices, store
from bot.features.visits.model import Coverage, Mode, Overdue, Rhythm, Send, Span, Visit
from bot.services import jobs, notify
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Job, Subject

QUARTERLY = timedelta(days=91)
MONTHLY = timedelta(days=30)
NOTE_MAX = 500
ROUND_DAY, ROUND_TIME = 0, time(9, 0)  # the overdue list: Mondays at 09:00, the street's time
RECENT = 10  # visits listed on a page


class VisitError(Refusal):
    """A refused action on a visit or a household's rhythm."""


# ------------------------------------------------------------------------------------------ the rhythm


async def _rhythms(tx: Tx, linked: dict[Household, int], now: datetime) -> list[Rhythm]:
    tracked = await store.track(tx, list(linked), now)
    last = await store.last_visits(tx, [tracked[household][0] for household in linked])
    rhythms = []
    for household, unit_id in linked.items():
        household_id, since, monthly = tracked[household]
        seen = last.get(household_id)
        rhythms.append(Rhythm(household_id, household, unit_id, monthly, seen,
                              (seen or since) + (MONTHLY if monthly else QUARTERLY)))
    return rhythms


async def rhythms_of(tx: Tx, person: Person | None, now: datetime) -> list[Rhythm]:
    """The households a party member looks after, with when each is due (soonest first)."""
    if not contacts.is_member(person):
        raise VisitError("auth.denied")
    assert person is not None
    linked = await contacts.looked_after(tx, contacts.member_units(person))
    return sorted(await _rhythms(tx, linked, now), key=lambda rhythm: rhythm.next_due)


async def own_household(tx: Tx, person: Person | None, household_id: int, now: datetime) -> Rhythm:
    """One of the member's households (a pressed button is untrusted)."""
    found = next((rhythm for rhythm in await rhythms_of(tx, person, now) if rhythm.household_id == household_id),
                 None)
    if found is None:
        raise VisitError("auth.denied")
    return found


async def set_monthly(tx: Tx, person: Person | None, household_id: int, monthly: bool, now: datetime) -> Rhythm:
    """Flag the household for monthly visits (or back to quarterly): its member or their branch secretary."""
    household = await store.household(tx, household_id)
    if household is None or person is None:
        raise VisitError("auth.denied")
    contact = await contacts.contact_of(tx, household.building_id, household.room)
    if contact is None or (contact.member_id != person.id and not await _secretary_of(tx, person, household)):
        raise VisitError("auth.denied")
    await store.set_monthly(tx, household_id, monthly)
    [rhythm] = await _rhythms(tx, {household: contact.unit_id}, now)
    return rhythm


# ------------------------------------------------------------------------------------------------ visits


def clean_note(text: str) -> str:
    note = text.strip()
    if not note:
        raise VisitError("visit.error.empty", retry=True)
    if len(note) > NOTE_MAX:
        raise VisitError("visit.error.too_long", retry=True, limit=NOTE_MAX)
    return note


async def log(tx: Tx, person: Person | None, household_id: int, mode: Mode, note: str, voice: str, photo: str,
              now: datetime) -> Visit:
    """The member's visit to one of their households (a note in words, or a voice note)."""
    rhythm = await own_household(tx, person, household_id, now)
    assert person is not None
    words = "" if voice and not note.strip() else clean_note(note)
    visit_id = await store.add(tx, household_id=rhythm.household_id, member_id=person.id, unit_id=rhythm.unit_id,
                               mode=mode, note=words, voice_ref=voice, photo_ref=photo, now=now)
    visit = await store.get(tx, visit_id)
    assert visit is not None
    return visit


async def raise_need(tx: Tx, person: Person | None, visit_id: int, category: str, text: str, voice: str,
                     now: datetime, timezone: str) -> Issue:
    """File the need raised in the member's visit as a report at the household's building: reported by the
    household's registered resident (the others registered there follow it), who is told; by the member when
    nobody is registered. The report's trail records that the member filed it in a visit."""
    visit = await store.get(tx, visit_id)
    if visit is None or person is None or visit.member_id != person.id:
        raise VisitError("auth.denied")
    if visit.issue_id is not None:
        raise VisitError("visit.error.filed")
    await own_household(tx, person, visit.household_id, now)
    home = visit.household
    residents = [resident for resident in await people.living_in(tx, home.building_id, [home.room])
                 if resident != person.id]
    reporter = await people.by_id(tx, residents[0]) if residents else person
    assert reporter is not None
    draft = reports.Draft(category=category, description=text.strip(), unit_id=visit.household.building_id,
                          voice_ref=voice, photos=(visit.photo_ref,) if visit.photo_ref else ())
    issue = await reports.submit(tx, reporter, draft, now, timezone)
    card = await contacts.card_of(tx, person)
    await issues.record(tx, issue.id, kind=EventKind.NOTE, actor_id=person.id, now=now,
                        detail=notices.filed_detail(card.name))
    for other in residents[1:]:
        await issues.follow(tx, issue.id, other)
    await store.set_issue(tx, visit.id, issue.id)

    async def render() -> Reply:
        return notices.filed_for_you(issue, card.name)

    await notify.push_all(tx, residents, idempotency=f"visit:{visit.id}:filed", now=now, render=render)
    return issue


async def _secretary_of(tx: Tx, person: Person, household: Household) -> bool:
    """Whether `person` is the secretary of the branch (complex) the household lies in."""
    branch = await branch_of(tx, household.building_id)
    return branch is not None and any(grant.role is Role.COMPLEX_SECRETARY and grant.unit_id == branch.id
                                      for grant in person.roles)


async def branch_of(tx: Tx, unit_id: int) -> GridUnit | None:
    return next((unit for unit in await grid.ancestry(tx, unit_id) if unit.level is Level.COMPLEX), None)


async def read_visit(tx: Tx, person: Person | None, visit_id: int) -> Visit:
    """A visit with its note, for the member who made it or the secretary of its household's branch only."""
    visit = await store.get(tx, visit_id)
    if visit is None or person is None:
        raise VisitError("auth.denied")
    if visit.member_id != person.id and not await _secretary_of(tx, person, visit.household):
        raise VisitError("auth.denied")
    return visit


async def my_visits(tx: Tx, person: Person | None) -> list[Visit]:
    if not contacts.is_member(person):
        raise VisitError("auth.denied")
    assert person is not None
    return await store.by_member(tx, person.id, RECENT)


# ------------------------------------------------------------------------------------ the branch secretary


def secretary_branches(person: Person | None) -> list[int]:
    """The complexes `person` is the secretary (小区党支部书记) of."""
    return [] if person is None else [grant.unit_id for grant in person.roles
                                      if grant.role is Role.COMPLEX_SECRETARY]


async def branch_rhythms(tx: Tx, branch_id: int, now: datetime) -> list[Rhythm]:
    """Every household looked after in the branch, with when it is due."""
    units = await contacts.party_units_under(tx, [branch_id])
    return await _rhythms(tx, await contacts.looked_after(tx, [unit.id for unit in units]), now)


async def overdue(tx: Tx, branch_id: int, now: datetime) -> list[Overdue]:
    """The branch's households past their due visit, longest overdue first, with who looks after them."""
    late = [rhythm for rhythm in await branch_rhythms(tx, branch_id, now) if rhythm.next_due <= now]
    found = [Overdue(rhythm, await contacts.member_at(tx, rhythm.unit_id), (now - rhythm.next_due).days)
             for rhythm in late]
    return sorted(found, key=lambda item: item.rhythm.next_due)


async def branch_page(tx: Tx, person: Person | None, branch_id: int, now: datetime,
                      span: Span) -> tuple[Coverage, list[Overdue], list[Visit]]:
    """For the branch's secretary: coverage over `span`, the overdue households, the latest visits."""
    if branch_id not in secretary_branches(person):
        raise VisitError("auth.denied")
    buildings = [unit.id for unit in await grid.children(tx, branch_id, Level.BUILDING)]
    return ((await coverage(tx, [branch_id], span))[branch_id], await overdue(tx, branch_id, now),
            await store.in_buildings(tx, buildings, RECENT))


# ------------------------------------------------------------------------------------------------- coverage


async def coverage(tx: Tx, unit_ids: list[int], period: Span) -> dict[int, Coverage]:
    """For each of `unit_ids` (a branch, a community, the street …): the linked households at or below it (by
    their building) that were visited in `period`, of all of them. Counts only, never a note."""
    by_building = await coverage_by_building(tx, period.start, period.end)
    figures = {}
    for unit_id in unit_ids:
        below = [by_building[place] for place in await grid.subtree(tx, [unit_id]) if place in by_building]
        figures[unit_id] = Coverage(sum(seen.visited for seen in below), sum(seen.linked for seen in below))
    return figures


async def coverage_by_building(tx: Tx, start: datetime, end: datetime) -> dict[int, Coverage]:
    """Each building's households linked to a party member now (their active contact, see contacts) and how many
    of them were visited in [start, end): what the scorecards' 两联走访覆盖率 rolls up."""
    party_units = [unit.id for unit in await grid.children(tx, None, Level.PARTY_HOUSEHOLD)]
    linked = list(await contacts.looked_after(tx, party_units)) if party_units else []
    visited = await store.visited_between(tx, linked, start, end) if linked else set()
    figures: dict[int, Coverage] = {}
    for household in linked:
        seen = figures.get(household.building_id, Coverage(0, 0))
        figures[household.building_id] = Coverage(seen.visited + (household in visited), seen.linked + 1)
    return figures


# ---------------------------------------------------------------------------------------- scheduled rounds


def next_round(after: datetime, timezone: str) -> datetime:
    """The first Monday 09:00 (the street's time) strictly after `after`, in UTC."""
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(ROUND_DAY - local.weekday()) % 7)
    moment = datetime.combine(day, ROUND_TIME, zone)
    if moment <= local:
        moment += timedelta(days=7)
    return moment.astimezone(UTC)


class VisitJobs:
    """The `DueWork` of visits: each branch's weekly overdue list, kept as `scheduled_jobs` rows (one pending per
    branch with party members, written for each that lacks one); a list falling due in `quiet` hours waits for
    their end."""

    def __init__(self, quiet: QuietHours | None) -> None:
        self._quiet = quiet

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        async with db.read() as tx:
            missing = await _unscheduled(tx)
        if missing:
            async with db.write() as tx:
                for branch in await _unscheduled(tx):
                    await scheduled_jobs.schedule(tx, Subject.BRANCH_VISITS, branch, Send.OVERDUE,
                                                  next_round(now, timezone))

        async def fire(tx: Tx, job: Job) -> str:
            return await _fire(tx, job, now, timezone, self._quiet)

        return await jobs.fire_each(db, Subject.BRANCH_VISITS, now, fire)


async def _unscheduled(tx: Tx) -> list[int]:
    """The branches with party members that have no round pending (a branch without any gets none)."""
    pending = await scheduled_jobs.pending_subjects(tx, Subject.BRANCH_VISITS)
    return [branch for branch in await store.branches_with_members(tx) if branch not in pending]


async def _fire(tx: Tx, job: Job, now: datetime, timezone: str, default: QuietHours | None) -> str:
    branch = await grid.by_id(tx, job.subject_id)
    if branch is None or job.kind != Send.OVERDUE:
        return "skipped"
    hours = await quiet_hours(tx, default)
    later = None if hours is None else hours.until(now, timezone)
    if later is not None:  # the same list, once the quiet hours end
        await scheduled_jobs.schedule(tx, Subject.BRANCH_VISITS, branch.id, job.kind, later)
        return "held"
    await scheduled_jobs.schedule(tx, Subject.BRANCH_VISITS, branch.id, job.kind, next_round(now, timezone))
    late = await overdue(tx, branch.id, now)
    secretaries = await people.role_holders(tx, Role.COMPLEX_SECRETARY, branch.id)
    if not late or not secretaries:
        return "skipped"

    async def render() -> Reply:
        return await notices.overdue_list(tx, branch, late)

    await notify.push_all(tx, secretaries, idempotency=f"visits:overdue:{job.id}", now=now, render=render)
    return "sent"
