"""亮身份: party members' cards shown to the households they look after, messages between them, and households
assigned to party households in the chat."""

from __future__ import annotations

from typing import Any

from bot.conversations.flow import Ctx
from bot.conversations.menu import MenuEntry
from bot.features.base import Feature
from bot.features.contacts import assign, card, contact, service
from bot.features.contacts.service import ContactError
from bot.features.contacts.tokens import CODECS
from bot.storage.media import MediaColumn


async def has_contact(ctx: Ctx[Any]) -> bool:
    """Residents whose home a party member looks after."""
    return await service.home_contact(ctx.tx, ctx.person) is not None


def party_members(ctx: Ctx[Any]) -> bool:
    return service.is_member(ctx.person)


async def assigners(ctx: Ctx[Any]) -> bool:
    """Complex secretaries and administrators."""
    return bool(await service.branches(ctx.tx, ctx.person, ctx.is_admin))


FEATURE = Feature(
    name="contacts",
    flows=(card.FLOW, contact.FLOW, assign.FLOW),
    menu=(MenuEntry("menu.contact", "contact", "contact", 35, has_contact),
          MenuEntry("menu.member_card", "member_card", "member_card", 36, party_members),
          MenuEntry("menu.assign_contact", "assign_contact", "assign_contact", 65, assigners)),
    media=(MediaColumn("contact_messages", "voice_ref", "sender_id"),),  # its rows go with the sender
    refusals=(ContactError,),
    tokens=CODECS,
)
