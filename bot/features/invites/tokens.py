"""Invites' button tokens. Units are the core's `UNIT` tokens ("u:<id>")."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Token
from bot.domain.people import Duty, Role

DUTIES_DONE = "duty:done"  # the duties are picked: make the invite


@dataclass(frozen=True, slots=True)
class RolePick:
    """A pressed role ("role:community_secretary")."""

    role: Role


@dataclass(frozen=True, slots=True)
class DutyPick:
    """A duty pressed to toggle it ("duty:safety")."""

    duty: Duty


ROLE = Token("role", RolePick)
DUTY = Token("duty", DutyPick)
