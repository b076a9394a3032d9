"""Reports, from filing to rating: routing, the task life cycle of grid members, the resident's side, time limits
and follow-up. Every action re-checks who may take it; every change is one audited transition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.conversations.tokens import RATINGS
from bot.domain.grid import Level
from bot.domain.messages import Reply
from bot.domain.people import Person
from bot.domain.refusal import Refusal
from bot.features.reports import notices, routing
from bot.features.reports import store as issues
from bot.features.reports.model import TRANSITIONS, Category, EventKind, Issue, PhotoStage, Status, Timer
from bot.services import notify
from bot.services.notify import Render
from bot.storage import grid, scheduled_jobs
from bot.storage.db import Tx
from bot.storage.scheduled_jobs import Subject

FOLLOWUP_REMIND = timedelta(days=3)  # no answer to "is it fixed?": one reminder …
FOLLOWUP_CLOSE = timedelta(days=6)  # … then closed unrated, three days after the reminder
RECHECK = timedelta(days=14)  # infrastructure: "did it stay fixed?"
REMIND_SHARE = 0.8  # owners are reminded when this share of their level's time has passed
MAX_PHOTOS = 5
MAX_DESCRIPTION = 1000  # characters
LEVEL_TIMERS = (Timer.REMIND, Timer.ESCALATE)
FOLLOWUP_TIMERS = (Timer.FOLLOWUP_REMIND, Timer.FOLLOWUP_CLOSE)


class IssueError(Refusal):
    """A refused action on a report."""


@dataclass(frozen=True, slots=True)
class Draft:
    category: str
    description: str
    unit_id: int
    voice_ref: str = ""
    photos: tuple[str, ...] = ()
    location: str = ""


def _check_description(text: str) -> None:
    if len(text) > MAX_DESCRIPTION:
        raise IssueError("issue.error.too_long", retry=True, limit=MAX_DESCRIPTION)


async def _category(tx: Tx, code: str) -> Category:
    """A report's category, offered or retired."""
    found = await issues.category(tx, code, active_only=False)
    if found is None:
        raise IssueError("issue.error.category")
    return found


async def _issue(tx: Tx, issue_id: int) -> Issue:
    found = await issues.get(tx, issue_id)
    if found is None:
        raise IssueError("issue.error.unknown")
    return found


# ---------------------------------------------------------------------------------------------- filing


async def submit(tx: Tx, reporter: Person, draft: Draft, now: datetime, timezone: str) -> Issue:
    """File a report: number it, route it, record the decision, push the task and start its clock. Refusals are
    of the draft, which can be fixed (retry)."""
    category = await issues.category(tx, draft.category, active_only=True)
    if category is None:
        raise IssueError("issue.error.category", retry=True)
    unit = await grid.by_id(tx, draft.unit_id)
    if unit is None or unit.level not in (Level.BUILDING, Level.COMPLEX, Level.COMMUNITY):
        raise IssueError("issue.error.place", retry=True)
    description = draft.description.strip()
    if not description and not draft.voice_ref:
        raise IssueError("issue.error.empty", retry=True)
    _check_description(description)
    route = await routing.route(tx, category, unit.id)
    if route is None:
        raise IssueError("issue.error.place", retry=True)
    prefix = f"JL-{now.astimezone(ZoneInfo(timezone)):%Y%m%d}-"
    ref = f"{prefix}{await issues.count_refs_with_prefix(tx, prefix) + 1:04d}"
    due = now + timedelta(hours=category.limits[route.owner.level])
    issue_id = await issues.create(tx, ref=ref, reporter_id=reporter.id, category=category.code,
                                   description=description, voice_ref=draft.voice_ref, unit_id=unit.id,
                                   location=draft.location, owner_unit_id=route.owner.id, due_at=due, now=now)
    await issues.record(tx, issue_id, kind=EventKind.TRANSITION, actor_id=reporter.id, now=now,
                        to_status=Status.SUBMITTED)
    for path in draft.photos[:MAX_PHOTOS]:
        await issues.add_photo(tx, issue_id, PhotoStage.REPORT, path, reporter.id, now)
    issue = await _issue(tx, issue_id)
    return await _assign(tx, issue, route, Status.ASSIGNED, None, now, timezone, reason=lambda: "")


