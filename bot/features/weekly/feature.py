"""The weekly Saturday report (周报): drafted per community at Saturday 08:00, completed and submitted by its
secretary by 12:00 (else late, on the 督查 list), then rolled up for the street's administrators."""

from __future__ import annotations

from typing import Any

from bot.conversations.flow import Ctx
from bot.conversations.menu import MenuEntry
from bot.features.base import Feature
from bot.features.weekly import service, weekly
from bot.features.weekly.service import WeeklyError, WeeklyJobs
from bot.features.weekly.tokens import CODECS


def _readers(ctx: Ctx[Any]) -> bool:
    """Community secretaries (their report) and the street's administrators (the roll-up)."""
    return service.is_secretary(ctx.person) or service.sees_rollup(ctx.person, ctx.is_admin)


FEATURE = Feature(
    name="weekly",
    flows=(weekly.FLOW,),
    menu=(MenuEntry("menu.weekly", "weekly", "weekly", 65, _readers),),
    # Saturday 08:00 and 12:00 are working hours: nothing is held for quiet hours
    jobs=lambda settings: WeeklyJobs(settings.media),
    refusals=(WeeklyError,),
    tokens=CODECS,
)
