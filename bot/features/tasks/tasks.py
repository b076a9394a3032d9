"""A grid member's tasks: the open ones in their scope (overdue first), a task's card, and acting on it — accept,
note, resolve (photo and note), escalate, hand up ("not ours"), reject, mark as a duplicate of another report.

Pushed task buttons (`t:<action>:<id>`) start this flow from wherever the member is. Tokens are untrusted: they are
parsed strictly, and the services decide who may act, both when a task is opened and again at each final step; a
refusal ends the flow with its message (the engine's), a legal answer left empty is asked for again.
Diagram: tasks.mmd.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.conversations.flow import Ctx, Flow, Goto, Retry, State, Transition, choices, say
from bot.domain.messages import Button, Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.reports import notices, service, store
from bot.features.reports.model import Issue
from bot.features.reports.tokens import TASK, Task, TaskAction
from bot.features.tasks.tokens import DROP, DROP_NO, DROP_YES, FINISH, HAND_UP, LIST
from bot.i18n import t
from bot.services.people import place_label

ASKS = {TaskAction.NOTE: "note", TaskAction.RESOLVE: "resolve", TaskAction.ESCALATE: "escalate",
        TaskAction.HAND_UP: "hand_up", TaskAction.REJECT: "reject", TaskAction.DUPLICATE: "duplicate"}
OVERDUE = "⏰ "


@dataclass(slots=True)
class TaskData:
    """The task open (None until one is), its reference, whether it is a legal question (answered, not resolved),
    and the photo a resolution holds before it is done."""

    issue: int | None = None
    ref: str = ""
    legal: bool = False
    photo: str = ""


Member = Ctx[TaskData]


def _page(text: str) -> Goto:
    """An action went through: say so, and show the task page again."""
    return Goto("card", (Reply(text),))


async def _page_told(ctx: Member, issue: Issue, heard: str, unheard: str, **params: object) -> Goto:
    """`_page` with the `heard` text when the reporter or a follower was told, else the `unheard` one."""
    told = await service.anyone_told(ctx.tx, issue)
    return _page(t(heard if told else unheard, ref=issue.ref, **params))


def _with_cancel(buttons: tuple[tuple[Button, ...], ...] = ()) -> tuple[tuple[Button, ...], ...]:
    """A step's buttons and its "cancel", which means only "don't do it" (the engine's would leave for the menu)."""
    return (*buttons, (Button(t("nav.cancel"), DROP),))


def _dropped(ctx: Member) -> Goto:
    """The step is cancelled: back to the task page, after asking first when something given is held (a photo)."""
    return Goto("drop") if ctx.data.photo else Goto("card", (Reply(t("tasks.dropped")),))


async def ask_drop(ctx: Member) -> Reply:
    return Reply(t("tasks.drop_ask"), choices([(t("tasks.drop_yes"), DROP_YES), (t("tasks.drop_no"), DROP_NO)]))


async def on_drop(ctx: Member, inbound: Inbound) -> Transition:
    if inbound.token == DROP_YES:
        ctx.data.photo = ""
        return Goto("card", (Reply(t("tasks.dropped")),))
    if inbound.token == DROP_NO:
        return Goto("resolve")  # the one step that holds something before it is done
    return Retry("nav.use_buttons")


def _member(ctx: Member) -> Person:
    if ctx.person is None:
        raise service.IssueError("auth.denied")
    return ctx.person


def _issue(ctx: Member) -> int:
    """The task the steps after the list are about (set before any of them is entered)."""
    assert ctx.data.issue is not None
    return ctx.data.issue


async def begin(ctx: Member) -> Transition:
    token = ctx.entry.token
    return await (_open(ctx, token) if token and token != LIST else _first(ctx))


async def _first(ctx: Member) -> Transition:
    if not await service.tasks_for(ctx.tx, _member(ctx), ctx.now):
        return say(t("tasks.none"))
    return Goto("list")


