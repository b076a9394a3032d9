"""Dates as people read them: one format everywhere, from the catalog, in the street's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import t

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local_time(moment: datetime, timezone: str, now: datetime, *, weekday: bool = False) -> str:
    """`moment` in the current locale: "12月5日 14:30" / "5 Dec 14:30", with the year when it is not this year,
    and with the day of the week when asked ("12月5日（周六）14:30" / "Sat 5 Dec 14:30")."""
    zone = ZoneInfo(timezone)
    here = moment.astimezone(zone)
    day = t("date.day" if here.year == now.astimezone(zone).year else "date.day_year", year=here.year,
            month=t(f"date.month.{here.month}"), day=here.day)
    if weekday:
        return t("date.moment_weekday", date=day, weekday=t(f"date.weekday.{WEEKDAYS[here.weekday()]}"),
                 time=f"{here:%H:%M}")
    return t("date.moment", date=day, time=f"{here:%H:%M}")
