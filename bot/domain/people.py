"""People, the channels they are reached on, and the roles and duties they hold."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.grid import Level


class Role(StrEnum):
    BUILDING_LEADER = "building_leader"
    COMPLEX_SECRETARY = "complex_secretary"
    COMMUNITY_SECRETARY = "community_secretary"
    STREET_ADMIN = "street_admin"
    PARTY_MEMBER = "party_member"  # 党员中心户: the party member of a household unit, linked to nearby households

    @property
    def level(self) -> Level:
        """The grid level at which this role is held."""
        return {
            Role.BUILDING_LEADER: Level.BUILDING,
            Role.COMPLEX_SECRETARY: Level.COMPLEX,
            Role.COMMUNITY_SECRETARY: Level.COMMUNITY,
            Role.STREET_ADMIN: Level.STREET,
            Role.PARTY_MEMBER: Level.PARTY_HOUSEHOLD,
        }[self]


class Duty(StrEnum):
    SAFETY = "safety"
    SANITATION = "sanitation"
    MEDIATION = "mediation"
    PUBLICITY = "publicity"
    LEGAL_ADVISOR = "legal_advisor"


@dataclass(frozen=True, slots=True)
class Account:
    """One person's address on one channel."""

    channel: str
    user_id: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class RoleGrant:
    role: Role
    unit_id: int


@dataclass(frozen=True, slots=True)
class DutyGrant:
    duty: Duty
    unit_id: int


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    display_name: str
    locale: str
    building_id: int | None
    room: str
    roles: tuple[RoleGrant, ...] = ()
    duties: tuple[DutyGrant, ...] = ()
    is_admin: bool = False

    @property
    def is_grid_member(self) -> bool:
        return bool(self.roles or self.duties)
