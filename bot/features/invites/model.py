"""Invites' types: a one-time invite, and what redeeming (or checking) a code found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.grid import GridUnit
from bot.domain.people import Duty, Role


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    role: Role
    unit_id: int
    duties: tuple[Duty, ...]
    expires_at: datetime
    used: bool
    created_by: str  # "channel:user_id" of the admin, or "cli"


class Status(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Redemption:
    status: Status
    role: Role | None = None
    unit: GridUnit | None = None
    duties: tuple[Duty, ...] = ()
    created_by: str = ""
