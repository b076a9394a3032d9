"""一评议: a branch's (小区党支部) evaluation round, twice a year, open for 7 days. Residents rate the party member
(党员中心户) they are linked to; members rate each other and their branch; one ballot per voter and target, never
oneself. Ballots are anonymous in storage (see migration 022). Once the round closes, totals are shown from
`model.THRESHOLD` ballots up, each member sees only their own result, and the branch's secretary records each member's
determination (优秀 for at most a third of the members, rounded down).

A round's open, reminder and close are rows of `scheduled_jobs`, fired by `EvaluationJobs`; the open push and the
reminder wait for the end of quiet hours. Opening a round and recording determinations is for the branch's
secretary (Role.COMPLEX_SECRETARY there) and street administrators; every action re-checks who may take it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Reply
from bot.domain.people import Person, Role
from bot.domain.quiet import QuietHours
from bot.domain.refusal import Refusal
from bot.features.contacts import service as contacts
from bot.features.evaluations import notices, store
from bot.features.evaluations.model import Grade, Result, Round, RoundStatus, Step, Target, TargetKind
from bot.features.reports.timers import quiet_hours
from bot.services import jobs, notify
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Job, Subject

OPEN_FOR = timedelta(days=7)
REMIND_BEFORE = timedelta(days=1)  # the reminder, this long before the close
EXCELLENT_SHARE = 3  # 优秀 for at most ⌊members / 3⌋ members
COMMENT_MAX = 200


class EvaluationError(Refusal):
    """A refused action in an evaluation round."""


def half_of(moment: datetime, timezone: str) -> tuple[int, int]:
    """(year, 1 or 2): the half-year `moment` falls in, in the street's time."""
    local = moment.astimezone(ZoneInfo(timezone))
    return local.year, 1 if local.month <= 6 else 2


def excellent_cap(members: int) -> int:
    """How many members may be determined 优秀: a third, rounded down (3 → 1, 5 → 1, 6 → 2; 2 → none)."""
    return members // EXCELLENT_SHARE


# ----------------------------------------------------------------------------------------- who is who


def is_street_admin(person: Person | None, is_admin: bool) -> bool:
    return is_admin or (person is not None and any(grant.role is Role.STREET_ADMIN for grant in person.roles))


async def managed_branches(tx: Tx, person: Person | None, is_admin: bool) -> list[GridUnit]:
    """The branches someone may open rounds for and record determinations in: every complex for street
    administrators, the complexes where they are secretary for complex secretaries, none for anyone else."""
    if is_street_admin(person, is_admin):
        return await grid.children(tx, None, Level.COMPLEX)
    if person is None:
        return []
    units = [await grid.by_id(tx, grant.unit_id) for grant in person.roles if grant.role is Role.COMPLEX_SECRETARY]
    return [unit for unit in units if unit is not None]


async def managed_branch(tx: Tx, person: Person | None, is_admin: bool, branch_id: int) -> GridUnit:
    found = next((unit for unit in await managed_branches(tx, person, is_admin) if unit.id == branch_id), None)
    if found is None:
        raise EvaluationError("auth.denied")
    return found


async def _members(tx: Tx, branch_id: int) -> list[tuple[int, int, str]]:
    """(person id, household unit id, name) of the branch's party members now."""
    return await store.party_members(tx, await grid.subtree(tx, [branch_id]))


async def _linked_residents(tx: Tx, member: Target) -> list[int]:
    """The residents linked to a member target: the people living in the households whose active contact is the
    member's 党员中心户 (contacts: the chat's assignment, else the grid's `linked_households`), never the member."""
    if member.person_id is None or member.household_id is None:
        return []
    found: list[int] = []
    for household in await contacts.looked_after(tx, [member.household_id]):
        found += [person_id for person_id in await people.living_in(tx, household.building_id, [household.room])
                  if person_id != member.person_id and person_id not in found]
    return found


async def _branches_of(tx: Tx, person: Person) -> list[int]:
    """The branches a person may have a say in: the complex of their home and of every 党员中心户 they hold."""
    units = [grant.unit_id for grant in person.roles if grant.role is Role.PARTY_MEMBER]
    if person.building_id is not None:
        units.append(person.building_id)
    found: list[int] = []
    for unit_id in units:
        complex_ = next((unit for unit in await grid.ancestry(tx, unit_id) if unit.level is Level.COMPLEX), None)
        if complex_ is not None and complex_.id not in found:
            found.append(complex_.id)
    return found


