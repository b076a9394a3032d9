"""亮身份: a household and the party member who looks after it, the member's card, and a message between them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.people import Duty


@dataclass(frozen=True, slots=True)
class Household:
    """A home in the grid: a room of a building."""

    building_id: int
    room: str


@dataclass(frozen=True, slots=True)
class Contact:
    """Who looks after a household: the party-household unit (from the grid's linked_households, or assigned in the
    chat), and the party member holding it (None while nobody does)."""

    household: Household
    unit_id: int
    member_id: int | None
    assigned: bool  # made in the chat (it overrides the grid's list)


@dataclass(frozen=True, slots=True)
class Card:
    """A party member's card as their households read it: the name they chose, their unit, duties and promise."""

    member_id: int
    name: str
    unit_id: int
    duties: tuple[Duty, ...]  # the duties they hold besides being a party member
    promise: str


@dataclass(frozen=True, slots=True)
class Message:
    """One message passed between a household's resident and its party contact."""

    id: int
    household: Household
    sender_id: int | None
    recipient_id: int | None
    text: str
    voice_ref: str
