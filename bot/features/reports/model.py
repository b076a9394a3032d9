"""Reports residents raise (issues), their categories, and the states they move through."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.grid import Level
from bot.domain.people import Duty


class Status(StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"


class EventKind(StrEnum):
    """What an entry of a report's audit trail records."""

    TRANSITION = "transition"  # a change of status
    ROUTE = "route"  # a routing decision (who owns it, who got it)
    NOTE = "note"  # a grid member's progress note
    INFO = "info"  # the resident added words or a photo
    ESCALATE = "escalate"
    HAND_UP = "hand_up"  # "not ours": handed to the level above
    REVIEW = "review"  # the resident asked the level above to review a rejection
    OVERDUE = "overdue"  # the street's time ran out (nowhere higher to go)
    STAYED_FIXED = "stayed_fixed"  # the answer to "did it stay fixed?"
    SCORE_EXCLUDED = "score_excluded"  # an admin left it out of the scorecards, saying why
    SCORE_INCLUDED = "score_included"  # counted again


# Work still to do: these count for "my tasks", time limits and duplicates.
OPEN = frozenset({Status.SUBMITTED, Status.ASSIGNED, Status.ACCEPTED, Status.REOPENED, Status.ESCALATED})

# Which state may follow which; anything else is refused.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.ASSIGNED, Status.ESCALATED}),
    Status.ASSIGNED: frozenset({Status.ACCEPTED, Status.ESCALATED, Status.REJECTED, Status.DUPLICATE,
                                Status.WITHDRAWN, Status.RESOLVED}),
    Status.ESCALATED: frozenset({Status.ACCEPTED, Status.ESCALATED, Status.REJECTED, Status.DUPLICATE,
                                 Status.WITHDRAWN, Status.RESOLVED}),
    Status.REOPENED: frozenset({Status.ACCEPTED, Status.ESCALATED, Status.REJECTED, Status.WITHDRAWN,
                                Status.RESOLVED}),
    Status.ACCEPTED: frozenset({Status.RESOLVED, Status.ESCALATED, Status.REJECTED, Status.DUPLICATE,
                                Status.WITHDRAWN}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REJECTED: frozenset({Status.ESCALATED}),  # the resident asked the next level up to review it
    Status.DUPLICATE: frozenset(),
    Status.WITHDRAWN: frozenset(),
}

# The order in which unsolved work climbs the grid.
CLIMB = (Level.BUILDING, Level.COMPLEX, Level.COMMUNITY, Level.STREET)


CATEGORY_CODE = re.compile(r"[a-z_]{1,32}")  # what a category's code may be
LEGAL = "legal"  # the category of legal questions: answered (a reply is needed), not resolved


class PhotoStage(StrEnum):
    """When a photo came with a report."""

    REPORT = "report"  # with the report as filed
    INFO = "info"  # added by the reporter afterwards
    RESOLUTION = "resolution"  # the grid member's, on resolving it


class Timer(StrEnum):
    """A report's scheduled work (the kinds of its `scheduled_jobs` rows)."""

    REMIND = "remind"  # the owners, when most of their time has passed
    ESCALATE = "escalate"  # to the next level up, when their time is up
    FOLLOWUP_REMIND = "followup_remind"  # "is it fixed?" asked again
    FOLLOWUP_CLOSE = "followup_close"  # closed unrated
    RECHECK = "recheck"  # "did it stay fixed?"


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    duty: Duty | None
    limits: dict[Level, float]  # hours each level has before the report climbs
    infrastructure: bool  # ask again after 14 days whether it stayed fixed
    name_zh: str = ""
    name_en: str = ""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone a task is pushed to, why (a role's value, or "duty:<duty>") and for which unit."""

    person_id: int
    reason: str  # "building_leader", "complex_secretary", …, or "duty:<duty>"
    unit_id: int


@dataclass(frozen=True, slots=True)
class Issue:
    id: int
    ref: str
    reporter_id: int | None
    category: str
    description: str
    voice_ref: str
    unit_id: int
    location: str
    status: Status
    owner_unit_id: int
    assignee_id: int | None
    due_at: datetime
    flagged: bool
    rating: int | None
    comment: str
    created_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def legal(self) -> bool:
        """A legal question: answered with a reply rather than resolved."""
        return self.category == LEGAL


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """One entry of a report's audit trail; a transition has the statuses it moved between (the first, filing,
    only the one it moved to)."""

    at: datetime
    actor_id: int | None
    kind: EventKind
    from_status: Status | None
    to_status: Status | None
    detail: str
