"""Scorecards (智治): each level's figures, scores and ranks, exclusions and the frozen half-yearly 考核. No chat
flows yet: the office tool (`run_bot.py report scorecard`) and the other features call its service."""

from __future__ import annotations

from bot.features.base import Feature
from bot.features.scorecards.service import ScoreError, WeightsError

FEATURE = Feature(name="scorecards", refusals=(ScoreError, WeightsError))
