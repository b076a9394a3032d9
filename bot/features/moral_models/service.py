"""道德模范评选 (moral-model campaigns), twice a year: residents nominate a neighbour with a story and a photo; the
nominee consents before anyone else sees it; the reviewer (the community's secretary, the street's administrators
for a street-wide campaign) approves or rejects each with a reason; 公示 for 7 days, in which anyone in scope may
object and the reviewer may take a nomination down; a vote of one ballot per resident per category, never for
oneself, its counts shown to nobody before the close; then the reviewer confirms the 表彰 list and everyone in
scope hears it.

The phase changes are rows of `scheduled_jobs` fired by `CampaignJobs`; the reminder before the vote closes waits
out quiet hours. A burst of votes from accounts registered after the campaign opened (BURST_VOTES for one nomination
within BURST_WINDOW) is flagged to the reviewer, in a push and on the review screen. Every action re-checks who may
take it: the tokens that lead here are untrusted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Reply
from bot.domain.people import Person, Role
from bot.domain.quiet import QuietHours
from bot.domain.refusal import Refusal
from bot.features.lectures.store import residents_in
from bot.features.moral_models import notices, store
from bot.features.moral_models.model import Campaign, Category, Nomination, Phase, Status, Step
from bot.features.reports.timers import quiet_hours
from bot.services import jobs, notify
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Job, Subject

DEFAULT_DAYS = (14, 7, 7, 7)  # nominations, review, 公示, vote
MAX_DAYS = 60
PHASE_ENDS_AT = time(9, 0)  # each phase ends at this street-local time, so its pushes come in the morning
REMIND_BEFORE = timedelta(days=1)
BURST_VOTES = 5  # this many votes for one nomination from new accounts …
BURST_MINUTES = 60  # … within this many minutes is flagged
BURST_WINDOW = timedelta(minutes=BURST_MINUTES)
LIMITS = {"title": 40, "story": 800, "reason": 200, "objection": 500}
REVIEWABLE = (Status.CONSENTED, Status.APPROVED, Status.REJECTED, Status.REMOVED)  # consent was given
BEFORE_PUBLICITY = (Phase.NOMINATING, Phase.REVIEWING)
PUBLIC = (Phase.PUBLICIZING, Phase.VOTING, Phase.CLOSED, Phase.HONOURED)


class ModelError(Refusal):
    """A refused action in a moral-model campaign; `retry` where what was typed can be fixed."""


# ------------------------------------------------------------------------------------------------ rights


def _street_admin(person: Person | None, is_admin: bool) -> bool:
    return is_admin or (person is not None and any(grant.role is Role.STREET_ADMIN for grant in person.roles))


def may_create(person: Person | None, is_admin: bool) -> bool:
    """Street administrators open campaigns."""
    return _street_admin(person, is_admin)


async def is_reviewer(tx: Tx, person: Person | None, is_admin: bool, campaign: Campaign) -> bool:
    """The community's secretary reviews a community's campaign; the street's administrators a street-wide one."""
    unit = await grid.by_id(tx, campaign.unit_id)
    if unit is None:
        return False
    if unit.level is Level.STREET:
        return _street_admin(person, is_admin)
    return person is not None and any(grant.role is Role.COMMUNITY_SECRETARY and grant.unit_id == unit.id
                                      for grant in person.roles)


async def _reviewers(tx: Tx, campaign: Campaign) -> list[int]:
    unit = await grid.by_id(tx, campaign.unit_id)
    role = Role.STREET_ADMIN if unit is not None and unit.level is Level.STREET else Role.COMMUNITY_SECRETARY
    return await people.role_holders(tx, role, campaign.unit_id)


async def in_scope(tx: Tx, person: Person | None, campaign: Campaign) -> bool:
    """The person lives in the campaign's street or community."""
    if person is None or person.building_id is None:
        return False
    return any(unit.id == campaign.unit_id for unit in await grid.ancestry(tx, person.building_id))