async def _open(ctx: Member, token: str) -> Transition:
    """Act on a task token: view and accept at once, the others after asking for what they need."""
    task = TASK.parse(token)
    if task is None:
        return say(t("auth.denied"))
    member = _member(ctx)
    issue = await service.view_as_member(ctx.tx, task.issue, member)
    ctx.data = TaskData(issue=issue.id, ref=issue.ref, legal=issue.legal)
    if task.action is TaskAction.VIEW:
        photos = await service.more_photos(ctx.tx, issue)
        return Goto("card", tuple(Reply(t("tasks.photo", number=number, count=len(photos)), photo=path)
                                  for number, path in enumerate(photos, start=1)))
    if task.action is TaskAction.ACCEPT:
        issue = await service.accept(ctx.tx, issue.id, member, ctx.now)
        return await _page_told(ctx, issue, "tasks.accepted", "tasks.accepted_unheard")
    if not issue.is_open:  # no use asking for a note or reason the service will refuse
        return say(t("issue.error.state", status=t(f"status.{issue.status.value}")))
    if task.action in (TaskAction.ESCALATE, TaskAction.HAND_UP) and await store.at_top(ctx.tx, issue):
        return say(t("task.at_top"))
    return Goto(ASKS[task.action])


async def on_pick(ctx: Member, inbound: Inbound) -> Transition:
    """A typed number or label on the list or the card (pressed `t:` buttons are claimed before they get here)."""
    if not inbound.token.startswith(TASK.head):
        return Retry("nav.use_buttons")
    return await (_first(ctx) if inbound.token == LIST else _open(ctx, inbound.token))


async def ask_list(ctx: Member) -> Reply:
    tasks = await service.tasks_for(ctx.tx, _member(ctx), ctx.now)
    if not tasks:
        return Reply(t("tasks.none"))
    lines, items = [t("tasks.list", count=len(tasks))], []
    for issue in tasks:
        category = await store.category(ctx.tx, issue.category)
        label = (OVERDUE if issue.due_at <= ctx.now else "") + f"{issue.ref} " + (
            notices.category_name(category) if category else issue.category)
        lines.append(t("tasks.line", task=label, place=await place_label(ctx.tx, issue.unit_id)))
        items.append((label, TASK.make(Task(TaskAction.VIEW, issue.id))))
    return Reply("\n".join(lines), choices(items, per_row=1))


async def ask_card(ctx: Member) -> Reply:
    try:
        issue = await service.view_as_member(ctx.tx, _issue(ctx), _member(ctx))
    except service.IssueError as error:  # no longer theirs: said in place of the page, the flow kept
        return Reply(t(error.key, **error.params))
    card = await notices.task_card(ctx.tx, issue, ctx.timezone, ctx.now)
    status = t("tasks.status", status=t(f"status.{issue.status.value}"))
    trail = "\n".join([t("tasks.history"), *await notices.history(ctx.tx, issue, ctx.timezone, ctx.now)])
    back = (Button(t("menu.tasks"), LIST),)
    return replace(card, text=f"{card.text}\n{status}\n\n{trail}", buttons=(*card.buttons, back))


def _text_state(question: Callable[[str], str], act: Callable[[Member, str], Awaitable[Transition]]) -> State[TaskData]:
    """A state asking `question(ref)` for a text (a note, a reason) that `act` then passes to the service."""

    async def ask(ctx: Member) -> Reply:
        return Reply(question(ctx.data.ref), _with_cancel())

    async def on_text(ctx: Member, inbound: Inbound) -> Transition:
        if inbound.token == DROP:
            return _dropped(ctx)
        text = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
        if not text:
            return Retry("tasks.text_expected")
        return await act(ctx, text)

    return State(ask, on_text, nav=False)


async def _note(ctx: Member, text: str) -> Transition:
    issue = await service.add_note(ctx.tx, _issue(ctx), _member(ctx), text, ctx.now)
    return _page(t("tasks.noted", ref=issue.ref))