async def eligible(tx: Tx, round_: Round, person: Person) -> list[Target]:
    """What `person` may rate in the round: as one of its members, every other member and the branch; as a
    resident, the members they are linked to. Never themself."""
    targets = await store.targets(tx, round_.id)
    is_member = any(target.kind is TargetKind.MEMBER and target.person_id == person.id for target in targets)
    allowed = []
    for target in targets:
        if target.kind is TargetKind.BRANCH:
            if is_member:
                allowed.append(target)
        elif target.person_id is not None and target.person_id != person.id and (
                is_member or person.id in await _linked_residents(tx, target)):
            allowed.append(target)
    return allowed


async def _voters(tx: Tx, round_: Round) -> list[int]:
    """Everyone who may vote in the round: its members and the residents linked to them."""
    found: list[int] = []
    for target in await store.targets(tx, round_.id):
        if target.kind is TargetKind.MEMBER and target.person_id is not None:
            for person_id in [target.person_id, *await _linked_residents(tx, target)]:
                if person_id not in found:
                    found.append(person_id)
    return found


# ---------------------------------------------------------------------------------------------- opening


async def open_round(tx: Tx, branch_id: int, person: Person | None, is_admin: bool, now: datetime,
                     timezone: str) -> Round:
    """This half-year's round of the branch, opening now (its open job waits for the end of quiet hours)."""
    branch = await managed_branch(tx, person, is_admin, branch_id)
    return await _create(tx, branch, person, now, timezone)


async def open_all(tx: Tx, person: Person | None, is_admin: bool, now: datetime, timezone: str) -> int:
    """This half-year's round of every branch that has party members and no round this half yet (street
    administrators only); returns how many were opened."""
    if not is_street_admin(person, is_admin):
        raise EvaluationError("auth.denied")
    year, half = half_of(now, timezone)
    opened = 0
    for branch in await grid.children(tx, None, Level.COMPLEX):
        if await _members(tx, branch.id) and await _this_half(tx, branch.id, year, half) is None:
            await _create(tx, branch, person, now, timezone)
            opened += 1
    return opened


async def _this_half(tx: Tx, branch_id: int, year: int, half: int) -> Round | None:
    latest = await store.latest_round(tx, branch_id)
    return latest if latest is not None and (latest.year, latest.half) == (year, half) else None


async def _create(tx: Tx, branch: GridUnit, person: Person | None, now: datetime, timezone: str) -> Round:
    if not await _members(tx, branch.id):
        raise EvaluationError("evaluation.error.no_members", branch=branch.name)
    year, half = half_of(now, timezone)
    round_id = await store.create_round(tx, branch_id=branch.id, year=year, half=half, opens_at=now,
                                        closes_at=now + OPEN_FOR,
                                        created_by="admin" if person is None else f"person:{person.id}")
    if round_id is None:
        raise EvaluationError("evaluation.error.exists", branch=branch.name, period=notices.period(year, half))
    await scheduled_jobs.schedule(tx, Subject.EVALUATION, round_id, Step.OPEN, now)
    return await _round(tx, round_id)


async def _round(tx: Tx, round_id: int) -> Round:
    found = await store.get_round(tx, round_id)
    if found is None:
        raise EvaluationError("evaluation.error.unknown")
    return found


async def branch_page(tx: Tx, branch_id: int, person: Person | None, is_admin: bool) -> tuple[GridUnit,
                                                                                               Round | None, int]:
    """For the branch's managers: the branch, its latest round, and how many have voted in it."""
    branch = await managed_branch(tx, person, is_admin, branch_id)
    latest = await store.latest_round(tx, branch.id)
    return branch, latest, 0 if latest is None else await store.voters(tx, latest.id)


# ----------------------------------------------------------------------------------------------- voting


async def _open(tx: Tx, round_id: int, now: datetime) -> Round:
    round_ = await _round(tx, round_id)
    if not round_.is_open or now >= round_.closes_at:
        raise EvaluationError("evaluation.error.closed" if round_.status is not RoundStatus.SCHEDULED
                              else "evaluation.error.not_open")
    return round_


async def ballots_left(tx: Tx, round_id: int, person: Person, now: datetime) -> list[Target]:
    """What the person may still rate in the open round (refused to someone who may rate nothing in it)."""
    round_ = await _open(tx, round_id, now)
    allowed = await eligible(tx, round_, person)
    if not allowed:
        raise EvaluationError("auth.denied")
    return await _unrated(tx, round_, person, allowed)


async def _unrated(tx: Tx, round_: Round, person: Person, allowed: list[Target]) -> list[Target]:
    voted = await store.voted_on(tx, round_.id, person.id)
    return [target for target in allowed if target.id not in voted]


