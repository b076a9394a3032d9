"""Quiet hours: the nightly stretch in which reminders and nudges wait (e.g. 21:00–07:00, in the street's time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time  # local time the quiet period begins
    end: time  # local time it ends (earlier than `start` when it spans midnight)

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`HH:MM-HH:MM`, or `off` for none; ValueError for anything else."""
        if text.strip().lower() == "off":
            return None
        start, sep, end = text.partition("-")
        if not sep:
            raise ValueError(text)
        quiet = cls(_clock(start), _clock(end))
        if quiet.start == quiet.end:
            raise ValueError(text)
        return quiet

    def until(self, moment: datetime, timezone: str) -> datetime | None:
        """When the quiet period `moment` falls in ends (UTC), or None when `moment` is not in quiet hours."""
        local = moment.astimezone(ZoneInfo(timezone))
        now = local.time().replace(tzinfo=None)
        wraps = self.start > self.end
        inside = (now >= self.start or now < self.end) if wraps else self.start <= now < self.end
        if not inside:
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=local.tzinfo)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _clock(text: str) -> time:
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ValueError(text)
    return time(int(hours), int(minutes))  # ValueError beyond 23:59
