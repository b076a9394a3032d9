"""Law talks (法治宣讲) and moral lectures (道德大讲堂): their kinds, the states a talk and an answer can be in, and
the scheduled sends of a talk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    LAW_TALK = "law_talk"  # 法治宣讲
    MORAL_LECTURE = "moral_lecture"  # 道德大讲堂


class LectureStatus(StrEnum):
    """`lectures.status`: a talk stays scheduled until it is called off."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Answer(StrEnum):
    """`lecture_audience.rsvp`: a resident's answer to the notice (NULL while they have not answered)."""

    YES = "yes"
    NO = "no"


class Send(StrEnum):
    """The kinds of a talk's rows in `scheduled_jobs`."""

    NOTICE = "notice"
    REMIND = "remind"
    POLL = "poll"


@dataclass(frozen=True, slots=True)
class Lecture:
    id: int
    kind: Kind
    title: str
    speaker: str
    place: str
    description: str
    unit_id: int
    starts_at: datetime
    rsvp: bool
    status: LectureStatus
    creator_id: int | None
    version: int

    @property
    def cancelled(self) -> bool:
        return self.status is LectureStatus.CANCELLED