async def _residents(tx: Tx, campaign: Campaign) -> list[int]:
    return await residents_in(tx, await grid.subtree(tx, [campaign.unit_id]))


# --------------------------------------------------------------------------------------------- campaigns


async def scopes(tx: Tx) -> list[GridUnit]:
    """What a campaign may be for: the whole street, or one community."""
    streets = await grid.children(tx, None, Level.STREET)
    communities = await grid.children(tx, streets[0].id, Level.COMMUNITY) if streets else []
    return [*streets, *communities]


def clean(field: str, text: str) -> str:
    """A typed title, story, reason or objection, trimmed and checked."""
    value = " ".join(text.split()) if field == "title" else text.strip()
    if not value:
        raise ModelError("moral.error.empty", retry=True)
    if len(value) > LIMITS[field]:
        raise ModelError("moral.error.too_long", retry=True, limit=LIMITS[field])
    return value


def parse_days(text: str) -> tuple[int, ...]:
    """Four whole numbers of days ("14 7 7 7"): nominations, review, 公示, vote."""
    parts = text.replace(",", " ").replace("，", " ").split()
    if len(parts) != 4 or not all(part.isdigit() for part in parts):
        raise ModelError("moral.error.days", retry=True, most=MAX_DAYS)
    days = tuple(int(part) for part in parts)
    if not all(1 <= value <= MAX_DAYS for value in days):
        raise ModelError("moral.error.days", retry=True, most=MAX_DAYS)
    return days