async def _assign(tx: Tx, issue: Issue, route: routing.Route, status: Status, actor_id: int | None,
                  now: datetime, timezone: str, *, reason: Callable[[], str], **fields: object) -> Issue:
    """Give the issue to `route`'s owner: record the decision, restart the level's clock, push the task (with
    `reason()`, built in each recipient's language)."""
    category = await _category(tx, issue.category)
    limit = timedelta(hours=category.limits[route.owner.level])
    await issues.record(tx, issue.id, kind=EventKind.ROUTE, actor_id=actor_id, now=now, detail=route.describe())
    issue = await _move(tx, issue, status, actor_id, now, reason(), owner_unit_id=route.owner.id, assignee_id=None,
                        due_at=now + limit, **fields)
    await issues.set_recipients(tx, issue.id, route.recipients)
    await scheduled_jobs.cancel(tx, Subject.ISSUE, issue.id, LEVEL_TIMERS, now)
    await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, Timer.REMIND, now + limit * REMIND_SHARE)
    await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, Timer.ESCALATE, now + limit)
    for recipient in route.recipients:
        await notify.push_reply(tx, person_id=recipient.person_id, now=now,
                                idempotency=f"issue:{issue.id}:task:{status.value}:{route.owner.id}:{_stamp(now)}",
                                render=lambda: notices.task_card(tx, issue, timezone, now, reason=reason()))
    return issue


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M%S%f")


async def _move(tx: Tx, issue: Issue, to: Status, actor_id: int | None, now: datetime, detail: str = "",
                **fields: object) -> Issue:
    """The one way an issue changes state: checked against TRANSITIONS and written to the audit trail."""
    if to not in TRANSITIONS[issue.status]:
        raise IssueError("issue.error.state", status=notices.status_name(issue))
    await issues.update(tx, issue.id, now, status=to, **fields)
    await issues.record(tx, issue.id, kind=EventKind.TRANSITION, actor_id=actor_id, now=now, from_status=issue.status,
                        to_status=to, detail=detail)
    return await _issue(tx, issue.id)


async def open_duplicate(tx: Tx, category: str, unit_id: int) -> Issue | None:
    """An open report of the same category at the same place, to offer following it instead."""
    return await issues.open_same(tx, unit_id, category)


async def follow(tx: Tx, issue_id: int, person: Person) -> Issue:
    issue = await _issue(tx, issue_id)
    if not issue.is_open:
        raise IssueError("issue.error.closed")
    await issues.follow(tx, issue.id, person.id)
    return issue


# --------------------------------------------------------------------------------------- grid members


async def _member_issue(tx: Tx, issue_id: int, member: Person) -> Issue:
    """The issue, if `member` may act on it now: it lies in the scope of a role or duty they hold."""
    issue = await _issue(tx, issue_id)
    if await routing.in_scope(tx, member, issue.unit_id):
        return issue
    raise IssueError("auth.denied")


def _require_open(issue: Issue) -> None:
    if not issue.is_open:
        raise IssueError("issue.error.state", status=notices.status_name(issue))


async def accept(tx: Tx, issue_id: int, member: Person, now: datetime) -> Issue:
    """First accept wins; the others who got the task are told who took it."""
    issue = await _member_issue(tx, issue_id, member)
    if issue.status is Status.ACCEPTED:
        if issue.assignee_id == member.id:
            return issue
        raise IssueError("task.taken", who=await notices.who(tx, issue.assignee_id))
    _require_open(issue)
    issue = await _move(tx, issue, Status.ACCEPTED, member.id, now, assignee_id=member.id)
    for other in await issues.recipients(tx, issue.id):
        if other != member.id:
            await notify.push_reply(tx, person_id=other, idempotency=f"issue:{issue.id}:taken:{_stamp(now)}",
                                    now=now, render=lambda: notices.taken_by(tx, issue, member.id))
    await _tell_reporter(tx, issue, f"accepted:{_stamp(now)}", now, lambda: notices.accepted(tx, issue, member.id))
    return issue


async def add_note(tx: Tx, issue_id: int, member: Person, note: str, now: datetime) -> Issue:
    issue = await _member_issue(tx, issue_id, member)
    _require_open(issue)
    await issues.record(tx, issue.id, kind=EventKind.NOTE, actor_id=member.id, now=now, detail=note)
    await _tell_reporter(tx, issue, f"note:{_stamp(now)}", now, lambda: notices.noted(tx, issue, member.id, note))
    return issue


