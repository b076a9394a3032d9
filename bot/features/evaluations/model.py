"""一评议: the grades, a round of a branch and the states it goes through, what a round rates, and its scheduled
work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

THRESHOLD = 5  # a target's totals (and comments) are shown from this many ballots on


class Grade(StrEnum):
    """A ballot's grade, and the secretary's determination (`evaluation.grade.<value>` names it)."""

    EXCELLENT = "excellent"  # 优秀
    QUALIFIED = "qualified"  # 合格
    BASIC = "basic"  # 基本合格
    UNQUALIFIED = "unqualified"  # 不合格


class RoundStatus(StrEnum):
    """`evaluation_rounds.status`: scheduled until its open job fires, open for 7 days, then closed."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


class TargetKind(StrEnum):
    MEMBER = "member"  # a party member (党员中心户) of the branch
    BRANCH = "branch"  # the branch (小区党支部) itself


class Step(StrEnum):
    """The kinds of a round's rows in `scheduled_jobs`."""

    OPEN = "open"
    REMIND = "remind"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Round:
    id: int
    branch_id: int
    year: int
    half: int  # 1 or 2
    opens_at: datetime
    closes_at: datetime
    status: RoundStatus

    @property
    def is_open(self) -> bool:
        return self.status is RoundStatus.OPEN


@dataclass(frozen=True, slots=True)
class Target:
    """What a round rates: a member (`person_id` None once that person has been deleted) or the branch."""

    id: int
    round_id: int
    kind: TargetKind
    person_id: int | None
    household_id: int | None
    name: str
    determination: Grade | None


@dataclass(frozen=True, slots=True)
class Tally:
    """A target's ballots: how many of each grade, and the comments (in no order that tells anything)."""

    counts: dict[Grade, int]
    comments: list[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Result:
    """One target's standing in a round."""

    round: Round
    target: Target
    tally: Tally
