"""Dates as people read them: one format everywhere, from the catalog, in the street's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import t


def local_time(moment: datetime, timezone: str, now: datetime) -> str:
    """`moment` in the current locale: "12月5日 14:30" / "5 Dec 14:30", with the year when it is not this year."""
    zone = ZoneInfo(timezone)
    here = moment.astimezone(zone)
    key = "date.this_year" if here.year == now.astimezone(zone).year else "date.other_year"
    return t(key, year=here.year, month=t(f"date.month.{here.month}"), day=here.day, time=f"{here:%H:%M}")