async def resolve(tx: Tx, issue_id: int, member: Person, note: str, photo: str, now: datetime) -> Issue:
    """Done: the reporter is asked whether it is fixed (and reminded, then it closes unrated)."""
    issue = await _member_issue(tx, issue_id, member)
    _require_open(issue)
    if issue.legal and not note.strip():
        raise IssueError("task.answer_needed", retry=True)
    issue = await _move(tx, issue, Status.RESOLVED, member.id, now, note, resolved_at=now,
                        assignee_id=issue.assignee_id or member.id)
    if photo:
        await issues.add_photo(tx, issue.id, PhotoStage.RESOLUTION, photo, member.id, now)
    await scheduled_jobs.cancel(tx, Subject.ISSUE, issue.id, LEVEL_TIMERS, now)
    await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, Timer.FOLLOWUP_REMIND, now + FOLLOWUP_REMIND)
    await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, Timer.FOLLOWUP_CLOSE, now + FOLLOWUP_CLOSE)
    for other in await issues.recipients(tx, issue.id):
        if other != member.id:
            await notify.push_reply(tx, person_id=other, idempotency=f"issue:{issue.id}:done:{_stamp(now)}",
                                    now=now, render=lambda: notices.resolved_by(tx, issue, member.id))
    await _ask_fixed(tx, issue, f"resolved:{_stamp(now)}", now,
                     lambda: notices.resolved(tx, issue, member.id, note, photo))
    return issue


async def escalate(tx: Tx, issue_id: int, member: Person | None, reason: str, now: datetime, timezone: str,
                   *, hand_up: bool = False) -> Issue:
    """Hand the issue to the next level up (a member's choice, or the clock's when `member` is None)."""
    issue = await _issue(tx, issue_id) if member is None else await _member_issue(tx, issue_id, member)
    _require_open(issue)
    owner = await grid.by_id(tx, issue.owner_unit_id)
    assert owner is not None
    route = await routing.route(tx, await _category(tx, issue.category), issue.unit_id, above=owner.level)
    if route is None:
        raise IssueError("task.at_top")
    old = await issues.recipients(tx, issue.id)
    actor = None if member is None else member.id
    timed_out = member is None and not reason  # a member's own choice is no timeout
    detail = notices.timeout_reason() if timed_out else reason  # the audit trail's, in the street's language
    await issues.record(tx, issue.id, kind=EventKind.HAND_UP if hand_up else EventKind.ESCALATE, actor_id=actor,
                        now=now, detail=detail)
    issue = await _assign(tx, issue, route, Status.ESCALATED, actor, now, timezone,
                          reason=notices.timeout_reason if timed_out else lambda: reason)
    for person_id in old:
        if person_id != actor and person_id not in {r.person_id for r in route.recipients}:
            await notify.push_reply(tx, person_id=person_id, idempotency=f"issue:{issue.id}:moved:{_stamp(now)}",
                                    now=now, render=lambda: notices.moved_up(tx, issue))
    await _tell_reporter(tx, issue, f"escalated:{_stamp(now)}", now, lambda: notices.escalated(tx, issue))
    return issue


async def reject(tx: Tx, issue_id: int, member: Person, reason: str, now: datetime) -> Issue:
    issue = await _member_issue(tx, issue_id, member)
    if not reason.strip():
        raise IssueError("task.reason_needed")
    issue = await _move(tx, issue, Status.REJECTED, member.id, now, reason, closed_at=now)
    await scheduled_jobs.cancel(tx, Subject.ISSUE, issue.id, LEVEL_TIMERS, now)
    review = await reviewable(tx, issue)
    await _tell_reporter(tx, issue, "rejected", now,
                         lambda: _now(notices.rejected(issue, reason, reviewable=review)))
    return issue


async def rejection_reason(tx: Tx, issue: Issue) -> str:
    """Why the report was not taken on (empty when it was not)."""
    found = await issues.last_transition(tx, issue.id, Status.REJECTED) if issue.status is Status.REJECTED else None
    return "" if found is None else found.detail


