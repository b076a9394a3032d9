"""Runs flows: one event at a time per person, state saved on every step, global commands and navigation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from bot.clock import Clock
from bot.conversations.flow import (
    BACK,
    CANCEL,
    MENU,
    Ctx,
    Done,
    Entry,
    Flow,
    Goto,
    NoData,
    Paused,
    Retry,
    Session,
    Start,
    Transition,
    dump_data,
    load_data,
    nav_row,
    unique,
)
from bot.domain.messages import Inbound, InboundKind, Reply, clean_text
from bot.domain.refusal import Refusal
from bot.i18n import DEFAULT_LOCALE, normalize, t, use_locale
from bot.storage import conversations, inbox, outbox, people
from bot.storage.db import Database, Tx
from bot.storage.inbox import InboxEntry
from bot.storage.outbox import OutboxItem, Outgoing

log = logging.getLogger(__name__)

MENU_FLOW = "menu"
REGISTRATION_FLOW = "registration"
MAX_TEXT = 4000  # longer texts are refused kindly rather than stored

Step = tuple[list[Reply], tuple[str, str] | None]  # replies, and (flow, state) to save or None to forget


def merge(replies: list[Reply]) -> list[Reply]:
    """Fold plain notes into the message that follows them: one bubble per answer where possible.

    Replies carrying a photo or voice note are never merged (a caption is short, and the media must stay).
    """
    merged: list[Reply] = []
    for reply in replies:
        previous = merged[-1] if merged else None
        if previous is not None and not previous.buttons and not _media(previous) and not _media(reply):
            merged[-1] = replace(reply, text=f"{previous.text}\n\n{reply.text}")
        else:
            merged.append(reply)
    return merged


def _media(reply: Reply) -> bool:
    return bool(reply.photo or reply.voice)


class KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Any, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: Any) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[key]


class Engine:
    """Turns inbound events into replies by running the person's current flow."""

    def __init__(self, db: Database, clock: Clock, flows: Mapping[str, Flow[Any]], *,
                 admins: frozenset[tuple[str, str]] = frozenset(), default_locale: str = DEFAULT_LOCALE,
                 links: Mapping[str, Callable[[str], str]] | None = None, timezone: str = "Asia/Shanghai",
                 after_commit: Callable[[], None] = lambda: None) -> None:
        self._db = db
        self._clock = clock
        self._flows = flows
        self.admins = admins
        self._default_locale = default_locale
        self._links = dict(links or {})
        self._after_commit = after_commit
        self._locks = KeyedLocks()
        self._commands = unique(((flow.command, name) for name, flow in flows.items() if flow.command), "command")
        self._claims = unique(((prefix, name) for name, flow in flows.items() for prefix in flow.claims),
                              "button-token prefix")
        self._timezone = timezone

    def set_link(self, channel: str, build: Callable[[str], str]) -> None:
        """How deep links for /start payloads look on `channel` (known once the channel has started)."""
        self._links[channel] = build

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Handle one event that is not stored (the console); returns the replies for the person who sent it
        (pushes to others go to the outbox). Channel events come through the inbox: `handle_stored`.

        A failing step changes nothing (its transaction rolls back) and the person gets a kind apology.
        """
        try:
            return (await self._handle(inbound, None))[0]
        except Exception:
            log.exception("a %s step failed", inbound.kind.value)
            return [self.apology(inbound)]

    async def handle_stored(self, entry: InboxEntry, inbound: Inbound) -> list[OutboxItem]:
        """Handle a stored event (`inbound` is its event, media fetched): the step's transaction settles the entry
        and writes the replies as outbox rows claimed for the caller to send at once, so that a crash after the
        commit loses none. An entry settled before (handled already) yields nothing; a failing step settles it
        with a kind apology."""
        try:
            return (await self._handle(inbound, entry))[1]
        except Exception:
            log.exception("a %s step failed", inbound.kind.value)
            return await self.answer_stored(entry, [self.apology(inbound)])

    async def answer_stored(self, entry: InboxEntry, replies: list[Reply]) -> list[OutboxItem]:
        """Settle a stored event with `replies` and no step (e.g. its photo could not be fetched)."""
        async with self._db.write() as tx:
            if not await inbox.mark_done(tx, entry.id):
                return []
            return await self._write_replies(tx, entry, replies)

    def apology(self, inbound: Inbound) -> Reply:
        """The kind reply to an event that could not be handled."""
        return self.say(inbound, "error.internal")

    def say(self, inbound: Inbound, key: str) -> Reply:
        """The message `key` in the language the sender's device suggests (no step, no transaction)."""
        with use_locale(self._guess_locale(inbound)):
            return Reply(t(key))

    async def _handle(self, inbound: Inbound, entry: InboxEntry | None) -> tuple[list[Reply], list[OutboxItem]]:
        sender = inbound.sender
        async with self._locks.hold(sender.key):
            async with self._db.write() as tx:
                now = self._clock.now()
                if entry is not None and not await inbox.mark_done(tx, entry.id):
                    return [], []  # handled before
                person = await people.person_for(tx, sender.channel, sender.user_id)
                if person is not None:
                    await people.mark_reachable(tx, sender.channel, sender.user_id)
                saved = await conversations.load(tx, sender.channel, sender.user_id)
                flow_name, state, raw = saved or ("", "", {})
                session, data = Session.load(raw)
                flow = self._flows.get(flow_name)
                locale = person.locale if person else session.locale or self._guess_locale(inbound)
                ctx: Ctx[Any] = Ctx(tx=tx, sender=sender, person=person, now=now, is_admin=sender.key in self.admins,
                                    link=self._links.get(sender.channel, lambda payload: f"/start {payload}"),
                                    data=NoData() if flow is None else load_data(flow.data, data), locale=locale,
                                    timezone=self._timezone, session=session)
                with use_locale(locale):
                    replies, where = await self._dispatch(ctx, flow_name, state, inbound)
                if where is None:
                    await conversations.delete(tx, sender.channel, sender.user_id)
                else:
                    ctx.session.locale = ctx.locale if ctx.person is None else ""
                    await conversations.save(tx, sender.channel, sender.user_id, *where, ctx.session.dump(ctx.data),
                                             now)
                replies = merge(replies)
                if inbound.kind is InboundKind.BUTTON and replies:
                    replies[0] = replace(replies[0], edit=True)
                items = [] if entry is None else await self._write_replies(tx, entry, replies)
        self._after_commit()
        return replies, items

    async def _write_replies(self, tx: Tx, entry: InboxEntry, replies: list[Reply]) -> list[OutboxItem]:
        """The replies to a stored event as claimed outbox rows, keyed by its event id; one marked edit replaces the
        message whose button was pressed."""
        sender = entry.inbound.sender
        messages = [(Outgoing(outbox.reply_key(entry.inbound.event_id, n), sender.channel, sender.chat_id, reply),
                     entry.arrival.reply_ref if reply.edit else "") for n, reply in enumerate(replies)]
        return await outbox.add_claimed(tx, messages, self._clock.now())

    def _guess_locale(self, inbound: Inbound) -> str:
        return normalize(inbound.sender.language_hint) or self._default_locale

    async def _dispatch(self, ctx: Ctx[Any], flow_name: str, state: str, inbound: Inbound) -> Step:
        inbound = replace(inbound, text=clean_text(inbound.text))  # one cleaning for every flow's texts
        command = inbound.command if inbound.kind is InboundKind.COMMAND else ""
        home = REGISTRATION_FLOW if ctx.person is None else MENU_FLOW
        if command == "start":
            payload = inbound.text.strip()
            return await self._begin(ctx, REGISTRATION_FLOW if payload else home, entry=Entry(payload=payload))
        if command in ("cancel", "menu") or inbound.token in (CANCEL, MENU):
            cancelled = command == "cancel" or inbound.token == CANCEL
            if ctx.person is None and not cancelled:  # no menu before joining: the way to join instead
                note = t("nav.register_first")
                if flow_name == REGISTRATION_FLOW and state in self._flows[flow_name].states:
                    return await self._prompt(ctx, flow_name, state, note=note)
                return await self._begin(ctx, REGISTRATION_FLOW, note=note)
            flow = self._flows.get(flow_name)
            if cancelled and flow is not None and flow.on_cancel is not None and state in flow.states:
                instead = await flow.on_cancel(ctx, state)  # e.g. ask before a typed draft is dropped
                if instead is not None:
                    return await self._apply(ctx, flow_name, state, instead)
            key = "nav.cancelled" if ctx.person else "nav.cancelled_unregistered"
            return await self._finish(ctx, Done((Reply(t(key)),) if cancelled else ()))
        if command in self._commands:
            return await self._begin(ctx, self._commands[command], entry=Entry(args=inbound.text.strip()))
        claimed = self._claimed_by(inbound.token) if inbound.kind is InboundKind.BUTTON else None
        if claimed is not None and ctx.person is not None:
            return await self._claim(ctx, flow_name, state, inbound.token, claimed)
        note = t("help.text") if command == "help" else t("nav.unknown_command") if command else ""
        if flow_name not in self._flows or state not in self._flows[flow_name].states:
            return await self._begin(ctx, home, note=note)
        if note:
            return await self._prompt(ctx, flow_name, state, note=note)
        if inbound.token == BACK:
            trail = ctx.session.trail
            return await self._prompt(ctx, flow_name, trail.pop() if trail else state)
        if inbound.kind is InboundKind.TEXT and len(inbound.text) > MAX_TEXT:
            return await self._prompt(ctx, flow_name, state, note=t("nav.too_long"))
        inbound = await self._typed_choice(ctx, flow_name, state, inbound)
        claimed = self._claimed_by(inbound.token) if inbound.kind is InboundKind.BUTTON else None
        if claimed not in (None, flow_name) and ctx.person is not None:  # another flow's button, typed
            return await self._claim(ctx, flow_name, state, inbound.token, str(claimed))
        handle = self._flows[flow_name].states[state].handle
        return await self._apply(ctx, flow_name, state, await self._step(ctx, state, lambda: handle(ctx, inbound)))

    async def _step(self, ctx: Ctx[Any], state: str, run: Callable[[], Awaitable[Transition]]) -> Transition:
        """Run a flow's handler or `begin`; a `Refusal` it raises undoes its writes and its data changes and is said:
        asking `state` again when it can be fixed there, else ending the flow."""
        before = load_data(type(ctx.data), dump_data(ctx.data))
        try:
            async with ctx.tx.savepoint():
                return await run()
        except Refusal as refusal:
            ctx.data = before
            note = Reply(t(refusal.key, **refusal.params))
            return Goto(state, (note,)) if refusal.retry and state else Done((note,))

    async def _claim(self, ctx: Ctx[Any], flow_name: str, state: str, token: str, claimed: str) -> Step:
        """Begin the flow `claimed` that `token` is for, pausing the one the person is in (resumed when it ends)."""
        interrupted = (flow_name in self._flows and flow_name not in (MENU_FLOW, claimed)
                       and state in self._flows[flow_name].states)
        paused = Paused(flow_name, state, dump_data(ctx.data), ctx.session.trail) if interrupted else None
        return await self._begin(ctx, claimed, entry=Entry(token=token), paused=paused)

    def _claimed_by(self, token: str) -> str | None:
        head, sep, _ = token.partition(":")
        return self._claims.get(head + sep) if sep else None

    async def _typed_choice(self, ctx: Ctx[Any], flow_name: str, state: str, inbound: Inbound) -> Inbound:
        """Typing a button's number or its exact label counts as pressing it (console, old phones, WeCom)."""
        if inbound.kind is not InboundKind.TEXT:
            return inbound
        try:
            prompt = await self._flows[flow_name].states[state].prompt(ctx)
        except Refusal:  # the question is gone: the step says why
            return inbound
        buttons = [button for row in prompt.buttons for button in row]
        text = inbound.text.strip()
        for number, button in enumerate(buttons, start=1):
            if text in (str(number), button.label):
                return replace(inbound, kind=InboundKind.BUTTON, token=button.token, text="")
        return inbound

    async def _apply(self, ctx: Ctx[Any], flow_name: str, state: str, move: Transition) -> Step:
        if isinstance(move, Retry):
            return await self._prompt(ctx, flow_name, state, note=t(move.note_key))
        if isinstance(move, Goto):
            if state and state != move.state:
                ctx.session.trail.append(state)
            replies, where = await self._prompt(ctx, flow_name, move.state)
            return [*move.notes, *replies], where
        if isinstance(move, Start):
            replies, where = await self._begin(ctx, move.flow, move.data)
            return [*move.notes, *replies], where
        return await self._finish(ctx, move)

    async def _begin(self, ctx: Ctx[Any], flow_name: str, data: Mapping[str, Any] | None = None, *,
                     entry: Entry | None = None, paused: Paused | None = None, note: str = "") -> Step:
        """Start `flow_name`: its data from `data`, `entry` saying how it was entered, `paused` the flow it
        interrupts (resumed when it ends; any other paused flow is forgotten)."""
        flow = self._flows[flow_name]
        ctx.data, ctx.entry = load_data(flow.data, data or {}), entry or Entry()
        ctx.session.trail, ctx.session.paused = [], paused
        if flow.begin is None:
            return await self._prompt(ctx, flow_name, flow.first, note=note)
        begin = flow.begin
        replies, where = await self._apply(ctx, flow_name, "", await self._step(ctx, "", lambda: begin(ctx)))
        return ([Reply(note)] if note else []) + replies, where

    async def _finish(self, ctx: Ctx[Any], done: Done) -> Step:
        if done.menu:  # the step may have changed who they are (an invite: a role; registration: a person)
            ctx.person = await people.person_for(ctx.tx, ctx.sender.channel, ctx.sender.user_id)
        if ctx.person is None or not done.menu:
            return list(done.replies), None
        paused, ctx.session.paused = ctx.session.paused, None
        if paused is not None and paused.flow in self._flows:  # a pushed button interrupted another flow: back
            ctx.data = load_data(self._flows[paused.flow].data, paused.data)
            ctx.session.trail = paused.trail
            replies, where = await self._prompt(ctx, paused.flow, paused.state)
            return [*done.replies, *replies], where
        replies, where = await self._begin(ctx, MENU_FLOW)
        return [*done.replies, *replies], where

    async def _prompt(self, ctx: Ctx[Any], flow_name: str, state: str, note: str = "") -> Step:
        if flow_name not in self._flows or state not in self._flows[flow_name].states:
            return await self._finish(ctx, Done())
        step = self._flows[flow_name].states[state]
        with use_locale(ctx.locale):
            try:
                prompt = await step.prompt(ctx)
            except Refusal as refusal:  # what the question was about is gone or no longer theirs
                return await self._finish(ctx, Done((Reply(t(refusal.key, **refusal.params)),)))
            nav = nav_row(back=step.back and bool(ctx.session.trail))
        if step.nav:
            prompt = replace(prompt, buttons=(*prompt.buttons, nav))
        return ([Reply(note)] if note else []) + [prompt], (flow_name, state)