def phase_ends(now: datetime, days: Sequence[int], timezone: str) -> list[datetime]:
    """When each phase ends (UTC): `days` after the one before, at PHASE_ENDS_AT street-local time."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    ends = []
    for length in days:
        day += timedelta(days=length)
        ends.append(datetime.combine(day, PHASE_ENDS_AT, tzinfo=zone).astimezone(UTC))
    return ends


async def create(tx: Tx, title: str, unit_id: int, days: Sequence[int], person: Person | None, is_admin: bool,
                 now: datetime, timezone: str) -> Campaign:
    """A new campaign, its announcement going out at once and every phase change scheduled."""
    if not may_create(person, is_admin):
        raise ModelError("auth.denied")
    if unit_id not in {unit.id for unit in await scopes(tx)}:
        raise ModelError("moral.error.scope")
    ends = phase_ends(now, days, timezone)
    campaign_id = await store.create_campaign(tx, title=clean("title", title), unit_id=unit_id, now=now, ends=ends,
                                              creator_id=None if person is None else person.id)
    nominate, review, publicize, vote = ends
    for step, due in ((Step.ANNOUNCE, now), (Step.REVIEW, nominate), (Step.PUBLICIZE, review),
                      (Step.VOTE, publicize), (Step.REMIND, vote - REMIND_BEFORE), (Step.CLOSE, vote)):
        await scheduled_jobs.schedule(tx, Subject.MORAL_CAMPAIGN, campaign_id, step, due)
    return await campaign(tx, campaign_id)


async def campaign(tx: Tx, campaign_id: int) -> Campaign:
    found = await store.campaign(tx, campaign_id)
    if found is None:
        raise ModelError("moral.error.unknown")
    return found


async def visible(tx: Tx, campaign_id: int, person: Person | None, is_admin: bool) -> Campaign:
    """The campaign, for someone in its scope, its reviewer, or a street administrator."""
    found = await campaign(tx, campaign_id)
    if not (_street_admin(person, is_admin) or await in_scope(tx, person, found)
            or await is_reviewer(tx, person, is_admin, found)):
        raise ModelError("auth.denied")
    return found


async def listed_for(tx: Tx, person: Person | None, is_admin: bool) -> list[Campaign]:
    """The campaigns someone can take part in or runs, newest first."""
    if _street_admin(person, is_admin):
        units = [unit.id for unit in await scopes(tx)]
    else:
        units = [] if person is None else [grant.unit_id for grant in person.roles
                                           if grant.role is Role.COMMUNITY_SECRETARY]
        if person is not None and person.building_id is not None:
            units += [unit.id for unit in await grid.ancestry(tx, person.building_id)]
    return await store.campaigns_in(tx, units) if units else []


# ------------------------------------------------------------------------------------------- nominations


async def _resident(tx: Tx, campaign_id: int, person: Person | None) -> tuple[Campaign, Person]:
    found = await campaign(tx, campaign_id)
    if person is None or not await in_scope(tx, person, found):
        raise ModelError("moral.error.not_in_scope")
    return found, person


async def nominating(tx: Tx, campaign_id: int, person: Person | None, now: datetime) -> Campaign:
    """The campaign, while this resident may nominate in it."""
    found, _ = await _resident(tx, campaign_id, person)
    if found.phase is not Phase.NOMINATING or now >= found.nominate_until:
        raise ModelError("moral.error.not_nominating")
    return found


async def people_at(tx: Tx, campaign_id: int, person: Person | None, building_id: int, room: str,
                    now: datetime) -> list[tuple[int, str]]:
    """(id, name) of the residents registered at `room` of a building in scope, other than the nominator."""
    found = await nominating(tx, campaign_id, person, now)
    if building_id not in await grid.subtree(tx, [found.unit_id]):
        raise ModelError("moral.error.scope")
    assert person is not None
    living = [(pid, name) for pid, name in await store.living_at(tx, building_id, room) if pid != person.id]
    if not living:
        raise ModelError("moral.error.nobody_there", retry=True)
    return living


async def nominate(tx: Tx, campaign_id: int, person: Person | None, category: Category, nominee_id: int, story: str,
                   photo: str, now: datetime, timezone: str) -> Nomination:
    """A nomination awaiting the nominee's consent; the nominee gets the story with 同意 / 不同意."""
    found = await nominating(tx, campaign_id, person, now)
    assert person is not None
    nominee = await people.by_id(tx, nominee_id)
    if nominee is None or not await in_scope(tx, nominee, found):
        raise ModelError("moral.error.scope")
    if nominee.id == person.id:
        raise ModelError("moral.error.self_nomination")
    nomination_id = await store.add_nomination(tx, campaign_id=found.id, category=category, nominator_id=person.id,
                                               nominee_id=nominee.id, story=clean("story", story), photo_ref=photo,
                                               now=now)
    if nomination_id is None:
        raise ModelError("moral.error.nominated_already")
    await store.add_event(tx, nomination_id, person.id, "nominated", "", now)
    made = await nomination(tx, nomination_id)

    async def render() -> Reply:
        return notices.consent_request(found, made, person, timezone, now)

    await notify.push_reply(tx, person_id=nominee.id, idempotency=f"moral:{nomination_id}:ask", now=now,
                            render=render)
    return made


async def nomination(tx: Tx, nomination_id: int) -> Nomination:
    found = await store.nomination(tx, nomination_id)
    if found is None:
        raise ModelError("moral.error.unknown")
    return found


async def consent(tx: Tx, nomination_id: int, person: Person | None, yes: bool, now: datetime) -> Nomination:
    """The nominee's answer: 同意 makes it reviewable; 不同意 declines it, or takes a consent back before 公示.
    Only the nominee may answer; the nominator is told."""
    found = await store.nomination(tx, nomination_id)
    if found is None or person is None or found.nominee_id != person.id:
        raise ModelError("auth.denied")  # the same answer whether or not the nomination exists
    owner = await campaign(tx, found.campaign_id)
    if owner.phase not in BEFORE_PUBLICITY:
        raise ModelError("moral.error.consent_closed")
    if yes:
        changed = await store.set_status(tx, found.id, Status.CONSENTED, (Status.AWAITING_CONSENT,))
        kind = "consented"
    elif found.status is Status.AWAITING_CONSENT:
        changed = await store.set_status(tx, found.id, Status.DECLINED, (Status.AWAITING_CONSENT,))
        kind = "declined"
    else:
        changed = await store.set_status(tx, found.id, Status.WITHDRAWN, (Status.CONSENTED, Status.APPROVED))
        kind = "withdrawn"
    if not changed:
        raise ModelError("moral.error.answered")
    await store.add_event(tx, found.id, person.id, kind, "", now)
    if found.nominator_id is not None:
        nominee = person.display_name

        async def render() -> Reply:
            return notices.answered(kind, nominee)

        await notify.push_reply(tx, person_id=found.nominator_id, idempotency=f"moral:{found.id}:{kind}", now=now,
                                render=render)
    return await nomination(tx, found.id)


