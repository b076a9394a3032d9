"""The button tokens of visits: a household, a visit, a way of getting in touch (each re-checked by the services),
and the flow's fixed buttons."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Ref, Token
from bot.features.visits.model import Mode


@dataclass(frozen=True, slots=True)
class ModePick:
    mode: Mode


HOUSEHOLD = Token("vs:h", Ref)  # visit_households.id
VISIT = Token("vs:v", Ref)
MODE = Token("vs:m", ModePick)
CODECS = (HOUSEHOLD, VISIT, MODE)

MONTHLY = "vx:monthly"
MINE = "vx:mine"
BRANCH = "vx:branch"
NO_PHOTO = "vx:nophoto"
NO_NEED = "vx:noneed"
NEED = "vx:need"
