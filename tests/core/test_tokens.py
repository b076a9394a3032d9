"""Button-token codecs: every codec the core and the features declare reads back exactly what it makes, fits in a
Telegram button, and reads nothing else — not another codec's tokens, not a token bent out of shape."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pytest

from bot.conversations.tokens import MAX_BYTES, Ref, Token
from bot.features.catalog import discover

CODECS = discover().tokens


class Mood(StrEnum):
    GOOD = "good"
    BAD = "bad"


@dataclass(frozen=True, slots=True)
class Vote:
    poll: int
    mood: Mood
    final: bool
    stars: int

    def __post_init__(self) -> None:
        if not 1 <= self.stars <= 5:
            raise ValueError(self.stars)


VOTE = Token("pl:vote", Vote)


def bent(token: str) -> list[str]:
    """`token` out of shape: cut short, grown longer, padded, its prefix's case changed, a number zero-padded."""
    head, _, last = token.rpartition(":")
    shapes = [head, f"{token}:1", f"{token}:", f" {token}", f"{token} ", token.swapcase(), ""]
    return shapes + ([f"{head}:0{last}", f"{head}:-{last}"] if last.isdigit() else [])


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.prefix)
def test_every_declared_codec_reads_back_what_it_makes(codec: Token[Any]) -> None:
    values = list(codec.samples())
    assert values, "a codec that can make no token"
    for value in values:
        token = codec.make(value)
        assert len(token.encode()) <= MAX_BYTES
        assert codec.parse(token) == value
        for other in CODECS:
            assert other is codec or other.parse(token) is None, f"{other.prefix} reads {token!r}"
        for wrong in bent(token):
            assert codec.parse(wrong) is None, wrong


def test_codec_prefixes_are_unique_street_wide() -> None:
    prefixes = [codec.prefix for codec in CODECS]
    assert len(set(prefixes)) == len(prefixes)


def test_a_token_is_written_field_by_field() -> None:
    assert VOTE.make(Vote(12, Mood.GOOD, True, 5)) == "pl:vote:12:good:y:5"
    assert VOTE.parse("pl:vote:12:bad:n:1") == Vote(12, Mood.BAD, False, 1)
    assert Token("u", Ref).make(Ref(7)) == "u:7" and Token("u", Ref).parse("u:7") == Ref(7)


@pytest.mark.parametrize("token", [
    "pl:vote:12:good:y:6",  # the dataclass refuses 6 stars
    "pl:vote:12:meh:y:5",  # no such mood
    "pl:vote:12:good:yes:5", "pl:vote:012:good:y:5", "pl:vote:-1:good:y:5", "pl:vote:1e3:good:y:5",
    "pl:vote:1234567890123:good:y:5",  # more than 12 digits
    "pl:vote:12:good:y", "pl:vote:12:good:y:5:5", "pl:vote", "pl:votes:12:good:y:5", "pl:12:good:y:5",
    "pl:vote:١٢:good:y:5",  # digits, but not ASCII ones
    "", ":", "pl:vote:12:good:y:5 ",
])
def test_anything_else_reads_as_nothing(token: str) -> None:
    assert VOTE.parse(token) is None


def test_a_token_too_long_for_a_telegram_button_is_not_made() -> None:
    @dataclass(frozen=True, slots=True)
    class Long:
        code: str
        other: str

    with pytest.raises(ValueError, match="longer than 64 bytes"):
        Token("long", Long).make(Long("x" * 32, "y" * 32))
    with pytest.raises(ValueError, match="cannot carry"):
        Token("long", Long).make(Long("has space", "y"))


def test_samples_cover_every_member_and_flag_and_leave_out_what_is_refused() -> None:
    samples = list(VOTE.samples())
    assert {value.mood for value in samples} == set(Mood) and {value.final for value in samples} == {True, False}
    assert {value.stars for value in samples} == {1, 5}  # 0 and 10**12 - 1 refused
