"""Flows as data: named states, each with a prompt and an input handler, plus the context a step runs in.

A flow keeps what it has gathered in its own dataclass (`Flow.data`), saved with the conversation as JSON: its fields
hold JSON values (str, int, float, bool, None, lists and dicts of them). What the engine keeps of a conversation —
the back trail, a paused flow, an unregistered person's language — is apart from it, in `Session`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from bot.conversations.tokens import Ref, Token
from bot.domain.grid import GridUnit, Level
from bot.domain.messages import Button, Inbound, InboundKind, Reply, Sender
from bot.domain.people import Person
from bot.i18n import t
from bot.storage import grid
from bot.storage.db import Tx

BACK = "nav:back"
CANCEL = "nav:cancel"
MENU = "nav:menu"
ABANDON = "abandon"  # the state that asks before a typed draft is dropped (see `confirm_abandon`)
ABANDON_YES = "ab:yes"
UNIT = Token("u", Ref)  # a grid unit picked from a list


D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class NoData:
    """The data of a flow that keeps nothing between steps."""


def load_data(kind: type[D], raw: Mapping[str, Any]) -> D:
    """`kind` (a flow's data class) from saved or handed-over values; keys it no longer has are dropped (a
    conversation saved by an older version resumes)."""
    names = {item.name for item in fields(kind)}  # type: ignore[arg-type]
    return kind(**{key: value for key, value in raw.items() if key in names})


def dump_data(data: object) -> dict[str, Any]:
    """A flow's data as the JSON object saved with the conversation."""
    return asdict(data)  # type: ignore[call-overload, no-any-return]


@dataclass(slots=True)
class UnitPath:
    """Flow data for walking down the grid: the community, complex and building picked so far (None: not yet)."""

    community: int | None = None
    complex: int | None = None
    building: int | None = None

    def picked(self, level: Level | None) -> int | None:
        """The unit picked at `level` (None: not yet, or no level)."""
        return ({Level.COMMUNITY: self.community, Level.COMPLEX: self.complex, Level.BUILDING: self.building}
                .get(level) if level else None)

    def pick(self, unit: GridUnit) -> None:
        if unit.level is Level.COMMUNITY:
            self.community = unit.id
        elif unit.level is Level.COMPLEX:
            self.complex = unit.id
        elif unit.level is Level.BUILDING:
            self.building = unit.id


@dataclass(frozen=True, slots=True)
class Entry:
    """How the flow was entered, for its `begin`: a command's argument, a pushed button's token (untrusted), a
    /start payload."""

    args: str = ""
    token: str = ""
    payload: str = ""


@dataclass(frozen=True, slots=True)
class Paused:
    """A flow a pushed button interrupted, resumed where it was when the button's flow ends."""

    flow: str
    state: str
    data: dict[str, Any]
    trail: list[str]


@dataclass(slots=True)
class Session:
    """The engine's part of a conversation (flows do not touch it): the states "back" returns to, a paused flow,
    and the language an unregistered person chose."""

    trail: list[str] = field(default_factory=list)
    paused: Paused | None = None
    locale: str = ""

    def dump(self, data: object) -> dict[str, Any]:
        """The saved conversation: the flow's `data` and the engine's part."""
        paused = None if self.paused is None else asdict(self.paused)
        return {"data": dump_data(data), "trail": self.trail, "paused": paused, "locale": self.locale}

    @classmethod
    def load(cls, saved: Mapping[str, Any]) -> tuple[Session, dict[str, Any]]:
        """The engine's part of a saved conversation, and the flow's data as saved."""
        paused = saved.get("paused")
        return cls(list(saved.get("trail") or []), Paused(**paused) if paused else None,
                   str(saved.get("locale") or "")), dict(saved.get("data") or {})


@dataclass
class Ctx(Generic[D]):
    """What one step may use: the open transaction, who is talking, the flow's data, how the flow was entered."""

    tx: Tx
    sender: Sender
    person: Person | None
    now: datetime
    is_admin: bool
    link: Callable[[str], str]  # deep link for a /start payload on this channel
    data: D
    entry: Entry = Entry()
    locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"  # the street's, for dates people read (reference numbers, times)
    session: Session = field(default_factory=Session)

    @property
    def resuming(self) -> bool:
        """This flow interrupted another, which resumes when it ends."""
        return self.session.paused is not None


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


def photo_or_skip(inbound: Inbound, skip: str) -> str | None:
    """A step asking for one photo or its skip button `skip`: the photo's reference, "" for the button, None for
    anything else (asked again)."""
    if inbound.kind is InboundKind.PHOTO and inbound.media_ref:
        return inbound.media_ref
    return "" if inbound.token == skip else None


def say(text: str) -> Done:
    """End the flow with one message (then the main menu)."""
    return Done((Reply(text),))


