"""What WeCom lets one application send one member: 30 messages a minute and 1,000 an hour. WeCom drops the rest
without a word, so every message to a member — a reply or a push — is counted here before it goes."""

from __future__ import annotations

from collections import deque

from bot.clock import Clock

WINDOWS = ((30, 60.0), (1000, 3600.0))  # (messages, seconds)
_LONGEST = max(seconds for _, seconds in WINDOWS)
_SWEEP_EVERY = 10_000  # messages counted between two sweeps of members not written to for an hour


class MemberBudget:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}  # lower-cased userid → times of its messages in the last hour
        self._counted = 0

    def wait(self, userid: str) -> float:
        """Seconds until one more message to `userid` stays within every window (0: now)."""
        sent = self._sent.get(userid.lower())
        if not sent:
            return 0.0
        now = self._now()
        while sent and sent[0] <= now - _LONGEST:
            sent.popleft()
        return max([0.0, *(sent[-count] + seconds - now for count, seconds in WINDOWS if len(sent) >= count)])

    def spend(self, userids: list[str]) -> None:
        """One message went to each of `userids`."""
        now = self._now()
        for userid in userids:
            self._sent.setdefault(userid.lower(), deque()).append(now)
        self._counted += len(userids)
        if self._counted >= _SWEEP_EVERY:
            self._counted = 0
            self._sent = {user: sent for user, sent in self._sent.items() if sent[-1] > now - _LONGEST}

    def _now(self) -> float:
        return self._clock.now().timestamp()