async def _review_route(tx: Tx, issue: Issue) -> routing.Route | None:
    """The next level up from the one that turned the report down."""
    owner = await grid.by_id(tx, issue.owner_unit_id)
    assert owner is not None
    return await routing.route(tx, await _category(tx, issue.category), issue.unit_id, above=owner.level)


async def reviewable(tx: Tx, issue: Issue) -> bool:
    """A rejected report may be taken to the next level up, once, if there is one."""
    return (issue.status is Status.REJECTED and not await issues.has_event(tx, issue.id, EventKind.REVIEW)
            and await _review_route(tx, issue) is not None)


async def request_review(tx: Tx, issue_id: int, person: Person, now: datetime, timezone: str) -> Issue:
    """The resident asks the next level up to look again at a rejected report: it goes there as an escalation
    would, with the reason it was turned down. Once per report."""
    issue = await _reporter_issue(tx, issue_id, person, followers=True)
    if await issues.has_event(tx, issue.id, EventKind.REVIEW):
        raise IssueError("issue.error.reviewed")
    if issue.status is not Status.REJECTED:
        raise IssueError("issue.error.state", status=notices.status_name(issue))
    route = await _review_route(tx, issue)
    if route is None:
        raise IssueError("issue.error.reviewed")
    rejected = await rejection_reason(tx, issue)
    await issues.record(tx, issue.id, kind=EventKind.REVIEW, actor_id=person.id, now=now, detail=rejected)
    return await _assign(tx, issue, route, Status.ESCALATED, person.id, now, timezone,
                         reason=lambda: notices.review_reason(rejected), closed_at=None)


async def mark_duplicate(tx: Tx, issue_id: int, member: Person, original_ref: str, now: datetime) -> Issue:
    """Close `issue_id` as the same matter as the report `original_ref`; its reporter follows the original."""
    issue = await _member_issue(tx, issue_id, member)
    original = await issues.by_ref(tx, original_ref.strip().upper())
    if original is None or original.id == issue.id or original.status in (Status.WITHDRAWN, Status.DUPLICATE):
        raise IssueError("task.duplicate_unknown", ref=original_ref.strip()[:20])
    await _member_issue(tx, original.id, member)
    issue = await _move(tx, issue, Status.DUPLICATE, member.id, now, original.ref, duplicate_of=original.id,
                        closed_at=now)
    await scheduled_jobs.cancel(tx, Subject.ISSUE, issue.id, LEVEL_TIMERS, now)
    if issue.reporter_id is not None and issue.reporter_id != original.reporter_id:
        await issues.follow(tx, original.id, issue.reporter_id)
    await _tell_reporter(tx, issue, "duplicate", now, lambda: _now(notices.duplicate(issue, original.ref)))
    return issue


async def overdue_nudge(tx: Tx, issue: Issue, now: datetime) -> None:
    """The street owns it and its time is up: flag it to the street again (it cannot climb further)."""
    await issues.record(tx, issue.id, kind=EventKind.OVERDUE, actor_id=None, now=now)
    for person_id in await issues.recipients(tx, issue.id):
        await notify.push_reply(tx, person_id=person_id, idempotency=f"issue:{issue.id}:overdue:{_stamp(now)}",
                                now=now, render=lambda: _now(notices.overdue(issue)))


async def remind_owners(tx: Tx, issue: Issue, now: datetime, timezone: str) -> None:
    for person_id in await issues.recipients(tx, issue.id):
        await notify.push_reply(tx, person_id=person_id,
                                idempotency=f"issue:{issue.id}:remind:{_stamp(issue.due_at)}", now=now,
                                render=lambda: _now(notices.reminder(issue, timezone, now)))


async def more_photos(tx: Tx, issue: Issue) -> list[str]:
    """Every photo of the issue but the one its card carries: the report's others, the resident's additions, the
    resolution's."""
    every = await issues.photos(tx, issue.id)
    first = await issues.photos(tx, issue.id, PhotoStage.REPORT)
    return [path for path in every if not first or path != first[0]]


async def tasks_for(tx: Tx, member: Person, now: datetime) -> list[Issue]:
    """Open issues in the member's scope: overdue first, then oldest first."""
    return await issues.open_in_units(tx, await routing.scope_units(tx, member), now)


async def view_as_member(tx: Tx, issue_id: int, member: Person) -> Issue:
    return await _member_issue(tx, issue_id, member)


# ----------------------------------------------------------------------------------------- residents


