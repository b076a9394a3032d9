"""Saturday meetings (周六说事): planning, announcements, RSVPs, topics, the chair's page, outcomes, polls."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry
from bot.features.base import Feature
from bot.features.meetings import meeting
from bot.features.meetings.service import MeetingError, MeetingJobs
from bot.features.meetings.tokens import CODECS
from bot.storage.media import MediaColumn

FEATURE = Feature(
    name="meetings",
    flows=(meeting.FLOW,),
    menu=(MenuEntry("menu.meeting", "meeting", "meeting", 30),),
    jobs=lambda settings: MeetingJobs(),  # meetings' sends are not held in quiet hours
    media=(MediaColumn("meeting_topics", "voice_ref", "submitter_id"),
           MediaColumn("meeting_topics", "photo_ref", "submitter_id")),
    refusals=(MeetingError,),
    tokens=CODECS,
)
