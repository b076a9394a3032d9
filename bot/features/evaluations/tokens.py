"""The button tokens of 一评议: what pushes carry (`ev:`, claimed by the flow from wherever the person is) and the
steps inside the flow (other prefixes, so that pressing them does not start the flow again). The grade a voter
presses is never echoed back, and the vote clears it from the stored chat events (bot.storage.inbox.forget_handled)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Ref, Token
from bot.features.evaluations.model import Grade


@dataclass(frozen=True, slots=True)
class GradePick:
    grade: Grade


BALLOTS = Token("ev:b", Ref)  # a round's ballots for the person (the open push and the reminder)
RESULT = Token("ev:r", Ref)  # a member's own result in a round (the target's id)
MANAGE = Token("ev:m", Ref)  # a round's page for its secretary (the close push)
ROUND = Token("er", Ref)  # a round to vote in, on the home page
BRANCH = Token("eb", Ref)  # a branch the person manages, on the home page
TARGET = Token("et", Ref)  # whom to rate next, or whose determination to record
GRADE = Token("eg", GradePick)
CODECS = (BALLOTS, RESULT, MANAGE, ROUND, BRANCH, TARGET, GRADE)

OPEN_ALL = "eo:all"  # an admin opens this half's round for every branch
OPEN_ONE = "eo:one"  # the branch's round, on its page
DETERMINE = "ed:list"  # record determinations, on a closed round's page
SKIP_COMMENT = "ec:skip"