async def _reporter_issue(tx: Tx, issue_id: int, person: Person, *, followers: bool = False) -> Issue:
    issue = await _issue(tx, issue_id)
    if issue.reporter_id == person.id or (followers and person.id in await issues.followers(tx, issue.id)):
        return issue
    raise IssueError("auth.denied")


async def reports_of(tx: Tx, person: Person) -> list[Issue]:
    """The person's own reports and those they follow, newest first."""
    mine = await issues.by_reporter(tx, person.id)
    followed = [issue for issue in await issues.followed_by(tx, person.id) if issue.reporter_id != person.id]
    return sorted([*mine, *followed], key=lambda issue: issue.id, reverse=True)


async def view_as_resident(tx: Tx, issue_id: int, person: Person) -> Issue:
    return await _reporter_issue(tx, issue_id, person, followers=True)


async def withdraw(tx: Tx, issue_id: int, person: Person, now: datetime) -> Issue:
    issue = await _reporter_issue(tx, issue_id, person)
    issue = await _move(tx, issue, Status.WITHDRAWN, person.id, now, closed_at=now)
    await scheduled_jobs.cancel(tx, Subject.ISSUE, issue.id, LEVEL_TIMERS, now)
    for person_id in await issues.recipients(tx, issue.id):
        await notify.push_reply(tx, person_id=person_id, idempotency=f"issue:{issue.id}:withdrawn", now=now,
                                render=lambda: _now(notices.withdrawn(issue)))
    for person_id in await issues.followers(tx, issue.id):  # those who followed it instead of reporting it
        await notify.push_reply(tx, person_id=person_id, idempotency=f"issue:{issue.id}:withdrawn", now=now,
                                render=lambda: _now(notices.withdrawn_followed(issue)))
    return issue


async def add_info(tx: Tx, issue_id: int, person: Person, text: str, photo: str, now: datetime) -> Issue:
    """More words or a photo from the reporter, passed to whoever has the task."""
    issue = await _reporter_issue(tx, issue_id, person)
    _require_open(issue)
    _check_description(text)
    if photo and len(await issues.photos(tx, issue.id)) >= MAX_PHOTOS * 2:
        raise IssueError("issue.error.too_many_photos")
    await issues.record(tx, issue.id, kind=EventKind.INFO, actor_id=person.id, now=now, detail=text)
    if photo:
        await issues.add_photo(tx, issue.id, PhotoStage.INFO, photo, person.id, now)
    targets = [issue.assignee_id] if issue.assignee_id else await issues.recipients(tx, issue.id)
    for person_id in targets:
        if person_id is not None:
            await notify.push_reply(tx, person_id=person_id, idempotency=f"issue:{issue.id}:info:{_stamp(now)}",
                                    now=now, render=lambda: _now(notices.info_added(issue, text, photo)))
    return issue


async def answerable(tx: Tx, issue_id: int, person: Person) -> Issue:
    """The issue, if `person` (its reporter or a follower) may say now whether it is fixed."""
    issue = await _reporter_issue(tx, issue_id, person, followers=True)
    if issue.status not in (Status.RESOLVED, Status.CLOSED):
        raise IssueError("issue.error.state", status=notices.status_name(issue))
    return issue


async def answer_fixed(tx: Tx, issue_id: int, person: Person, fixed: bool, now: datetime, timezone: str,
                       words: str = "", voice: str = "") -> Issue:
    """The answer to "is it fixed?" (after resolution) or "did it stay fixed?" (14 days on), from the reporter or
    a follower. Not fixed: it is done again (重新办理) by the same level, told what is still wrong (`words`, or a
    `voice` note, which is kept with the report and pushed with the task)."""
    issue = await answerable(tx, issue_id, person)
    _check_description(words)
    if fixed:
        if issue.status is Status.CLOSED:
            await issues.record(tx, issue.id, kind=EventKind.STAYED_FIXED, actor_id=person.id, now=now)
        return issue
    await scheduled_jobs.cancel(tx, Subject.ISSUE, issue.id, (*FOLLOWUP_TIMERS, Timer.RECHECK), now)
    owner = await grid.by_id(tx, issue.owner_unit_id)
    category = await _category(tx, issue.category)
    assert owner is not None
    limit = timedelta(hours=category.limits[owner.level])
    issue = await _move(tx, issue, Status.REOPENED, person.id, now, words or "not fixed", flagged=1,
                        due_at=now + limit, closed_at=None, resolved_at=None)
    await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, Timer.REMIND, now + limit * REMIND_SHARE)
    await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, Timer.ESCALATE, now + limit)
    if voice:
        await issues.add_voice(tx, issue.id, voice, person.id, now)
    targets = [issue.assignee_id] if issue.assignee_id else await issues.recipients(tx, issue.id)
    for person_id in targets:
        if person_id is not None:
            await notify.push_reply(tx, person_id=person_id, idempotency=f"issue:{issue.id}:reopened:{_stamp(now)}",
                                    now=now, render=lambda: notices.reopened(tx, issue, timezone, now, words, voice))
    return issue


