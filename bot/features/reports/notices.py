"""The wording of reports: the task card and its buttons, the pushes grid members and residents get, how a report
reads in a list and its audit trail. Services decide what happens; these render it (in the current locale, so
each recipient reads their own language)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.conversations.tokens import Ref, Token
from bot.domain.messages import Button, Reply
from bot.features.reports import routing
from bot.features.reports import store as issues
from bot.features.reports.model import Category, EventKind, Issue, PhotoStage, Status
from bot.features.reports.tokens import FIXED, REVIEW, STAYED, TASK, VIEW, Answer, Task, TaskAction
from bot.i18n import current_locale, t
from bot.services.dates import local_time
from bot.services.people import place_label
from bot.storage import grid, people
from bot.storage.db import Tx

Buttons = tuple[tuple[Button, ...], ...]

HISTORY_SHOWN = 20  # entries of the audit trail on a task page, the latest
HISTORY_TEXT = 200  # characters of a note or reason shown there
# The audit trail's entries a task page shows: events by kind, transitions by the status moved to (an escalation
# shows as its event, which has the reason).
_HISTORY_KINDS = {EventKind.ROUTE: "tasks.event.route", EventKind.NOTE: "tasks.event.note",
                  EventKind.INFO: "tasks.event.info", EventKind.ESCALATE: "tasks.event.escalate",
                  EventKind.HAND_UP: "tasks.event.hand_up", EventKind.OVERDUE: "tasks.event.overdue"}
_HISTORY_STATUSES = {Status.SUBMITTED: "tasks.event.submitted", Status.ACCEPTED: "tasks.event.accepted",
                     Status.RESOLVED: "tasks.event.resolved", Status.REOPENED: "tasks.event.reopened",
                     Status.REJECTED: "tasks.event.rejected", Status.DUPLICATE: "tasks.event.duplicate",
                     Status.CLOSED: "tasks.event.closed", Status.WITHDRAWN: "tasks.event.withdrawn"}


def category_name(category: Category) -> str:
    """The category's name in the current locale."""
    custom = category.name_en if current_locale() == "en" else category.name_zh
    return custom or t(f"category.{category.code}")


def status_name(issue: Issue) -> str:
    return t(f"status.{issue.status.value}")


def timeout_reason() -> str:
    """Why the clock escalated a task."""
    return t("task.timeout_reason")


def review_reason(rejected: str) -> str:
    """Why a rejected report went up for review: the reason it was turned down."""
    return t("task.review_reason", reason=rejected)


async def _category(tx: Tx, issue: Issue) -> str:
    """The name of the issue's category, offered or retired (categories are never deleted)."""
    found = await issues.category(tx, issue.category, active_only=False)
    assert found is not None
    return category_name(found)


async def place(tx: Tx, issue: Issue, *, with_room: bool = True) -> str:
    """Where the report is; the reporter's room when they live in its building and `with_room`."""
    room = ""
    if with_room and issue.reporter_id is not None:
        reporter = await people.by_id(tx, issue.reporter_id)
        room = reporter.room if reporter is not None and reporter.building_id == issue.unit_id else ""
    label = await place_label(tx, issue.unit_id, room)
    return f"{label} 📍{issue.location}" if issue.location else label


async def who(tx: Tx, person_id: int | None) -> str:
    """A grid member as the resident sees them: their role and the place, not their name."""
    person = None if person_id is None else await people.by_id(tx, person_id)
    if person is None:
        return t("task.someone")
    if person.roles:
        grant = person.roles[0]
        return f"{await place_label(tx, grant.unit_id)} {t(f'role.{grant.role.value}')}"
    if person.duties:
        grant_d = person.duties[0]
        return f"{await place_label(tx, grant_d.unit_id)} {t(f'duty.{grant_d.duty.value}')}"
    return t("task.someone")


# ------------------------------------------------------------------------------------------ grid members


