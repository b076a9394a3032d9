"""道德模范评选: a campaign's categories and phases, a nomination's states, and the campaign's scheduled steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Category(StrEnum):
    IN_LAWS = "in_laws"  # 好婆媳
    HOUSEKEEPER = "housekeeper"  # 好管家
    FAMILY = "family"  # 文明家庭
    NEIGHBOUR = "neighbour"  # 最美邻里
    VOLUNTEER = "volunteer"  # 优秀志愿者


class Phase(StrEnum):
    """`moral_campaigns.phase`, in order; each change is a scheduled row (the close's 表彰 is the reviewer's)."""

    NOMINATING = "nominating"
    REVIEWING = "reviewing"
    PUBLICIZING = "publicizing"  # 公示
    VOTING = "voting"
    CLOSED = "closed"  # counted; the reviewer confirms the 表彰 list
    HONOURED = "honoured"  # the 表彰 went out


class Status(StrEnum):
    """`moral_nominations.status`. Nobody but the nominator and the nominee sees one before CONSENTED; residents
    see only APPROVED ones."""

    AWAITING_CONSENT = "awaiting_consent"
    DECLINED = "declined"  # the nominee said no
    CONSENTED = "consented"  # waiting for review
    APPROVED = "approved"
    REJECTED = "rejected"  # by the reviewer, with a reason
    WITHDRAWN = "withdrawn"  # the nominee took their consent back before 公示
    REMOVED = "removed"  # the reviewer took it down after an objection, with a reason


class Step(StrEnum):
    """The kinds of a campaign's rows in `scheduled_jobs`."""

    ANNOUNCE = "announce"  # nominations open: residents in scope hear of it
    REVIEW = "review"  # nominations close: the reviewer is asked to review
    PUBLICIZE = "publicize"  # 公示 opens
    VOTE = "vote"  # the vote opens
    REMIND = "remind"  # the day before the vote closes (held in quiet hours)
    CLOSE = "close"  # the vote closes: counted, the reviewer confirms the 表彰


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    title: str
    unit_id: int
    phase: Phase
    opened_at: datetime
    nominate_until: datetime
    review_until: datetime
    publicize_until: datetime
    vote_until: datetime
    creator_id: int | None


@dataclass(frozen=True, slots=True)
class Nomination:
    id: int
    campaign_id: int
    category: Category
    nominator_id: int | None
    nominee_id: int
    story: str
    photo_ref: str
    status: Status
    reason: str
    honoured: bool
