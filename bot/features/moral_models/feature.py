"""道德模范评选 (moral-model campaigns): nominations with consent, review, 公示 with objections, a vote, 表彰."""

from __future__ import annotations

from bot.conversations.menu import MenuEntry
from bot.features.base import Feature
from bot.features.moral_models import campaign
from bot.features.moral_models.service import CampaignJobs, ModelError
from bot.features.moral_models.tokens import CODECS
from bot.storage.media import MediaColumn

FEATURE = Feature(
    name="moral_models",
    flows=(campaign.FLOW,),
    menu=(MenuEntry("menu.moral_models", "moral_models", "moral_models", 66),),
    jobs=lambda settings: CampaignJobs(settings.quiet),  # the reminder before the vote closes waits out quiet hours
    # the photo is the nominator's, and of the nominee: it goes when either is forgotten
    media=(MediaColumn("moral_nominations", "photo_ref", "nominator_id"),
           MediaColumn("moral_nominations", "photo_ref", "nominee_id", whole_row=True)),
    refusals=(ModelError,),
    tokens=CODECS,
)
