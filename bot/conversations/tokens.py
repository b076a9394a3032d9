"""Button tokens: what a pressed button carries back (Telegram's callback data, a WeCom key, a console letter).

A `Token` is the one codec of one shape: it makes the token from a small frozen dataclass and parses it back, and
nothing else parses that shape. The fields are written in order after the prefix, separated by ":" — an `int` as its
decimal digits (at most 12, no sign, no leading zero), a `bool` as "y" / "n", a `StrEnum` as its value, a `str` as
itself when it is a short code (ASCII letters, digits, "_", "-", ".", at most 32) — so "lc:rsvp:12:y" is
`Token("lc:rsvp", Rsvp)` for `Rsvp(lecture=12, yes=True)`. Tokens come from outside and are untrusted: `parse` gives
None for anything that is not exactly such a token, including values the dataclass's `__post_init__` rejects
(ValueError), e.g. a rating outside 1–5; the rights behind a token are checked by the services, not here.
"""

from __future__ import annotations

import itertools
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cached_property
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_BYTES = 64  # Telegram's limit on callback data; WeCom's button keys allow more
_INT = re.compile(r"0|[1-9][0-9]{0,11}", re.ASCII)
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,32}", re.ASCII)
_FLAGS = {"y": True, "n": False}


RATINGS = range(1, 6)  # a rating: 1 to 5 stars


def row_id(value: int) -> None:
    """For a token dataclass's `__post_init__`: refuse an id no row can have (ids start at 1)."""
    if value < 1:
        raise ValueError(value)


def rating(value: int) -> None:
    """For a token dataclass's `__post_init__`: refuse a rating outside `RATINGS`."""
    if value not in RATINGS:
        raise ValueError(value)


@dataclass(frozen=True, slots=True)
class Ref:
    """A token naming one row by its id (a unit, a report, a talk …)."""

    id: int


@dataclass(frozen=True)
class Token(Generic[T]):
    """The codec of tokens `prefix:<field>:<field>…` for the dataclass `kind`."""

    prefix: str
    kind: type[T]
    examples: tuple[T, ...] = ()  # values `samples` cannot guess (a str field that takes only some codes)

    @cached_property
    def _fields(self) -> tuple[tuple[str, Any], ...]:
        hints = typing.get_type_hints(self.kind)
        return tuple((item.name, hints[item.name]) for item in fields(self.kind))  # type: ignore[arg-type]

    @property
    def head(self) -> str:
        """The part before the first ":", with it: what a flow claims to be started by such a token."""
        return self.prefix.partition(":")[0] + ":"

    def make(self, value: T) -> str:
        """The token for `value` (ValueError if it would not fit in a Telegram button)."""
        parts = [self.prefix, *(_write(getattr(value, name)) for name, _ in self._fields)]
        token = ":".join(parts)
        if len(token.encode()) > MAX_BYTES:
            raise ValueError(f"token {token!r} is longer than {MAX_BYTES} bytes")
        return token

    def parse(self, token: str) -> T | None:
        """The value `token` carries, or None when it is not exactly a token of this shape."""
        head, sep, rest = token.partition(":")
        own_head, _, own_rest = self.prefix.partition(":")
        if head != own_head:
            return None
        if own_rest:
            tag, sep, rest = rest.partition(":")
            if tag != own_rest:
                return None
        parts = rest.split(":") if sep else []
        if len(parts) != len(self._fields):
            return None
        try:
            values = {name: _read(part, kind) for (name, kind), part in zip(self._fields, parts, strict=True)}
            return self.kind(**values)
        except ValueError:
            return None

    def samples(self) -> Iterator[T]:
        """The `examples`, then values of every shape this codec can carry (the ends of each int's range, both
        flags, every member), for round-trip tests; those `__post_init__` rejects are left out."""
        yield from self.examples
        choices = [_samples(kind) for _, kind in self._fields]
        for combination in itertools.product(*choices):
            try:
                yield self.kind(*combination)
            except ValueError:
                continue


def _write(value: object) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, int) and _INT.fullmatch(str(value)):
        return str(value)
    if isinstance(value, str) and _CODE.fullmatch(value):
        return value
    raise ValueError(f"a token cannot carry {value!r}")


def _read(part: str, kind: Any) -> object:
    if kind is bool:
        if part not in _FLAGS:
            raise ValueError(part)
        return _FLAGS[part]
    if kind is int:
        if not _INT.fullmatch(part):
            raise ValueError(part)
        return int(part)
    if kind is str:
        if not _CODE.fullmatch(part):
            raise ValueError(part)
        return part
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return kind(part)  # ValueError for a value it does not have
    raise TypeError(f"a token field cannot be of type {kind!r}")


def _samples(kind: Any) -> list[object]:
    if kind is bool:
        return [True, False]
    if kind is int:
        return [0, 1, 5, 10**12 - 1]
    if kind is str:
        return ["a", "C01-A-B1", "x" * 32]
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return list(kind)
    raise TypeError(f"a token field cannot be of type {kind!r}")