@dataclass(frozen=True, slots=True)
class Start:
    """Hand over to another flow, its data starting from `data` (its data class's field names)."""

    flow: str
    data: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[Reply, ...] = ()


Transition = Goto | Retry | Done | Start
Prompt = Callable[[Ctx[D]], Awaitable[Reply]]
Handler = Callable[[Ctx[D], Inbound], Awaitable[Transition]]
CancelHook = Callable[[Ctx[D], str], Awaitable[Transition | None]]  # (ctx, state) → instead of cancelling, or None


@dataclass(frozen=True, slots=True)
class State(Generic[D]):
    prompt: Prompt[D]
    handle: Handler[D]
    back: bool = True  # offer "back" (the first state of a flow has nowhere to go back to)
    nav: bool = True  # offer the back / cancel row at all (not on the main menu, which is where cancel leads)


class Advertised(StrEnum):
    """Whom a flow's command is listed for in the channel's command menu (Telegram's "/" list)."""

    NOBODY = "nobody"
    EVERYONE = "everyone"
    ADMINS = "admins"


@dataclass(frozen=True, slots=True)
class Flow(Generic[D]):
    name: str
    first: str
    states: Mapping[str, State[D]]
    data: type[D]  # what the flow keeps between steps: a dataclass whose fields all have defaults
    begin: Callable[[Ctx[D]], Awaitable[Transition]] | None = None  # decides the first move (see Ctx.entry)
    command: str = ""  # a chat command that starts this flow; its argument arrives as ctx.entry.args
    advertised: Advertised = Advertised.NOBODY  # whom the command is listed for (its description: "cmd.<command>")
    # Button tokens with these prefixes (e.g. "t:" on a pushed task) start this flow from wherever the person is;
    # the token arrives as ctx.entry.token and `begin` must re-check that the person may use it.
    claims: tuple[str, ...] = ()
    on_cancel: CancelHook[D] | None = None  # consulted when the person cancels (the button or /cancel)


def confirm_abandon(has_draft: Callable[[Ctx[D], str], bool], question: str,
                    done: str) -> tuple[CancelHook[D], State[D]]:
    """Cancel means one thing, "don't do it": where `has_draft` (something typed would be lost) it asks `question`
    first in the ABANDON state, whose yes drops the draft saying `done` and whose no goes back (to where they
    were). Returns the flow's `on_cancel` and that state."""

    async def on_cancel(ctx: Ctx[D], state: str) -> Transition | None:
        if state == ABANDON:
            return Done((Reply(t(done)),))
        return Goto(ABANDON) if has_draft(ctx, state) else None

    async def ask(ctx: Ctx[D]) -> Reply:
        return Reply(t(question), choices([(t("draft.abandon_yes"), ABANDON_YES), (t("draft.abandon_no"), BACK)]))

    async def handle(ctx: Ctx[D], inbound: Inbound) -> Transition:
        return Done((Reply(t(done)),)) if inbound.token == ABANDON_YES else Retry("nav.use_buttons")

    return on_cancel, State(ask, handle, nav=False)


async def pick_unit(ctx: Ctx[Any], inbound: Inbound, level: Level, parent_id: int | None) -> GridUnit | None:
    """The unit a pressed `UNIT` token names, if it really is of `level` under `parent_id` (tokens are untrusted)."""
    ref = UNIT.parse(inbound.token)
    unit = None if ref is None else await grid.by_id(ctx.tx, ref.id)
    if unit is None or unit.level is not level or (parent_id is not None and unit.parent_id != parent_id):
        return None
    return unit


async def unit_choices(ctx: Ctx[Any], level: Level, parent_id: int | None) -> tuple[tuple[Button, ...], ...]:
    """Buttons for the units of `level` under `parent_id` (all of that level when None)."""
    units = await grid.children(ctx.tx, parent_id, level)
    return choices([(unit.name, UNIT.make(Ref(unit.id))) for unit in units])


def nav_row(*, back: bool = True) -> tuple[Button, ...]:
    """The back / cancel row every prompt carries."""
    row = [Button(t("nav.back"), BACK)] if back else []
    return (*row, Button(t("nav.cancel"), CANCEL))


def choices(items: list[tuple[str, str]], *, per_row: int = 2) -> tuple[tuple[Button, ...], ...]:
    """Lay out (label, token) pairs as rows of buttons."""
    buttons = [Button(label, token) for label, token in items]
    return tuple(tuple(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row))


def unique(claims: Iterable[tuple[str, str]], what: str) -> dict[str, str]:
    """`claims` as (key, claimant) pairs, made a dict key → claimant; a key claimed twice raises ValueError naming
    both claimants (a command or token prefix must never quietly go to whichever flow came last)."""
    owners: dict[str, str] = {}
    for key, owner in claims:
        if key in owners:
            raise ValueError(f"{what} {key!r} is claimed by both {owners[key]} and {owner}")
        owners[key] = owner
    return owners
