"""The button tokens of reports: those pushed to residents (`r:…`) and to grid members (`t:<action>:<id>`, read by
the tasks flow), and the report flow's own. Each shape has one codec, used where the button is made and where its
press is read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.conversations.tokens import Ref, Token, rating, row_id
from bot.features.reports.model import CATEGORY_CODE


@dataclass(frozen=True, slots=True)
class CategoryPick:
    """A category picked from the report flow's list (re-checked against those offered)."""

    code: str

    def __post_init__(self) -> None:
        if not CATEGORY_CODE.fullmatch(self.code):
            raise ValueError(self.code)


@dataclass(frozen=True, slots=True)
class Answer:
    """A resident's answer to "is it fixed?" / "did it stay fixed?" about one report."""

    issue: int
    yes: bool


@dataclass(frozen=True, slots=True)
class Stars:
    """A rating of a resolved report."""

    stars: int

    def __post_init__(self) -> None:
        rating(self.stars)


class TaskAction(StrEnum):
    """What a grid member does with a task from its pushed buttons."""

    VIEW = "view"
    ACCEPT = "acc"
    NOTE = "note"
    RESOLVE = "res"
    ESCALATE = "esc"
    HAND_UP = "up"
    REJECT = "rej"
    DUPLICATE = "dup"


@dataclass(frozen=True, slots=True)
class Task:
    """A task button: `action` on the report `issue` (ids start at 1)."""

    action: TaskAction
    issue: int

    def __post_init__(self) -> None:
        row_id(self.issue)


CATEGORY = Token("c", CategoryPick)
VIEW = Token("r:view", Ref)  # open one report (pushed to the reporter and followers, and the list's items)
FIXED = Token("r:fix", Answer)  # "is it fixed?" after resolution
STAYED = Token("r:re", Answer)  # "did it stay fixed?", 14 days on
REVIEW = Token("r:rev", Ref)  # ask the next level up to review a rejected report
STARS = Token("s", Stars)
TASK = Token("t", Task)

# The report flow's own buttons.
KEEP = "d:keep"  # keep the description as it is
PHOTOS_DONE = "p:done"
SUBMIT, CHANGE_PLACE, EDIT = "ok:submit", "ok:place", "ok:edit"
FOLLOW, FILE_ANYWAY = "dup:follow", "dup:file"
HOME, ELSEWHERE, SHARE_LOCATION, WHOLE_PLACE = "pl:home", "pl:other", "pl:loc", "pl:here"

# The resident's report page and its questions.
ADD_INFO, WITHDRAW, RATE, ASK_REVIEW, ALL = "v:info", "v:withdraw", "v:rate", "v:review", "v:list"
WITHDRAW_YES = "w:yes"
STILL_WRONG_SKIP = "sw:skip"
COMMENT_SKIP = "cm:skip"
