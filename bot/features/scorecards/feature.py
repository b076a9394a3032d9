"""Scorecards (智治): each level's figures, scores and ranks, exclusions and the frozen half-yearly 考核; in the chat,
/stats (📊 数据统计) shows them as each person may see them, and administrators take reports out of scoring there."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry
from bot.features.base import Feature
from bot.features.scorecards import stats
from bot.features.scorecards.service import ScoreError, WeightsError
from bot.features.scorecards.tokens import CODECS

FEATURE = Feature(
    name="scorecards",
    flows=(stats.FLOW,),
    menu=(MenuEntry("menu.stats", "stats", "stats", 65),),
    refusals=(ScoreError, WeightsError),
    tokens=CODECS,
)
