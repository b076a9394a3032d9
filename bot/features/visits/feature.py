"""两联 visits: party members log visits to the households they look after, needs become reports for them, the
branch secretary hears weekly of overdue households; coverage per branch for the scorecards."""

from __future__ import annotations

from typing import Any

from bot.conversations.flow import Ctx
from bot.conversations.menu import MenuEntry
from bot.features.base import Feature
from bot.features.contacts import service as contacts
from bot.features.visits import visit
from bot.features.visits.service import VisitError, VisitJobs, secretary_branches
from bot.features.visits.tokens import CODECS
from bot.storage.media import MediaColumn


def visitors(ctx: Ctx[Any]) -> bool:
    """Party members, and the branch secretaries who read their visits."""
    return contacts.is_member(ctx.person) or bool(secretary_branches(ctx.person))


FEATURE = Feature(
    name="visits",
    flows=(visit.FLOW,),
    menu=(MenuEntry("menu.visit", "visit", "visit", 37, visitors),),
    jobs=lambda settings: VisitJobs(settings.quiet),
    media=(MediaColumn("visits", "voice_ref", "member_id"), MediaColumn("visits", "photo_ref", "member_id")),
    refusals=(VisitError,),
    tokens=CODECS,
)
