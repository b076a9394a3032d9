"""The button tokens of weekly reports (`wr:`): the draft push's and the report page's buttons."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Ref, Token, row_id
from bot.features.weekly.model import Field


@dataclass(frozen=True, slots=True)
class Edit:
    """✏️ one of the three texts of a report."""

    report: int
    field: Field

    def __post_init__(self) -> None:
        row_id(self.report)


EDIT = Token("wr:edit", Edit)
SUBMIT = Token("wr:submit", Ref)  # ✅ 提交
CODECS = (EDIT, SUBMIT)
