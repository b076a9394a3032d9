"""One date format wherever people read a date: localized, with the year only when it is not this year."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import use_locale
from bot.services.dates import local_time

TZ = "Asia/Shanghai"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TALK = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # Saturday 14:30 in Shanghai
NEW_YEAR = datetime(2027, 1, 2, 6, 30, tzinfo=UTC)


def test_chinese() -> None:
    with use_locale("zh_CN"):
        assert local_time(TALK, TZ, NOW) == "12月5日 14:30"
        assert local_time(TALK, TZ, NOW, weekday=True) == "12月5日（周六）14:30"
        assert local_time(NEW_YEAR, TZ, NOW) == "2027年1月2日 14:30"


def test_english() -> None:
    with use_locale("en"):
        assert local_time(TALK, TZ, NOW) == "5 Dec 14:30"
        assert local_time(TALK, TZ, NOW, weekday=True) == "Sat 5 Dec 14:30"
        assert local_time(NEW_YEAR, TZ, NOW) == "2 Jan 2027 14:30"


def test_the_year_is_the_streets() -> None:
    eve = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # already 1 January 00:30 in Shanghai
    with use_locale("zh_CN"):
        assert local_time(eve, TZ, eve) == "1月1日 00:30"
        assert local_time(eve, TZ, NOW) == "2027年1月1日 00:30"
