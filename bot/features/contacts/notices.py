"""The wording of contacts: the card as residents read it, relayed messages and their reply button, and the push to
a member given a household. Names and places only: never a phone number or a channel id."""

from __future__ import annotations

from bot.conversations.tokens import Ref
from bot.domain.messages import Button, Reply
from bot.features.contacts.model import Card, Household, Message
from bot.features.contacts.tokens import REPLY
from bot.i18n import t
from bot.services.people import place_label
from bot.storage.db import Tx


async def card(tx: Tx, card: Card) -> str:
    """The card: name, party household, duties, promise."""
    duties = [t("role.party_member"), *(t(f"duty.{duty.value}") for duty in card.duties)]
    lines = [t("contact.card", name=card.name, unit=await place_label(tx, card.unit_id),
               duties=t("contact.duty_separator").join(duties))]
    lines.append(t("contact.card_promise", promise=card.promise) if card.promise else t("contact.card_no_promise"))
    return "\n".join(lines)


async def households(tx: Tx, listed: list[Household]) -> str:
    """The households a member looks after, one a line."""
    if not listed:
        return t("contact.households_none")
    rows = [await place_label(tx, household.building_id, household.room) for household in listed]
    return "\n".join([t("contact.households", count=len(listed)), *(f"· {row}" for row in rows)])


def reply_buttons(message_id: int) -> tuple[tuple[Button, ...], ...]:
    return ((Button(t("contact.reply"), REPLY.make(Ref(message_id))),),)


async def message(tx: Tx, message: Message, *, member: str | None) -> Reply:
    """A relayed message: from the household (its place) to the member, or from the `member` (their card's name)
    to the household."""
    if member is not None:
        head = t("contact.from_member", name=member)
    else:
        head = t("contact.from_household",
                 place=await place_label(tx, message.household.building_id, message.household.room))
    body = message.text if message.text else t("contact.voice_note")
    return Reply(f"{head}\n{body}", reply_buttons(message.id), voice=message.voice_ref)


async def assigned(tx: Tx, household: Household) -> Reply:
    return Reply(t("contact.assigned_push", place=await place_label(tx, household.building_id, household.room)))
