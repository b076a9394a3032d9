"""Joining's button tokens. Units are the core's `UNIT` tokens ("u:<id>")."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Token
from bot.i18n import SUPPORTED

CONSENT_YES, CONSENT_NO = "consent:yes", "consent:no"
ROOM_SKIP = "room:skip"
INVITE_YES = "invite:yes"  # the invite offered is accepted


@dataclass(frozen=True, slots=True)
class Language:
    """A pressed language ("lang:zh_CN"); only a supported locale."""

    code: str

    def __post_init__(self) -> None:
        if self.code not in SUPPORTED:
            raise ValueError(self.code)


LANGUAGE = Token("lang", Language, examples=tuple(Language(code) for code in SUPPORTED))
