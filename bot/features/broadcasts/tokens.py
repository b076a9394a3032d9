"""Broadcasts' button tokens. Scope units are the core's `UNIT` tokens ("u:<id>")."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Token
from bot.features.broadcasts.model import Audience

HERE, UP = "bs:here", "bs:up"  # send to the unit shown / go to the unit above it
SEND, EDIT, RESCOPE = "bc:send", "bc:edit", "bc:scope"
NO_PHOTO, KEEP_PHOTO = "ph:none", "ph:keep"


@dataclass(frozen=True, slots=True)
class AudiencePick:
    """A pressed audience ("aud:residents")."""

    audience: Audience


AUDIENCE = Token("aud", AudiencePick)
