"""Tasks: the grid member's side of reports (accept, note, resolve, escalate, hand up, reject)."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry, grid_members
from bot.features.base import Feature
from bot.features.reports.tokens import TASK
from bot.features.tasks import tasks

FEATURE = Feature(
    name="tasks",
    flows=(tasks.FLOW,),
    menu=(MenuEntry("menu.tasks", "tasks", "tasks", 40, grid_members),),
    tokens=(TASK,),  # made by reports (a pushed task), read here
)
