"""A refused request, told to the person in their own language: what every service raises when it says no."""

from __future__ import annotations


class Refusal(Exception):
    """`key` is the catalog message that says why; `params` fill its placeholders. `retry`: what was typed or
    picked can be fixed, so the same question is asked again; otherwise the step ends with the message. A flow
    step need not catch it: the engine undoes the step's writes and answers (see Engine)."""

    def __init__(self, key: str, *, retry: bool = False, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.retry = retry
        self.params = params
