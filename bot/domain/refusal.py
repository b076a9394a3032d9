"""A refused request, told to the person in their own language: what every service raises when it says no."""

from __future__ import annotations


class Refusal(Exception):
    """`key` is the catalog message that says why; `params` fill its placeholders."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
