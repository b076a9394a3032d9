"""Broadcasts' types: the audience a notice is for, a broadcast and its status, one of its recipients, and its
progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Audience(StrEnum):
    RESIDENTS = "residents"  # people whose home building lies in the scope
    MEMBERS = "members"  # people holding a role or duty at a unit in the scope
    ALL = "all"

    @property
    def residents(self) -> bool:
        return self is not Audience.MEMBERS

    @property
    def members(self) -> bool:
        return self is not Audience.RESIDENTS


class BroadcastStatus(StrEnum):
    """Where a broadcast stands, as its row records it (`finished_at`)."""

    SENDING = "sending"  # its messages are going out
    FINISHED = "finished"  # the delivery report was queued


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    created_by: int | None
    channel: str  # where its author asked for it: the status line and the report go there
    chat_id: str
    unit_id: int
    audience: Audience
    text: str
    photo: str
    total: int
    created_at: datetime
    finished_at: datetime | None

    @property
    def status(self) -> BroadcastStatus:
        return BroadcastStatus.SENDING if self.finished_at is None else BroadcastStatus.FINISHED


@dataclass(frozen=True, slots=True)
class Recipient:
    """One reachable account of a person the broadcast is for."""

    channel: str
    user_id: str
    chat_id: str
    locale: str


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    sent: int  # delivered
    unreachable: int  # blocked the bot, or the account is gone
    failed: int  # rejected by the platform, or given up after many attempts
    waiting: int  # pending or being sent

    @property
    def settled(self) -> int:
        return self.sent + self.unreachable + self.failed

    @property
    def finished(self) -> bool:
        return not self.waiting
