"""The engine on neutral events: a flow's typed data is saved and resumed, the engine's own part kept apart; a
refusal a step raises is said once, its writes undone; saved conversations of the old layout resume."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clock import ManualClock, iso
from bot.conversations.engine import Engine
from bot.conversations.flow import Ctx, Done, Flow, Goto, Paused, Session, State, Transition
from bot.domain.messages import Inbound, InboundKind, Reply, Sender
from bot.domain.refusal import Refusal
from bot.features.catalog import discover
from bot.i18n import t, use_locale
from bot.storage import conversations, street_settings
from bot.storage.db import Database, _migrations, _statements

SENDER = Sender("console", "u1", "u1")


@dataclass(slots=True)
class Notes:
    typed: list[str] = field(default_factory=list)
    last: str | None = None


async def _ask(ctx: Ctx[Notes]) -> Reply:
    return Reply(f"typed so far: {','.join(ctx.data.typed)}")


async def _on_text(ctx: Ctx[Notes], inbound: Inbound) -> Transition:
    """Writes, keeps what was typed, then: "fix" is refused and asked again, "stop" is refused and ends,
    anything else moves on."""
    await street_settings.put(ctx.tx, "probe", inbound.text)
    ctx.data.typed.append(inbound.text)
    ctx.data.last = inbound.text
    if inbound.text == "fix":
        raise Refusal("auth.denied", retry=True)
    if inbound.text == "stop":
        raise Refusal("lecture.error.too_long", limit=5)
    return Goto("next")


async def _on_next(ctx: Ctx[Notes], inbound: Inbound) -> Transition:
    return Done((Reply("bye"),))


PROBE = Flow(name="probe", first="ask", data=Notes, command="probe",
             states={"ask": State(_ask, _on_text), "next": State(_ask, _on_next)})


def engine(db: Database, clock: ManualClock) -> Engine:
    return Engine(db, clock, {**discover().flows, PROBE.name: PROBE})


def text(value: str) -> Inbound:
    return Inbound(SENDER, InboundKind.TEXT, text=value)


async def saved(db: Database) -> tuple[str, str, dict[str, Any]] | None:
    async with db.read() as tx:
        return await conversations.load(tx, SENDER.channel, SENDER.user_id)


async def setting(db: Database) -> str | None:
    async with db.read() as tx:
        return await street_settings.get(tx, "probe")


async def test_typed_data_is_saved_and_resumed_by_a_new_engine(db: Database, clock: ManualClock) -> None:
    await engine(db, clock).handle(Inbound(SENDER, InboundKind.COMMAND, text="", command="probe"))
    replies = await engine(db, clock).handle(text("one"))  # a restart between steps: a new engine
    assert replies[-1].text == "typed so far: one"
    assert await saved(db) == ("probe", "next", {"data": {"typed": ["one"], "last": "one"}, "trail": ["ask"],
                                                 "paused": None, "locale": "zh_CN"})


async def test_a_fixable_refusal_asks_again_with_its_writes_and_data_undone(db: Database,
                                                                           clock: ManualClock) -> None:
    jinlin = engine(db, clock)
    await jinlin.handle(Inbound(SENDER, InboundKind.COMMAND, command="probe"))
    await jinlin.handle(text("one"))
    await jinlin.handle(Inbound(SENDER, InboundKind.BUTTON, token="nav:back"))

    replies = await jinlin.handle(text("fix"))

    with use_locale("zh_CN"):
        assert [reply.text for reply in replies] == [f"{t('auth.denied')}\n\ntyped so far: one"]
    assert await setting(db) == "one"  # the refused step's write is undone, the earlier step's kept
    state = await saved(db)
    assert state is not None and state[:2] == ("probe", "ask") and state[2]["data"] == {"typed": ["one"],
                                                                                        "last": "one"}


async def test_a_refusal_that_cannot_be_fixed_ends_the_flow_saying_why(db: Database, clock: ManualClock) -> None:
    jinlin = engine(db, clock)
    await jinlin.handle(Inbound(SENDER, InboundKind.COMMAND, command="probe"))

    replies = await jinlin.handle(text("stop"))

    with use_locale("zh_CN"):
        assert [reply.text for reply in replies] == [t("lecture.error.too_long", limit=5)]
    assert await setting(db) is None
    assert await saved(db) is None  # over (nobody registered: no menu follows)


def at_version_012(path: Path, data: dict[str, Any]) -> None:
    """A database as migrations 001–012 left it, with one conversation saved in the old layout."""
    with sqlite3.connect(path) as raw:
        for version, _, sql in _migrations():
            if version <= 12:
                for statement in _statements(sql):
                    raw.execute(statement)
        raw.execute("PRAGMA user_version = 12")
        raw.execute("INSERT INTO conversations (channel, user_id, flow, state, data, updated_at) VALUES "
                    "(?, ?, 'probe', 'next', ?, ?)", (SENDER.channel, SENDER.user_id, json.dumps(data),
                                                      iso(ManualClock().now())))


async def test_a_conversation_saved_in_the_old_layout_resumes(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "old.db"
    at_version_012(path, {"typed": ["one"], "_trail": ["ask"], "locale": "en", "token": "t:accept:3",
                          "_resume": {"flow": "menu", "state": "main", "data": {"_trail": ["x"], "keep": 1}}})
    db = Database(str(path))
    await db.open()
    try:
        state = await saved(db)
        assert state is not None
        session, data = Session.load(state[2])
        assert session == Session(["ask"], Paused("menu", "main", {"keep": 1}, ["x"]), "en")
        assert data == {"typed": ["one"]}

        replies = await engine(db, clock).handle(Inbound(SENDER, InboundKind.BUTTON, token="nav:back"))
        assert replies[-1].text == "typed so far: one"  # in English: the language chosen before joining
        with use_locale("en"):
            assert replies[-1].buttons[-1][-1].label == t("nav.cancel") != "✖ 取消"
    finally:
        await db.close()
