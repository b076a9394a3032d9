"""Pushes to people other than the one being answered: rendered in each recipient's language, written to the
outbox in the caller's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime

from bot.domain.messages import Button, Reply
from bot.i18n import current_locale, t, use_locale
from bot.storage import outbox, people
from bot.storage.db import Tx

Render = Callable[[], Awaitable[Reply]]


async def push_reply(tx: Tx, *, person_id: int, idempotency: str, now: datetime, render: Render) -> int:
    """Queue what `render()` builds (called in the recipient's locale) for every reachable account of
    `person_id`; returns rows queued. `idempotency` names the cause (e.g. "issue:42:accepted"), so repeating the
    cause queues nothing new."""
    person = await people.by_id(tx, person_id)
    if person is None:
        return 0
    with use_locale(person.locale):
        reply = await render()
    queued = 0
    for account in await people.accounts_of(tx, person_id):
        queued += await outbox.enqueue(tx, key=f"{idempotency}:{account.channel}:{account.user_id}",
                                       channel=account.channel, chat_id=account.chat_id, reply=reply, now=now)
    return queued


def once_per_locale(render: Render) -> Render:
    """The same push to many people: built once per language, not once per person."""
    built: dict[str, Reply] = {}

    async def cached() -> Reply:
        locale = current_locale()
        if locale not in built:
            built[locale] = await render()
        return built[locale]

    return cached


async def push_all(tx: Tx, person_ids: Iterable[int], *, idempotency: str, now: datetime,
                   render: Render) -> list[int]:
    """`push_reply` of the same push to each of `person_ids`, built once per language; returns the people it was
    queued for (those with a reachable account, not told of this cause before)."""
    once = once_per_locale(render)
    return [person_id for person_id in person_ids
            if await push_reply(tx, person_id=person_id, idempotency=idempotency, now=now, render=once)]


async def push(tx: Tx, *, person_id: int, idempotency: str, text_key: str, now: datetime,
               params: Mapping[str, object] | None = None,
               buttons: Sequence[Sequence[tuple[str, str]]] = ()) -> int:
    """`push_reply` of one catalog message; `buttons` are rows of (label key, token)."""

    async def render() -> Reply:
        rows = tuple(tuple(Button(t(label), token) for label, token in row) for row in buttons)
        return Reply(t(text_key, **(params or {})), rows)

    return await push_reply(tx, person_id=person_id, idempotency=idempotency, now=now, render=render)
