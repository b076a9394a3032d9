"""Law talks (法治宣讲) and moral lectures (道德大讲堂): notice, reminder, RSVP, check-in, poll."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry, organizers
from bot.features.base import Feature
from bot.features.lectures import lecture
from bot.features.lectures.service import LectureError, LectureJobs
from bot.features.lectures.tokens import CODECS

FEATURE = Feature(
    name="lectures",
    flows=(lecture.FLOW,),
    menu=(MenuEntry("menu.lecture", "lecture", "lecture", 60, organizers),),
    jobs=lambda settings: LectureJobs(),  # talks' sends are not held in quiet hours
    refusals=(LectureError,),
    tokens=CODECS,
)