async def mine(tx: Tx, campaign_id: int, person: Person | None) -> list[Nomination]:
    """The nominations this person made in the campaign."""
    return [] if person is None else await store.by_nominator(tx, campaign_id, person.id)


# ------------------------------------------------------------------------------------------------ review


async def reviewing(tx: Tx, campaign_id: int, person: Person | None, is_admin: bool) -> Campaign:
    found = await campaign(tx, campaign_id)
    if not await is_reviewer(tx, person, is_admin, found):
        raise ModelError("auth.denied")
    return found


async def review_list(tx: Tx, campaign_id: int, person: Person | None,
                      is_admin: bool) -> tuple[Campaign, list[Nomination], dict[int, int]]:
    """For the reviewer: the nominations their nominees consented to, and the bursts flagged (size by id)."""
    found = await reviewing(tx, campaign_id, person, is_admin)
    return found, await store.nominations(tx, found.id, REVIEWABLE), await store.flags(tx, found.id)


async def examine(tx: Tx, nomination_id: int, person: Person | None,
                  is_admin: bool) -> tuple[Campaign, Nomination]:
    """One nomination for its reviewer: never one the nominee has not consented to."""
    found = await store.nomination(tx, nomination_id)
    if found is None or found.status not in REVIEWABLE:
        raise ModelError("moral.error.unknown")
    return await reviewing(tx, found.campaign_id, person, is_admin), found


async def decide(tx: Tx, nomination_id: int, person: Person | None, is_admin: bool, approve: bool, reason: str,
                 now: datetime) -> Nomination:
    """Approve, or reject with a reason, a consented nomination before 公示; the nominator is told."""
    owner, found = await examine(tx, nomination_id, person, is_admin)
    if owner.phase not in BEFORE_PUBLICITY:
        raise ModelError("moral.error.review_closed")
    why = "" if approve else clean("reason", reason)
    status = Status.APPROVED if approve else Status.REJECTED
    if not await store.set_status(tx, found.id, status, (Status.CONSENTED,), why):
        raise ModelError("moral.error.decided")
    await store.add_event(tx, found.id, None if person is None else person.id, status.value, why, now)
    if found.nominator_id is not None:
        key = "moral.told.approved" if approve else "moral.told.rejected"
        await notify.push(tx, person_id=found.nominator_id, idempotency=f"moral:{found.id}:{status.value}",
                          text_key=key, now=now, params={"title": owner.title, "reason": why})
    return await nomination(tx, found.id)


async def remove(tx: Tx, nomination_id: int, person: Person | None, is_admin: bool, reason: str,
                 now: datetime) -> Nomination:
    """Take an approved nomination down during 公示 or the vote (after an objection), with a reason, on record;
    the nominator and the nominee are told. Votes already cast for it are void: their voters may vote again in
    that category."""
    owner, found = await examine(tx, nomination_id, person, is_admin)
    if owner.phase not in (Phase.PUBLICIZING, Phase.VOTING):
        raise ModelError("moral.error.review_closed")
    why = clean("reason", reason)
    if not await store.set_status(tx, found.id, Status.REMOVED, (Status.APPROVED,), why):
        raise ModelError("moral.error.decided")
    await store.add_event(tx, found.id, None if person is None else person.id, "removed", why, now)
    await store.drop_votes(tx, found.id)
    for told in {found.nominator_id, found.nominee_id} - {None}:
        assert told is not None
        await notify.push(tx, person_id=told, idempotency=f"moral:{found.id}:removed", text_key="moral.told.removed",
                          now=now, params={"title": owner.title, "reason": why})
    return await nomination(tx, found.id)


