"""Pushes to people other than the one being answered: localized per recipient, written to the outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.messages import Button, Reply
from bot.i18n import translate
from bot.storage import outbox, people
from bot.storage.db import Tx


async def push(tx: Tx, *, person_id: int, idempotency: str, text_key: str, now: datetime,
               params: Mapping[str, object] | None = None,
               buttons: Sequence[Sequence[tuple[str, str]]] = ()) -> int:
    """Queue a message for every reachable account of `person_id`, in their language; returns rows queued.

    `idempotency` names the cause (e.g. "invite:inv-abc:accepted"), so repeating the cause queues nothing new.
    `buttons` are rows of (label key, token).
    """
    person = await people.by_id(tx, person_id)
    if person is None:
        return 0
    reply = Reply(
        translate(person.locale, text_key, **(params or {})),
        tuple(tuple(Button(translate(person.locale, label), token) for label, token in row) for row in buttons),
    )
    queued = 0
    for account in await people.accounts_of(tx, person_id):
        queued += await outbox.enqueue(tx, key=f"{idempotency}:{account.channel}:{account.user_id}",
                                       channel=account.channel, chat_id=account.chat_id, reply=reply, now=now)
    return queued
