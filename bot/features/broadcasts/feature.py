"""Notices (群发通知): a scope, an audience, a text and a photo, sent through the outbox with a delivery report."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry, organizers
from bot.features.base import Feature
from bot.features.broadcasts import broadcast
from bot.features.broadcasts.service import BroadcastError
from bot.features.broadcasts.tokens import AUDIENCE
from bot.storage.media import MediaColumn

FEATURE = Feature(
    name="broadcasts",
    flows=(broadcast.FLOW,),
    menu=(MenuEntry("menu.broadcast", "broadcast", "broadcast", 50, organizers),),
    media=(MediaColumn("broadcasts", "photo"),),  # the street's notice: it stays when its author is forgotten
    refusals=(BroadcastError,),
    tokens=(AUDIENCE,),
)
