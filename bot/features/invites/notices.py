"""Invites' wording, in the current locale: the inviter's news that their invite was accepted."""

from __future__ import annotations

from bot.domain.grid import GridUnit
from bot.domain.messages import Reply
from bot.domain.people import Person, Role
from bot.i18n import t
from bot.services.people import place_label
from bot.storage.db import Tx


async def accepted(tx: Tx, invitee: Person, role: Role, unit: GridUnit) -> Reply:
    """Tells the inviter who took up their invite to `role` at `unit`."""
    return Reply(t("invite.accepted", name=invitee.display_name or t("invite.someone"), role=t(f"role.{role.value}"),
                   place=await place_label(tx, unit.id)))