async def history(tx: Tx, nomination_id: int) -> tuple[list[store.Event], list[store.Objection]]:
    """The audit trail and the objections of a nomination (for its reviewer's card)."""
    return await store.events(tx, nomination_id), await store.objections(tx, nomination_id)


# --------------------------------------------------------------------------------------- 公示 and objections


async def public_list(tx: Tx, campaign_id: int, person: Person | None, is_admin: bool) -> tuple[Campaign,
                                                                                              list[Nomination]]:
    """The approved nominations, from 公示 on, for anyone the campaign is visible to."""
    found = await visible(tx, campaign_id, person, is_admin)
    if found.phase not in PUBLIC:
        raise ModelError("moral.error.not_public")
    return found, await store.nominations(tx, found.id, (Status.APPROVED,))


async def public_nomination(tx: Tx, nomination_id: int, person: Person | None,
                            is_admin: bool) -> tuple[Campaign, Nomination]:
    """One approved nomination from 公示 on; anything else is unknown (a forged token learns nothing)."""
    found = await store.nomination(tx, nomination_id)
    if found is None or found.status is not Status.APPROVED:
        raise ModelError("moral.error.unknown")
    owner, _ = await public_list(tx, found.campaign_id, person, is_admin)
    return owner, found


async def object_to(tx: Tx, nomination_id: int, person: Person | None, text: str, now: datetime) -> Nomination:
    """A resident's objection during 公示; it goes to the reviewer."""
    owner, found = await public_nomination(tx, nomination_id, person, False)
    if owner.phase is not Phase.PUBLICIZING or person is None or not await in_scope(tx, person, owner):
        raise ModelError("moral.error.objections_closed")
    said = clean("objection", text)
    await store.add_objection(tx, found.id, person.id, said, now)
    count = len(await store.objections(tx, found.id))

    async def render() -> Reply:
        nominee = await people.by_id(tx, found.nominee_id)
        return notices.objection(owner, found, "" if nominee is None else nominee.display_name, said)

    await notify.push_all(tx, await _reviewers(tx, owner), idempotency=f"moral:{found.id}:objection:{count}",
                          now=now, render=render)
    return found


# ---------------------------------------------------------------------------------------------------- vote


async def ballot(tx: Tx, campaign_id: int, person: Person | None,
                 now: datetime) -> tuple[Campaign, list[Nomination], dict[Category, int]]:
    """For a resident in scope while the vote is open: the candidates, and their own choices (no counts)."""
    found, voter = await _resident(tx, campaign_id, person)
    if found.phase is not Phase.VOTING or now >= found.vote_until:
        raise ModelError("moral.error.not_voting")
    return found, await store.nominations(tx, found.id, (Status.APPROVED,)), await store.ballots(tx, found.id,
                                                                                                voter.id)


async def vote(tx: Tx, nomination_id: int, person: Person | None, now: datetime, timezone: str) -> Nomination:
    """One ballot per resident per category, never for oneself; a burst of new accounts' votes is flagged."""
    found = await store.nomination(tx, nomination_id)
    if found is None or found.status is not Status.APPROVED:
        raise ModelError("moral.error.unknown")
    owner, _, mine_ = await ballot(tx, found.campaign_id, person, now)
    assert person is not None
    if found.nominee_id == person.id:
        raise ModelError("moral.error.self_vote")
    if found.category in mine_:
        raise ModelError("moral.error.voted")
    registered = await store.registered_at(tx, person.id)
    new_account = registered is not None and registered > owner.opened_at
    if not await store.add_vote(tx, campaign_id=owner.id, category=found.category, voter_id=person.id,
                                nomination_id=found.id, new_account=new_account, now=now):
        raise ModelError("moral.error.voted")
    if new_account:
        await _watch_burst(tx, owner, found, now, timezone)
    return found