async def votable(tx: Tx, target_id: int, person: Person, now: datetime) -> Target:
    """The target, if the person may rate it now: its round open, the target theirs to rate, not rated yet."""
    target = await store.target(tx, target_id)
    if target is None:
        raise EvaluationError("evaluation.error.unknown")
    round_ = await _open(tx, target.round_id, now)
    if target.person_id == person.id:
        raise EvaluationError("evaluation.error.self")
    if target.id not in {allowed.id for allowed in await eligible(tx, round_, person)}:
        raise EvaluationError("auth.denied")
    if target.id in await store.voted_on(tx, round_.id, person.id):
        raise EvaluationError("evaluation.error.voted")
    return target


async def vote(tx: Tx, target_id: int, person: Person, grade: Grade, comment: str, now: datetime) -> Target:
    """Cast the person's one ballot on the target (rights checked again): participation and the anonymous ballot
    in this transaction."""
    target = await votable(tx, target_id, person, now)
    text = comment.strip()
    if len(text) > COMMENT_MAX:
        raise EvaluationError("evaluation.error.too_long", retry=True, limit=COMMENT_MAX)
    if not await store.cast(tx, target.round_id, target.id, person.id, grade, text):
        raise EvaluationError("evaluation.error.voted")
    return target


async def open_rounds_for(tx: Tx, person: Person, now: datetime) -> list[tuple[Round, GridUnit, int]]:
    """(round, branch, ballots left) of the open rounds the person may vote in."""
    found = []
    for branch_id in await _branches_of(tx, person):
        round_ = await store.latest_round(tx, branch_id, RoundStatus.OPEN)
        branch = await grid.by_id(tx, branch_id)
        if round_ is None or branch is None or now >= round_.closes_at or not await eligible(tx, round_, person):
            continue
        found.append((round_, branch, len(await ballots_left(tx, round_.id, person, now))))
    return found


# ---------------------------------------------------------------------------------------------- results


async def own_result(tx: Tx, target_id: int, person: Person) -> Result:
    """A member's own result in a closed round; nobody else's."""
    target = await store.target(tx, target_id)
    if target is None or target.kind is not TargetKind.MEMBER or target.person_id != person.id:
        raise EvaluationError("auth.denied")
    round_ = await _round(tx, target.round_id)
    if round_.status is not RoundStatus.CLOSED:
        raise EvaluationError("evaluation.error.not_closed")
    return Result(round_, target, await store.tally(tx, target.id))


async def own_results(tx: Tx, person: Person) -> list[Result]:
    """The member's results in every closed round, newest first."""
    results = []
    for target in await store.targets_of_person(tx, person.id):
        round_ = await _round(tx, target.round_id)
        if round_.status is RoundStatus.CLOSED:
            results.append(Result(round_, target, await store.tally(tx, target.id)))
    return results


async def round_results(tx: Tx, round_id: int, person: Person | None, is_admin: bool) -> tuple[GridUnit,
                                                                                                list[Result]]:
    """For the branch's managers, once the round has closed: every target's totals (the threshold applies when
    they are shown) and determinations."""
    round_ = await _round(tx, round_id)
    branch = await managed_branch(tx, person, is_admin, round_.branch_id)
    if round_.status is not RoundStatus.CLOSED:
        raise EvaluationError("evaluation.error.not_closed")
    return branch, [Result(round_, target, await store.tally(tx, target.id))
                    for target in await store.targets(tx, round_.id)]


async def determinable(tx: Tx, target_id: int, person: Person | None, is_admin: bool) -> Target:
    """A member of a closed round whose determination this person may record."""
    target = await store.target(tx, target_id)
    if target is None or target.kind is not TargetKind.MEMBER:
        raise EvaluationError("auth.denied")
    await round_results(tx, target.round_id, person, is_admin)
    return target


async def determine(tx: Tx, target_id: int, grade: Grade, person: Person | None, is_admin: bool,
                    now: datetime) -> Target:
    """Record (or change) a member's determination; 优秀 for at most a third of the round's members, rounded down.
    The member is told privately."""
    target = await determinable(tx, target_id, person, is_admin)
    if grade is Grade.EXCELLENT:
        members = sum(1 for each in await store.targets(tx, target.round_id) if each.kind is TargetKind.MEMBER)
        cap = excellent_cap(members)
        if await store.determined(tx, target.round_id, Grade.EXCELLENT, besides=target.id) >= cap:
            raise EvaluationError("evaluation.error.excellent_cap", cap=cap, members=members)
    await store.set_determination(tx, target.id, grade)
    if target.person_id is not None and target.determination is not grade:
        changed = await store.target(tx, target.id)
        assert changed is not None
        round_ = await _round(tx, target.round_id)

        async def render() -> Reply:
            return notices.determined(round_, changed)

        await notify.push_reply(tx, person_id=target.person_id, idempotency=f"evaluation:{target.id}:{grade}",
                                now=now, render=render)
    return target


# ------------------------------------------------------------------------------------- scheduled work


