"""The five-level grid: street → community → complex → building → party households."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    COMPLEX = "complex"
    BUILDING = "building"
    PARTY_HOUSEHOLD = "party_household"

    @property
    def parent(self) -> Level | None:
        """The level a unit of this level hangs under (None for the street)."""
        order = list(Level)
        index = order.index(self)
        return order[index - 1] if index else None


@dataclass(frozen=True, slots=True)
class GridUnit:
    id: int
    code: str
    level: Level
    name: str
    parent_id: int | None
    linked_households: tuple[str, ...] = ()