async def _watch_burst(tx: Tx, owner: Campaign, found: Nomination, now: datetime, timezone: str) -> None:
    votes = await store.new_account_votes(tx, found.id, now - BURST_WINDOW)
    if votes < BURST_VOTES or not await store.flag(tx, found.id, votes, now):
        return
    await store.add_event(tx, found.id, None, "flagged", str(votes), now)

    async def render() -> Reply:
        nominee = await people.by_id(tx, found.nominee_id)
        return notices.burst(owner, found, "" if nominee is None else nominee.display_name, votes)

    await notify.push_all(tx, await _reviewers(tx, owner), idempotency=f"moral:{found.id}:burst", now=now,
                          render=render)


# ------------------------------------------------------------------------------------------------- results


async def results(tx: Tx, campaign_id: int, person: Person | None,
                  is_admin: bool) -> tuple[Campaign, list[Nomination], dict[int, int]]:
    """The counts, once the vote has closed: for the reviewer at once, for everyone in scope after the 表彰."""
    found = await visible(tx, campaign_id, person, is_admin)
    reviewer = await is_reviewer(tx, person, is_admin, found)
    if found.phase is not Phase.HONOURED and not (reviewer and found.phase is Phase.CLOSED):
        raise ModelError("moral.error.not_closed")
    return found, await store.nominations(tx, found.id, (Status.APPROVED,)), await store.tally(tx, found.id)


async def toggle_honour(tx: Tx, nomination_id: int, person: Person | None, is_admin: bool) -> Nomination:
    """Put an approved nomination on the 表彰 list or take it off, before the 表彰 goes out."""
    owner, found = await examine(tx, nomination_id, person, is_admin)
    if owner.phase is not Phase.CLOSED or found.status is not Status.APPROVED:
        raise ModelError("moral.error.not_closed")
    await store.set_honoured(tx, found.id, not found.honoured)
    return await nomination(tx, found.id)


async def honour(tx: Tx, campaign_id: int, person: Person | None, is_admin: bool, now: datetime) -> int:
    """Confirm the 表彰 list: everyone in scope hears it; returns how many were told."""
    found = await reviewing(tx, campaign_id, person, is_admin)
    honoured = [item for item in await store.nominations(tx, found.id, (Status.APPROVED,)) if item.honoured]
    if not honoured:
        raise ModelError("moral.error.nobody_honoured")
    if not await store.set_phase(tx, found.id, Phase.HONOURED, (Phase.CLOSED,), now):
        raise ModelError("moral.error.not_closed")
    for item in honoured:
        await store.add_event(tx, item.id, None if person is None else person.id, "honoured", "", now)
    tally = await store.tally(tx, found.id)
    names = {item.id: await name(tx, item.nominee_id) for item in honoured}

    async def render() -> Reply:
        return notices.honours(found, honoured, names, tally)

    told = await notify.push_all(tx, await _residents(tx, found), idempotency=f"moral-campaign:{found.id}:honours",
                                 now=now, render=render)
    return len(told)


async def name(tx: Tx, person_id: int) -> str:
    """A person's name as they gave it ("" once they are gone)."""
    found = await people.by_id(tx, person_id)
    return "" if found is None else found.display_name


async def names(tx: Tx, nominations: Sequence[Nomination]) -> dict[int, str]:
    """The nominees' names by nomination id."""
    return {item.id: await name(tx, item.nominee_id) for item in nominations}


# --------------------------------------------------------------------------------------------- phase changes