async def task_card(tx: Tx, issue: Issue, timezone: str, now: datetime, *, reason: str = "",
                    words: str = "") -> Reply:
    """The task as pushed to a grid member, with its action buttons; a reopened one carries the resident's
    `words` (what is still wrong)."""
    lines = [t("task.card", ref=issue.ref, category=await _category(tx, issue), place=await place(tx, issue),
               description=issue.description or t("task.voice_only"), due=local_time(issue.due_at, timezone, now))]
    if reason:
        lines.append(t("task.escalated_because", reason=reason))
    if issue.status is Status.REOPENED:
        lines.append(t("task.reopened"))
        if words:
            lines.append(t("task.resident_says", words=words))
    elif issue.flagged:
        lines.append(t("task.flagged"))
    photos = await issues.photos(tx, issue.id, PhotoStage.REPORT)
    if len(photos) > 1:
        lines.append(t("task.more_photos", count=len(photos) - 1))
    buttons = task_buttons(issue, at_top=await issues.at_top(tx, issue))
    return Reply("\n".join(lines), buttons, photo=photos[0] if photos else "", voice=issue.voice_ref)


def task_buttons(issue: Issue, *, at_top: bool) -> Buttons:
    """The actions open to the task now: none once it is no longer open, no "accept" once accepted, and no
    "escalate" or "not ours" at the street (`at_top`: the last owner)."""
    if not issue.is_open:
        return ()
    actions = [("task.accept", TaskAction.ACCEPT)] if issue.status is not Status.ACCEPTED else []
    actions += [("task.note", TaskAction.NOTE),
                ("task.answer" if issue.legal else "task.resolve", TaskAction.RESOLVE)]
    actions += [] if at_top else [("task.escalate", TaskAction.ESCALATE), ("task.not_ours", TaskAction.HAND_UP)]
    actions += [("task.reject", TaskAction.REJECT), ("task.duplicate", TaskAction.DUPLICATE)]
    buttons = [Button(t(label), TASK.make(Task(action, issue.id))) for label, action in actions]
    return tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))


async def reopened(tx: Tx, issue: Issue, timezone: str, now: datetime, words: str, voice: str) -> Reply:
    """The task again, with what is still wrong: the resident's `words`, or their `voice` note."""
    card = await task_card(tx, issue, timezone, now, words=words or (t("task.voice_only") if voice else ""))
    return replace(card, voice=voice) if voice else card


async def taken_by(tx: Tx, issue: Issue, member_id: int) -> Reply:
    """To the others who got the task: who accepted it."""
    return Reply(t("task.taken_by", ref=issue.ref, who=await who(tx, member_id)))


async def resolved_by(tx: Tx, issue: Issue, member_id: int) -> Reply:
    """To the others who got the task: who resolved it."""
    return Reply(t("task.resolved_by", ref=issue.ref, who=await who(tx, member_id)))


def info_added(issue: Issue, text: str, photo: str) -> Reply:
    """The reporter's added words or photo, to whoever has the task."""
    return Reply(t("task.info_added", ref=issue.ref, text=text or "📷"), photo=photo)


async def moved_up(tx: Tx, issue: Issue) -> Reply:
    """To those who had the task: where it went up to."""
    return Reply(t("task.moved_up", ref=issue.ref, place=await place_label(tx, issue.owner_unit_id)))


def overdue(issue: Issue) -> Reply:
    return Reply(t("task.overdue", ref=issue.ref))


def reminder(issue: Issue, timezone: str, now: datetime) -> Reply:
    """The owners' reminder, most of the level's time gone, with the button that opens the task."""
    return Reply(t("task.reminder", ref=issue.ref, due=local_time(issue.due_at, timezone, now)),
                 ((Button(t("task.view"), TASK.make(Task(TaskAction.VIEW, issue.id))),),))


def withdrawn(issue: Issue) -> Reply:
    return Reply(t("task.withdrawn", ref=issue.ref))


def rated(issue: Issue, stars: int) -> Reply:
    """To the member who resolved it: the resident's stars, and comment if any."""
    return Reply(t("task.rated_comment" if issue.comment else "task.rated", ref=issue.ref, stars="★" * stars,
                   comment=issue.comment))


