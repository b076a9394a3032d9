"""Message catalogs from locales/*.po (the package bot.locales), compiled in memory at load; the current locale lives
in a ContextVar."""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = files("bot.locales")  # the repository's locales/, installed as bot/locales
DOMAIN = "jinlin"
SUPPORTED = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"

_current: ContextVar[str] = ContextVar("jinlin_locale", default=DEFAULT_LOCALE)


def po_path(locale: str) -> Traversable:
    return LOCALES / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(locale: str) -> gettext.GNUTranslations:
    """The compiled catalog of `locale` (read from its .po file once)."""
    with po_path(locale).open("rb") as source:
        parsed = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, parsed)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def normalize(language: str | None) -> str | None:
    """Map a device or user language tag ("en-US", "zh-hans", "zh_CN") to a supported locale, if any."""
    if not language:
        return None
    tag = language.replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in SUPPORTED else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def t(key: str, /, **params: object) -> str:
    """The message `key` in the current locale, formatted with `params`."""
    return translate(current_locale(), key, **params)


def translate(locale: str, key: str, /, **params: object) -> str:
    text = catalog(locale if locale in SUPPORTED else DEFAULT_LOCALE).gettext(key)
    return text.format(**params) if params else text
