"""Invites: an administrator invites a grid member with a one-time link (redeemed when joining)."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry, admins
from bot.features.base import Feature
from bot.features.invites import invite_create
from bot.features.invites.service import InviteError
from bot.features.invites.tokens import DUTY, ROLE

FEATURE = Feature(
    name="invites",
    flows=(invite_create.FLOW,),
    menu=(MenuEntry("menu.invite", "invite", "invite_create", 90, admins),),
    refusals=(InviteError,),
    tokens=(ROLE, DUTY),
)
