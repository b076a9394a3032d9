"""The five-level grid: street → community → complex → building → party households."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

_DASHES = re.compile(r"[‐‑‒–—―−]")
_SUFFIX = re.compile(r"(?<=\d)[室号]$")


def room_label(text: str) -> str:
    """A room as the grid and people's homes keep it, so that the ways one room is written meet: full-width
    characters made plain ("３０１" → "301"), spaces and a trailing 室 / 号 after a number dropped ("301 室" → "301"),
    dashes made "-" ("3—201" → "3-201")."""
    plain = _DASHES.sub("-", unicodedata.normalize("NFKC", text))
    return _SUFFIX.sub("", "".join(plain.split()))


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
