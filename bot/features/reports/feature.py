"""Reports (事件): a resident reports a problem and follows it; categories, routing, time limits, quiet hours."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry
from bot.features.base import Feature
from bot.features.reports import my_reports, quiet, report
from bot.features.reports.service import IssueError
from bot.features.reports.timers import IssueTimers
from bot.features.reports.tokens import CATEGORY, FIXED, REVIEW, STARS, STAYED, VIEW
from bot.storage.media import MediaColumn

FEATURE = Feature(
    name="reports",
    flows=(report.FLOW, my_reports.FLOW, quiet.FLOW),
    menu=(MenuEntry("menu.report", "report", "report", 10), MenuEntry("menu.mine", "mine", "my_reports", 20)),
    jobs=lambda settings: IssueTimers(settings.quiet),
    media=(MediaColumn("issue_photos", "path", "added_by", whole_row=True),
           MediaColumn("issue_voices", "path", "added_by", whole_row=True),
           MediaColumn("issues", "voice_ref", "reporter_id")),
    refusals=(IssueError,),
    tokens=(CATEGORY, VIEW, FIXED, STAYED, REVIEW, STARS),  # TASK is the tasks feature's, whose flow reads it
)