async def _escalate(ctx: Member, reason: str, *, hand_up: bool = False) -> Transition:
    issue = await service.escalate(ctx.tx, _issue(ctx), _member(ctx), reason, ctx.now, ctx.timezone,
                                   hand_up=hand_up)
    return _page(t("task.moved_up", ref=issue.ref, place=await place_label(ctx.tx, issue.owner_unit_id)))


async def _reject(ctx: Member, reason: str) -> Transition:
    issue = await service.reject(ctx.tx, _issue(ctx), _member(ctx), reason, ctx.now)
    return await _page_told(ctx, issue, "tasks.rejected", "tasks.rejected_unheard")


async def _duplicate(ctx: Member, original: str) -> Transition:
    issue = await service.mark_duplicate(ctx.tx, _issue(ctx), _member(ctx), original, ctx.now)
    return await _page_told(ctx, issue, "tasks.marked_duplicate", "tasks.marked_duplicate_unheard",
                            original=original.strip().upper())


async def ask_resolve(ctx: Member) -> Reply:
    legal, ref = ctx.data.legal, ctx.data.ref
    lines = [t("tasks.answer_ask", ref=ref) if legal else t("tasks.resolve_ask", ref=ref)]
    if ctx.data.photo:
        lines.append(t("tasks.photo_attached"))
    return Reply("\n".join(lines), _with_cancel(() if legal else choices([(t("tasks.finish"), FINISH)])))


async def on_resolve(ctx: Member, inbound: Inbound) -> Transition:
    """A photo is kept (its caption, if any, is the note); a text or "finish" resolves the task."""
    if inbound.token == DROP:
        return _dropped(ctx)
    if inbound.kind is InboundKind.PHOTO:
        ctx.data.photo = inbound.media_ref
        if not inbound.text.strip():
            return Goto("resolve")
    elif inbound.token != FINISH and not (inbound.kind is InboundKind.TEXT and inbound.text.strip()):
        return Retry("tasks.resolve_expected")
    issue = await service.resolve(ctx.tx, _issue(ctx), _member(ctx), inbound.text.strip(), ctx.data.photo, ctx.now)
    return await _page_told(ctx, issue, "tasks.resolved", "tasks.resolved_unasked")


async def ask_hand_up(ctx: Member) -> Reply:
    return Reply(t("tasks.up_ask", ref=ctx.data.ref), _with_cancel(choices([(t("tasks.up_confirm"), HAND_UP)])))


async def on_hand_up(ctx: Member, inbound: Inbound) -> Transition:
    """Confirmed as is, or with a reason typed instead."""
    if inbound.token == DROP:
        return _dropped(ctx)
    if inbound.token == HAND_UP:
        reason = t("tasks.not_ours_reason")
    elif inbound.kind is InboundKind.TEXT and inbound.text.strip():
        reason = inbound.text.strip()
    else:
        return Retry("nav.use_buttons")
    return await _escalate(ctx, reason, hand_up=True)


FLOW = Flow(
    name="tasks",
    first="list",
    data=TaskData,
    begin=begin,
    claims=(TASK.head,),
    states={
        "list": State(ask_list, on_pick),
        "card": State(ask_card, on_pick, back=False),  # its own button leads back to the list
        "note": _text_state(lambda ref: t("tasks.note_ask", ref=ref), _note),
        "resolve": State(ask_resolve, on_resolve, nav=False),
        "escalate": _text_state(lambda ref: t("tasks.escalate_ask", ref=ref), _escalate),
        "hand_up": State(ask_hand_up, on_hand_up, nav=False),
        "drop": State(ask_drop, on_drop, nav=False),
        "reject": _text_state(lambda ref: t("tasks.reject_ask", ref=ref), _reject),
        "duplicate": _text_state(lambda ref: t("tasks.duplicate_ask", ref=ref), _duplicate),
    },
)
