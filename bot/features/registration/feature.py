"""Joining: consent, language, home building and room, and the way in through an invite or a poster's code."""

from __future__ import annotations

from bot.features.base import Feature
from bot.features.registration import language, registration
from bot.features.registration.tokens import LANGUAGE

FEATURE = Feature(name="registration", flows=(registration.FLOW, language.FLOW), tokens=(LANGUAGE,))
