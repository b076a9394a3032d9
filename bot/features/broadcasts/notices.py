"""Broadcasts' wording, in the current locale: the audience's name, the message recipients see, and the author's
status line and delivery report."""

from __future__ import annotations

from bot.domain.messages import Reply
from bot.features.broadcasts.model import Audience, Broadcast, Progress
from bot.i18n import t
from bot.services.people import place_label
from bot.storage.db import Tx


def audience_label(audience: Audience) -> str:
    labels = {Audience.RESIDENTS: t("broadcast.audience.residents"), Audience.MEMBERS: t("broadcast.audience.members"),
              Audience.ALL: t("broadcast.audience.all")}
    return labels[audience]


async def message(tx: Tx, unit_id: int, text: str, photo: str = "") -> Reply:
    """What a recipient sees: who it is from, the text, the photo."""
    return Reply(t("broadcast.message", place=await place_label(tx, unit_id), text=text), photo=photo)


async def status_line(tx: Tx, broadcast: Broadcast, counts: Progress) -> Reply:
    """The author's status line as `counts` stand, or the delivery report once they are finished; each replaces the
    previous one in the author's chat (the broadcast's slot)."""
    place, audience = await place_label(tx, broadcast.unit_id), audience_label(broadcast.audience)
    if counts.finished:
        text = t("broadcast.report", place=place, audience=audience, total=_n(counts.total), sent=_n(counts.sent),
                 unreachable=_n(counts.unreachable), failed=_n(counts.failed))
    else:
        text = t("broadcast.progress", place=place, audience=audience, sent=_n(counts.sent), total=_n(counts.total),
                 failed=_n(counts.unreachable + counts.failed))
    return Reply(text, slot=f"broadcast:{broadcast.id}")


def _n(number: int) -> str:
    return f"{number:,}"
