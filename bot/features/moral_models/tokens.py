"""The button tokens of 道德模范评选. Pushed and listed buttons (`dm:`) start the flow from anywhere and name a
campaign or a nomination; the services re-check, at every press, that this person may do what the token says."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Ref, Token, row_id
from bot.features.moral_models.model import Category


@dataclass(frozen=True, slots=True)
class Consent:
    """The nominee's 同意 / 不同意 (不同意 after 同意 takes the consent back)."""

    nomination: int
    yes: bool

    def __post_init__(self) -> None:
        row_id(self.nomination)


@dataclass(frozen=True, slots=True)
class Pick:
    """A category of a campaign, on the ballot or in the nomination wizard."""

    campaign: int
    category: Category

    def __post_init__(self) -> None:
        row_id(self.campaign)


CAMPAIGN = Token("dm:c", Ref)  # a campaign's page
NOMINATE = Token("dm:nom", Ref)  # 我要提名 (campaign)
CONSENT = Token("dm:ok", Consent)
PUBLIC = Token("dm:pub", Ref)  # the 公示 list (campaign)
SHOW = Token("dm:n", Ref)  # one nomination on the 公示 list
OBJECT = Token("dm:obj", Ref)  # 提出异议 (nomination)
BALLOT = Token("dm:vote", Ref)  # the ballot (campaign)
CATEGORY = Token("dm:vc", Pick)  # one category of the ballot
VOTE = Token("dm:v", Ref)  # a vote for a nomination
REVIEW = Token("dm:rv", Ref)  # the reviewer's list (campaign)
EXAMINE = Token("dm:rn", Ref)  # the reviewer's card (nomination)
RESULTS = Token("dm:res", Ref)  # the results (campaign)
HONOUR = Token("dm:hon", Ref)  # on / off the 表彰 list (nomination)
NEW = "dm-new"  # ➕ 新建评选 on the home page
NOMINEE = Token("dmp", Ref)  # a person at the room typed, in the wizard
KIND = Token("dmk", Pick)  # a category in the wizard
SCOPE = Token("dms", Ref)  # the new campaign's scope
CODECS = (CAMPAIGN, NOMINATE, CONSENT, PUBLIC, SHOW, OBJECT, BALLOT, CATEGORY, VOTE, REVIEW, EXAMINE, RESULTS, HONOUR,
          NOMINEE, KIND, SCOPE)

PUBLISH = "dm-publish"
DAYS = "dm-days"
SKIP_PHOTO = "dm-nophoto"
SUBMIT = "dm-submit"
APPROVE = "dm-approve"
REJECT = "dm-reject"
REMOVE = "dm-remove"
ANNOUNCE_HONOURS = "dm-honour"
