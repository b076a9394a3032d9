"""一评议: evaluation rounds of a branch's party members, with anonymous ballots."""

from __future__ import annotations

from typing import Any

from bot.conversations.flow import Ctx
from bot.conversations.menu import MenuEntry
from bot.domain.people import Role
from bot.features.base import Feature
from bot.features.evaluations import evaluation
from bot.features.evaluations.service import EvaluationError, EvaluationJobs
from bot.features.evaluations.tokens import CODECS

_TAKES_PART = (Role.PARTY_MEMBER, Role.COMPLEX_SECRETARY, Role.STREET_ADMIN)


def takes_part(ctx: Ctx[Any]) -> bool:
    """Party members (they vote), branch secretaries and administrators (they open rounds and determine);
    residents reach their ballots from the pushes."""
    return ctx.is_admin or (ctx.person is not None and any(grant.role in _TAKES_PART for grant in ctx.person.roles))


def party_members(ctx: Ctx[Any]) -> bool:
    return ctx.person is not None and any(grant.role is Role.PARTY_MEMBER for grant in ctx.person.roles)


FEATURE = Feature(
    name="evaluations",
    flows=(evaluation.FLOW, evaluation.RESULTS),
    menu=(MenuEntry("menu.evaluation", "evaluation", "evaluation", 62, takes_part),
          MenuEntry("menu.evaluation_results", "evaluation_results", "evaluation_results", 64, party_members)),
    # the open push and the reminder wait for the end of quiet hours
    jobs=lambda settings: EvaluationJobs(settings.quiet),
    refusals=(EvaluationError,),
    tokens=CODECS,
)
