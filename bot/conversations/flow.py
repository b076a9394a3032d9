"""Flows as data: named states, each with a prompt and an input handler, plus the context a step runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Button, Inbound, Reply, Sender
from bot.domain.people import Person
from bot.i18n import t
from bot.storage import grid
from bot.storage.db import Tx

BACK = "nav:back"
CANCEL = "nav:cancel"
MENU = "nav:menu"
ABANDON = "abandon"  # the state that asks before a typed draft is dropped (see `confirm_abandon`)


@dataclass
class Ctx:
    """What one step may use: the open transaction, who is talking, and the flow's saved data."""

    tx: Tx
    sender: Sender
    person: Person | None
    now: datetime
    is_admin: bool
    link: Callable[[str], str]  # deep link for a /start payload on this channel
    data: dict[str, Any] = field(default_factory=dict)
    locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"  # the street's, for dates people read (reference numbers, times)


@dataclass(frozen=True, slots=True)
class Goto:
    """Move to `state` of the same flow and show its prompt (after `notes`)."""

    state: str
    notes: tuple[Reply, ...] = ()


@dataclass(frozen=True, slots=True)
class Retry:
    """Input not understood: say `note_key` kindly and ask the same question again."""

    note_key: str


@dataclass(frozen=True, slots=True)
class Done:
    """The flow is over; show `replies` and then the main menu (unless `menu` is False)."""

    replies: tuple[Reply, ...] = ()
    menu: bool = True


@dataclass(frozen=True, slots=True)
class Start:
    """Hand over to another flow."""

    flow: str
    data: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[Reply, ...] = ()


Transition = Goto | Retry | Done | Start
Prompt = Callable[[Ctx], Awaitable[Reply]]
Handler = Callable[[Ctx, Inbound], Awaitable[Transition]]
CancelHook = Callable[[Ctx, str], Awaitable[Transition | None]]  # (ctx, state) → instead of cancelling, or None


@dataclass(frozen=True, slots=True)
class State:
    prompt: Prompt
    handle: Handler
    back: bool = True  # offer "back" (the first state of a flow has nowhere to go back to)
    nav: bool = True  # offer the back / cancel row at all (not on the main menu, which is where cancel leads)


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    first: str
    states: Mapping[str, State]
    begin: Callable[[Ctx], Awaitable[Transition]] | None = None  # decides the first move from the start data
    command: str = ""  # a chat command that starts this flow; its argument arrives as data["args"]
    # Button tokens with these prefixes (e.g. "t:" on a pushed task) start this flow from wherever the person is;
    # the token arrives as data["token"] and `begin` must re-check that the person may use it.
    claims: tuple[str, ...] = ()
    on_cancel: CancelHook | None = None  # consulted when the person cancels (the button or /cancel)


def confirm_abandon(has_draft: Callable[[Ctx, str], bool], question: str, done: str) -> tuple[CancelHook, State]:
    """Cancel means one thing, "don't do it": where `has_draft` (something typed would be lost) it asks `question`
    first in the ABANDON state, whose yes drops the draft saying `done` and whose no goes back (to where they
    were). Returns the flow's `on_cancel` and that state."""

    async def on_cancel(ctx: Ctx, state: str) -> Transition | None:
        if state == ABANDON:
            return Done((Reply(t(done)),))
        return Goto(ABANDON) if has_draft(ctx, state) else None

    async def ask(ctx: Ctx) -> Reply:
        return Reply(t(question), choices([(t("draft.abandon_yes"), "ab:yes"), (t("draft.abandon_no"), BACK)]))

    async def handle(ctx: Ctx, inbound: Inbound) -> Transition:
        return Done((Reply(t(done)),)) if inbound.token == "ab:yes" else Retry("nav.use_buttons")

    return on_cancel, State(ask, handle, nav=False)


async def pick_unit(ctx: Ctx, inbound: Inbound, level: Level, parent_id: int | None) -> GridUnit | None:
    """The unit a pressed `u:<id>` token names, if it really is of `level` under `parent_id` (tokens are untrusted)."""
    unit_id = token_id(inbound, "u")
    unit = None if unit_id is None else await grid.by_id(ctx.tx, unit_id)
    if unit is None or unit.level is not level or (parent_id is not None and unit.parent_id != parent_id):
        return None
    return unit


async def unit_choices(ctx: Ctx, level: Level, parent_id: int | None) -> tuple[tuple[Button, ...], ...]:
    """Buttons for the units of `level` under `parent_id` (all of that level when None)."""
    units = await grid.children(ctx.tx, parent_id, level)
    return choices([(unit.name, f"u:{unit.id}") for unit in units])


def nav_row(*, back: bool = True) -> tuple[Button, ...]:
    """The back / cancel row every prompt carries."""
    row = [Button(t("nav.back"), BACK)] if back else []
    return (*row, Button(t("nav.cancel"), CANCEL))


def choices(items: list[tuple[str, str]], *, per_row: int = 2) -> tuple[tuple[Button, ...], ...]:
    """Lay out (label, token) pairs as rows of buttons."""
    buttons = [Button(label, token) for label, token in items]
    return tuple(tuple(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row))


def token_id(inbound: Inbound, prefix: str) -> int | None:
    """The id in a pressed button token `prefix:<id>`, or None when it is not such a token (tokens are untrusted)."""
    head, sep, tail = inbound.token.partition(":")
    if not sep or head != prefix or not (tail.isascii() and tail.isdigit()) or len(tail) > 12:
        return None
    return int(tail)


def unique(claims: Iterable[tuple[str, str]], what: str) -> dict[str, str]:
    """`claims` as (key, claimant) pairs, made a dict key → claimant; a key claimed twice raises ValueError naming
    both claimants (a command or token prefix must never quietly go to whichever flow came last)."""
    owners: dict[str, str] = {}
    for key, owner in claims:
        if key in owners:
            raise ValueError(f"{what} {key!r} is claimed by both {owners[key]} and {owner}")
        owners[key] = owner
    return owners
