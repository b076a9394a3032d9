"""Invites: an admin creates a one-time code for a role at a unit; the invitee redeems it once."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from bot.domain.people import Duty, Role
from bot.domain.refusal import Refusal
from bot.features.invites import notices
from bot.features.invites import store as invites
from bot.features.invites.model import Redemption, Status
from bot.services import notify
from bot.storage import grid, people
from bot.storage.db import Tx

PREFIX = "inv-"
DEFAULT_DAYS = 7
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to read aloud
_DUTY_SEPARATORS = re.compile(r"[,，、\s]")


class InviteError(Refusal):
    """A bad invite request."""


def is_invite_payload(payload: str) -> bool:
    return payload.lower().startswith(PREFIX)


def parse_duties(text: str) -> tuple[Duty, ...]:
    """Duties from "safety,sanitation" (as typed after /invite or given to --duty), each once, in order."""
    names = dict.fromkeys(name.strip() for name in _DUTY_SEPARATORS.split(text) if name.strip())
    known = {duty.value: duty for duty in Duty}
    for name in names:
        if name not in known:
            raise InviteError("invite.error.unknown_duty", duty=name, duties=", ".join(known))
    return tuple(known[name] for name in names)


async def create(tx: Tx, *, role: Role, unit_code: str, duties: tuple[Duty, ...], created_by: str, now: datetime,
                 days: int = DEFAULT_DAYS) -> str:
    """A fresh one-time code for `role` at the unit `unit_code` (which must be of the role's level)."""
    unit = await grid.by_code(tx, unit_code)
    if unit is None:
        raise InviteError("invite.error.unknown_unit", code=unit_code)
    if unit.level != role.level:
        raise InviteError("invite.error.wrong_level", code=unit_code)
    if not 1 <= days <= 90:
        raise InviteError("invite.error.days")
    code = PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    await invites.create(tx, code=code, role=role, unit_id=unit.id, duties=duties, created_by=created_by, now=now,
                         expires_at=now + timedelta(days=days))
    return code


async def check(tx: Tx, code: str, now: datetime) -> Redemption:
    """What redeeming `code` now would give, without using it."""
    invite = await invites.get(tx, code.lower())
    if invite is None:
        return Redemption(Status.UNKNOWN)
    if invite.used:
        return Redemption(Status.USED)
    if invite.expires_at <= now:
        return Redemption(Status.EXPIRED)
    return Redemption(Status.OK, invite.role, await grid.by_id(tx, invite.unit_id), invite.duties, invite.created_by)


async def redeem(tx: Tx, code: str, person_id: int, now: datetime) -> Redemption:
    """Use `code` for `person_id`: grant its role and duties exactly once, and tell the admin who invited."""
    found = await check(tx, code, now)
    if found.status is not Status.OK or found.role is None or found.unit is None:
        return found
    if not await invites.mark_used(tx, code.lower(), person_id, now):
        return Redemption(Status.USED)
    await people.grant_role(tx, person_id, found.role, found.unit.id)
    for duty in found.duties:
        await people.grant_duty(tx, person_id, duty, found.unit.id)
    await _tell_inviter(tx, found, person_id, code.lower(), now)
    return found


async def _tell_inviter(tx: Tx, found: Redemption, person_id: int, code: str, now: datetime) -> None:
    channel, _, user_id = found.created_by.partition(":")
    inviter = await people.person_for(tx, channel, user_id) if user_id else None
    invitee = await people.by_id(tx, person_id)
    if inviter is None or invitee is None or found.role is None or found.unit is None:
        return
    role, unit = found.role, found.unit
    await notify.push_reply(tx, person_id=inviter.id, idempotency=f"invite:{code}:accepted", now=now,
                            render=lambda: notices.accepted(tx, invitee, role, unit))