class EvaluationJobs:
    """The `DueWork` source of rounds: opening (with its push), the reminder a day before the close, and the
    close; the open push and the reminder wait, as new rows, for the end of `quiet` hours."""

    def __init__(self, quiet: QuietHours | None) -> None:
        self._quiet = quiet

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        async def fire(tx: Tx, job: Job) -> str:
            round_ = await store.get_round(tx, job.subject_id)
            if round_ is None:
                return "skipped"
            if job.kind in (Step.OPEN, Step.REMIND):
                hours = await quiet_hours(tx, self._quiet)
                later = None if hours is None else hours.until(now, timezone)
                if later is not None:
                    await scheduled_jobs.schedule(tx, Subject.EVALUATION, round_.id, job.kind, later)
                    return "held"
            if job.kind == Step.OPEN:
                return await _fire_open(tx, round_, now, timezone)
            if job.kind == Step.REMIND:
                return await _fire_remind(tx, round_, now, timezone)
            if job.kind == Step.CLOSE:
                return await _fire_close(tx, round_, now)
            return "skipped"

        return await jobs.fire_each(db, Subject.EVALUATION, now, fire)


async def _fire_open(tx: Tx, round_: Round, now: datetime, timezone: str) -> str:
    """The round opens now for 7 days: its targets are the branch's members now and the branch; every voter is
    told."""
    if round_.status is not RoundStatus.SCHEDULED:
        return "skipped"
    members = await _members(tx, round_.branch_id)
    branch = await grid.by_id(tx, round_.branch_id)
    if not members or branch is None:
        await store.set_status(tx, round_.id, RoundStatus.CLOSED, RoundStatus.SCHEDULED)
        return "skipped"
    for person_id, household_id, name in members:
        await store.add_target(tx, round_.id, TargetKind.MEMBER, person_id=person_id, household_id=household_id,
                               name=name)
    await store.add_target(tx, round_.id, TargetKind.BRANCH, name=branch.name)
    closes_at = now + OPEN_FOR
    await store.open_window(tx, round_.id, now, closes_at)
    await scheduled_jobs.schedule(tx, Subject.EVALUATION, round_.id, Step.REMIND, closes_at - REMIND_BEFORE)
    await scheduled_jobs.schedule(tx, Subject.EVALUATION, round_.id, Step.CLOSE, closes_at)
    opened = await _round(tx, round_.id)

    async def render() -> Reply:
        return notices.opened(opened, branch, timezone, now)

    await notify.push_all(tx, await _voters(tx, opened), idempotency=f"evaluation:{round_.id}:open", now=now,
                          render=render)
    return "sent"


async def _fire_remind(tx: Tx, round_: Round, now: datetime, timezone: str) -> str:
    """Those who still have someone to rate, while the round is open."""
    branch = await grid.by_id(tx, round_.branch_id)
    if not round_.is_open or now >= round_.closes_at or branch is None:
        return "skipped"
    waiting = []
    for person_id in await _voters(tx, round_):
        person = await people.by_id(tx, person_id)
        if person is not None and await _unrated(tx, round_, person, await eligible(tx, round_, person)):
            waiting.append(person_id)  # (someone who moved away since the open is no longer a voter)

    async def render() -> Reply:
        return notices.reminder(round_, branch, timezone, now)

    await notify.push_all(tx, waiting, idempotency=f"evaluation:{round_.id}:remind", now=now, render=render)
    return "sent"


async def _fire_close(tx: Tx, round_: Round, now: datetime) -> str:
    """The round closes: the branch's secretaries (else the street's administrators) are asked to record the
    determinations, and each member gets their own result."""
    if not await store.set_status(tx, round_.id, RoundStatus.CLOSED, RoundStatus.OPEN):
        return "skipped"
    closed = await _round(tx, round_.id)
    branch = await grid.by_id(tx, round_.branch_id)
    if branch is None:
        return "skipped"
    managers = await people.role_holders(tx, Role.COMPLEX_SECRETARY, branch.id)
    if not managers:
        streets = await grid.children(tx, None, Level.STREET)
        managers = [] if not streets else await people.role_holders(tx, Role.STREET_ADMIN, streets[0].id)

    async def to_managers() -> Reply:
        return notices.closed(closed, branch)

    await notify.push_all(tx, managers, idempotency=f"evaluation:{round_.id}:closed", now=now, render=to_managers)
    for target in await store.targets(tx, round_.id):
        if target.kind is TargetKind.MEMBER and target.person_id is not None:
            result = Result(closed, target, await store.tally(tx, target.id))

            async def own(result: Result = result) -> Reply:
                return notices.own_result(result, branch)

            await notify.push_reply(tx, person_id=target.person_id, idempotency=f"evaluation:{target.id}:result",
                                    now=now, render=own)
    return "sent"