class CampaignJobs:
    """The `DueWork` source of campaigns: announcement, phase changes, the reminder (held in `quiet` hours), the
    close."""

    def __init__(self, quiet: QuietHours | None) -> None:
        self._quiet = quiet

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        async def fire(tx: Tx, job: Job) -> str:
            found = await store.campaign(tx, job.subject_id)
            return "skipped" if found is None else await self._fire(tx, job, found, now, timezone)

        return await jobs.fire_each(db, Subject.MORAL_CAMPAIGN, now, fire)

    async def _fire(self, tx: Tx, job: Job, found: Campaign, now: datetime, timezone: str) -> str:
        if job.kind == Step.ANNOUNCE:
            return await _tell_residents(tx, found, "announce", now, timezone)
        if job.kind == Step.REVIEW:
            await store.set_phase(tx, found.id, Phase.REVIEWING, (Phase.NOMINATING,), now)
            waiting = len(await store.nominations(tx, found.id, (Status.CONSENTED,)))
            await notify.push_all(tx, await _reviewers(tx, found), idempotency=f"moral-campaign:{found.id}:review",
                                  now=now, render=lambda: notices.review_due(found, waiting))
            return "sent"
        if job.kind == Step.PUBLICIZE:
            await store.set_phase(tx, found.id, Phase.PUBLICIZING, (Phase.NOMINATING, Phase.REVIEWING), now)
            return await _tell_residents(tx, found, "publicize", now, timezone)
        if job.kind == Step.VOTE:
            await store.set_phase(tx, found.id, Phase.VOTING, (Phase.PUBLICIZING,), now)
            return await _tell_residents(tx, found, "vote", now, timezone)
        if job.kind == Step.REMIND:
            hours = await quiet_hours(tx, self._quiet)
            later = None if hours is None else hours.until(now, timezone)
            if later is not None and later < found.vote_until:
                await scheduled_jobs.schedule(tx, Subject.MORAL_CAMPAIGN, found.id, Step.REMIND, later)
                return "held"
            return await _remind(tx, found, job, now, timezone)
        if job.kind == Step.CLOSE:
            return await _close(tx, found, now)
        return "skipped"


async def _tell_residents(tx: Tx, found: Campaign, what: str, now: datetime, timezone: str) -> str:
    """The announcement, the 公示 or the vote's opening, to every resident in scope."""

    async def render() -> Reply:
        return await notices.phase_push(tx, found, what, timezone, now)

    await notify.push_all(tx, await _residents(tx, found), idempotency=f"moral-campaign:{found.id}:{what}", now=now,
                          render=render)
    return "sent"


async def _remind(tx: Tx, found: Campaign, job: Job, now: datetime, timezone: str) -> str:
    """Residents in scope who have not voted yet, while the vote is open."""
    if found.phase is not Phase.VOTING or now >= found.vote_until:
        return "late"
    voted = await store.voters(tx, found.id)
    waiting = [person_id for person_id in await _residents(tx, found) if person_id not in voted]

    async def render() -> Reply:
        return await notices.phase_push(tx, found, "remind", timezone, now)

    await notify.push_all(tx, waiting, idempotency=f"moral-campaign:{found.id}:remind:{job.id}", now=now,
                          render=render)
    return "sent"


async def _close(tx: Tx, found: Campaign, now: datetime) -> str:
    """The vote closes: the top of each category goes on the 表彰 list by default, and the reviewer is asked to
    confirm it."""
    if not await store.set_phase(tx, found.id, Phase.CLOSED, (Phase.VOTING,), now):
        return "skipped"
    tally = await store.tally(tx, found.id)
    approved = await store.nominations(tx, found.id, (Status.APPROVED,))
    for category in Category:
        counted = [(tally.get(item.id, 0), item.id) for item in approved if item.category is category]
        top = max((votes for votes, _ in counted), default=0)
        for votes, nomination_id in counted:
            if top and votes == top:
                await store.set_honoured(tx, nomination_id, True)
    await notify.push_all(tx, await _reviewers(tx, found), idempotency=f"moral-campaign:{found.id}:closed", now=now,
                          render=lambda: notices.closed(found))
    return "sent"