async def rate(tx: Tx, issue_id: int, person: Person, stars: int, comment: str, now: datetime) -> Issue:
    """Close a resolved report with the rating (1–5) and optional comment of its reporter or a follower; the
    member who resolved it hears both."""
    issue = await _reporter_issue(tx, issue_id, person, followers=True)
    if stars not in RATINGS:
        raise IssueError("issue.error.rating")
    resolved = await issues.last_transition(tx, issue.id, Status.RESOLVED)
    issue = await _close(tx, issue, person.id, now, rating=stars, comment=comment.strip()[:500])
    member = resolved.actor_id if resolved is not None and resolved.actor_id is not None else issue.assignee_id
    if member is not None:
        await notify.push_reply(tx, person_id=member, idempotency=f"issue:{issue.id}:rated:{_stamp(now)}", now=now,
                                render=lambda: _now(notices.rated(issue, stars)))
    return issue


async def _close(tx: Tx, issue: Issue, actor_id: int | None, now: datetime, *, rating: int | None = None,
                 comment: str = "") -> Issue:
    issue = await _move(tx, issue, Status.CLOSED, actor_id, now, closed_at=now, rating=rating, comment=comment)
    await scheduled_jobs.cancel(tx, Subject.ISSUE, issue.id, FOLLOWUP_TIMERS, now)
    if (await _category(tx, issue.category)).infrastructure:
        await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, Timer.RECHECK, now + RECHECK)
    return issue


async def followup_reminder(tx: Tx, issue: Issue, now: datetime) -> None:
    await _ask_fixed(tx, issue, f"followup:{_stamp(now)}", now, lambda: _now(notices.followup_reminder(issue)))


async def close_unrated(tx: Tx, issue: Issue, now: datetime) -> None:
    await _close(tx, issue, None, now)
    await _tell_reporter(tx, issue, f"closed:{_stamp(now)}", now, lambda: _now(notices.closed_unrated(issue)))


async def recheck(tx: Tx, issue: Issue, now: datetime) -> None:
    await _ask_fixed(tx, issue, f"recheck:{_stamp(now)}", now, lambda: _now(notices.recheck(issue)))


# ------------------------------------------------------------------------------------------- helpers


async def _now(reply: Reply) -> Reply:
    """A notice rendered without waiting, as the `Render` a push takes."""
    return reply


async def _tell_reporter(tx: Tx, issue: Issue, cause: str, now: datetime, render: Render) -> None:
    """Keep the reporter (and anyone following the report) informed."""
    for person_id in await _audience(tx, issue):
        await notify.push_reply(tx, person_id=person_id, idempotency=f"issue:{issue.id}:{cause}", now=now,
                                render=render)


async def _ask_fixed(tx: Tx, issue: Issue, cause: str, now: datetime, render: Render) -> None:
    """Ask the reporter and every follower whether it is fixed (a follower's answer counts as the reporter's)."""
    await notify.push_all(tx, await _audience(tx, issue), idempotency=f"issue:{issue.id}:{cause}", now=now,
                          render=render)


async def anyone_told(tx: Tx, issue: Issue) -> bool:
    """Whether anyone (the reporter, or a follower) hears of the report's changes and is asked if it is fixed."""
    return bool(await _audience(tx, issue))


async def _audience(tx: Tx, issue: Issue) -> list[int]:
    reporter = [issue.reporter_id] if issue.reporter_id is not None else []
    return [*reporter, *(p for p in await issues.followers(tx, issue.id) if p not in reporter)]