async def history(tx: Tx, issue: Issue, timezone: str, now: datetime) -> list[str]:
    """The audit trail as a grid member reads it, oldest first (the latest HISTORY_SHOWN entries): filing, routing
    and reassignment, who accepted, notes, the resident's additions, escalations with their reasons, outcomes."""
    lines = []
    for event in await issues.events(tx, issue.id):
        if event.kind is EventKind.TRANSITION:
            key = None if event.to_status is None else _HISTORY_STATUSES.get(event.to_status)
        else:
            key = _HISTORY_KINDS.get(event.kind)
        if key is None:
            continue
        where = ""
        if event.kind is EventKind.ROUTE:
            unit = await grid.by_code(tx, routing.described_owner(event.detail))
            where = "" if unit is None else await place_label(tx, unit.id)
        actor = event.actor_id
        by = t("tasks.by_resident") if actor is not None and actor == issue.reporter_id else (
            await who(tx, actor) if actor is not None else t("tasks.by_clock"))
        text = event.detail[:HISTORY_TEXT]
        line = t(key, at=local_time(event.at, timezone, now), who=by, place=where, text=text)
        lines.append(line if text else line.rstrip(" ：:"))  # an entry without words ends at its verb
    return lines[-HISTORY_SHOWN:]


# --------------------------------------------------------------------------------------------- residents


async def summary(tx: Tx, issue: Issue, timezone: str, now: datetime, *, with_room: bool) -> str:
    """One report as read in a list or detail view; the reporter's room only for the reporter and grid members."""
    return t("issue.summary", ref=issue.ref, category=await _category(tx, issue), status=status_name(issue),
             place=await place(tx, issue, with_room=with_room), description=issue.description or t("task.voice_only"),
             created=local_time(issue.created_at, timezone, now))


def _update(issue: Issue, key: str, *extra: tuple[str, str], **params: object) -> Reply:
    """A change told to the reporter and followers, with the button that opens the report and any `extra` ones
    (label key, token)."""
    view = (tuple(Button(t(label), token) for label, token in (("issue.view", VIEW.make(Ref(issue.id))), *extra)),)
    return Reply(t(key, ref=issue.ref, **params), view)


async def accepted(tx: Tx, issue: Issue, member_id: int) -> Reply:
    return _update(issue, "issue.accepted", who=await who(tx, member_id))


async def noted(tx: Tx, issue: Issue, member_id: int, note: str) -> Reply:
    return _update(issue, "issue.noted", who=await who(tx, member_id), note=note)


async def escalated(tx: Tx, issue: Issue) -> Reply:
    return _update(issue, "issue.escalated", place=await place_label(tx, issue.owner_unit_id))


def rejected(issue: Issue, reason: str, *, reviewable: bool) -> Reply:
    """Turned down, with the reason, and the button asking the next level up to review it when it may."""
    review = (("issue.review", REVIEW.make(Ref(issue.id))),) if reviewable else ()
    return _update(issue, "issue.rejected", *review, reason=reason)


def duplicate(issue: Issue, original_ref: str) -> Reply:
    return _update(issue, "issue.duplicate", original=original_ref)


def closed_unrated(issue: Issue) -> Reply:
    return _update(issue, "issue.closed_unrated")


def withdrawn_followed(issue: Issue) -> Reply:
    """To those who followed a report its reporter withdrew."""
    return Reply(t("issue.withdrawn_followed", ref=issue.ref))


def _ask_fixed(issue: Issue, key: str, *, photo: str = "", token: Token[Answer] = FIXED, **params: object) -> Reply:
    """Whether it is fixed, asked with yes/no buttons."""
    buttons = ((Button(t("issue.fixed_yes"), token.make(Answer(issue.id, True))),
                Button(t("issue.fixed_no"), token.make(Answer(issue.id, False)))),)
    return Reply(t(key, ref=issue.ref, **params), buttons, photo=photo)


async def resolved(tx: Tx, issue: Issue, member_id: int, note: str, photo: str) -> Reply:
    """Done (answered, for a legal question): what was done, and is it fixed?"""
    key = "issue.answered" if issue.legal else "issue.resolved" if note.strip() else "issue.done"
    return _ask_fixed(issue, key, photo=photo, note=note, who=await who(tx, member_id))


def followup_reminder(issue: Issue) -> Reply:
    return _ask_fixed(issue, "issue.followup_reminder")


def recheck(issue: Issue) -> Reply:
    """Infrastructure, some time after closing: did it stay fixed?"""
    return _ask_fixed(issue, "issue.recheck", token=STAYED)
