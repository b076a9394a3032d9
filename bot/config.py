"""Settings from the environment and an optional .env file, validated once at start."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.domain.quiet import QuietHours
from bot.i18n import SUPPORTED

DEFAULT_TELEGRAM_API = "https://api.telegram.org"
DEFAULT_WECOM_API = "https://qyapi.weixin.qq.com/cgi-bin/"
DEFAULT_WECOM_CALLBACK_PATH = "/wecom/callback"
_WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")
DEFAULT_QUIET_HOURS = "21:00-07:00"
DEFAULT_QUIET = QuietHours.parse(DEFAULT_QUIET_HOURS)
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class ConfigError(ValueError):
    """One invalid or missing setting; the message names the variable."""


class StartupError(Exception):
    """A channel could not start (its token or secret refused, its API unreachable): the message is one line for
    whoever runs the bot, names the setting or the address, and never holds a token or secret."""


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: str = "./jinlin.db"
    admins: frozenset[tuple[str, str]] = frozenset()
    timezone: str = "Asia/Shanghai"
    locale: str = "zh_CN"
    telegram_token: str = ""
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_max_messages_per_second: float = 30.0
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    media_dir: str = "./media"
    quiet_hours: QuietHours | None = DEFAULT_QUIET  # reminders and nudges wait; None: off
    outbox_retention_days: int = 30
    wecom_corp_id: str = ""
    wecom_agent_id: int = 0
    wecom_secret: str = ""
    wecom_token: str = ""
    wecom_aes_key: str = ""
    wecom_api_base_url: str = DEFAULT_WECOM_API
    wecom_callback_path: str = DEFAULT_WECOM_CALLBACK_PATH
    score_weights: str = ""  # the street's scoring weights CSV; empty: the packaged default

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def wecom_enabled(self) -> bool:
        return bool(self.wecom_corp_id)

    def is_admin(self, channel: str, user_id: str) -> bool:
        return (channel, user_id) in self.admins


def load(environ: Mapping[str, str] | None = None, env_file: str | Path = ".env") -> Settings:
    """Read settings: process environment first, then the .env file for what the environment lacks."""
    values: dict[str, str] = {}
    if Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str, default: str = "") -> str:
        return values.get(name, default).strip() or default

    webhook_url = get("TELEGRAM_WEBHOOK_URL")
    webhook_secret = get("TELEGRAM_WEBHOOK_SECRET")
    if webhook_url:
        _require_url("TELEGRAM_WEBHOOK_URL", webhook_url, schemes=("https",))
        if not webhook_secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_WEBHOOK_URL is set")
    if webhook_secret and (len(webhook_secret) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-")
                                                                for c in webhook_secret)):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1-256 characters)")
    token = get("TELEGRAM_BOT_TOKEN")
    if token and (":" not in token or not token.split(":", 1)[0].isdigit()):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a BotFather token (123456:ABC...)")
    api = get("TELEGRAM_API_BASE_URL", DEFAULT_TELEGRAM_API).rstrip("/")
    _require_url("TELEGRAM_API_BASE_URL", api, schemes=("http", "https"))
    timezone = get("JINLIN_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"JINLIN_TIMEZONE: unknown time zone {timezone!r}") from None
    locale = get("JINLIN_LOCALE", "zh_CN")
    if locale not in SUPPORTED:
        raise ConfigError(f"JINLIN_LOCALE must be one of {', '.join(SUPPORTED)}")
    media_dir = get("JINLIN_MEDIA_DIR", "./media")
    if Path(media_dir).exists() and not Path(media_dir).is_dir():
        raise ConfigError(f"JINLIN_MEDIA_DIR: {media_dir!r} is not a directory")
    wecom = _wecom(get)
    score_weights = get("JINLIN_SCORE_WEIGHTS")
    if score_weights and not Path(score_weights).is_file():
        raise ConfigError(f"JINLIN_SCORE_WEIGHTS: {score_weights!r} is not a file")
    try:
        quiet_hours = QuietHours.parse(get("JINLIN_QUIET_HOURS", DEFAULT_QUIET_HOURS))
    except ValueError:
        raise ConfigError(f"JINLIN_QUIET_HOURS must be like 21:00-07:00 (two different times) or off, got "
                          f"{get('JINLIN_QUIET_HOURS')!r}") from None
    return Settings(
        db_path=get("JINLIN_DB", "./jinlin.db"),
        admins=_admins(get("JINLIN_ADMINS")),
        timezone=timezone,
        locale=locale,
        telegram_token=token,
        telegram_api_base_url=api,
        telegram_webhook_url=webhook_url,
        telegram_webhook_secret=webhook_secret,
        telegram_max_messages_per_second=_number("TELEGRAM_MAX_MESSAGES_PER_SECOND",
                                                 get("TELEGRAM_MAX_MESSAGES_PER_SECOND", "30"), 1, 1000),
        http_host=get("JINLIN_HTTP_HOST", "127.0.0.1"),
        http_port=int(_number("JINLIN_HTTP_PORT", get("JINLIN_HTTP_PORT", "8080"), 0, 65535, integer=True)),
        media_dir=media_dir,
        quiet_hours=quiet_hours,
        outbox_retention_days=int(_number("JINLIN_OUTBOX_RETENTION_DAYS", get("JINLIN_OUTBOX_RETENTION_DAYS", "30"),
                                          1, 3650, integer=True)),
        score_weights=score_weights,
        **wecom,
    )


def _wecom(get: Callable[..., str]) -> dict[str, Any]:
    """The WeCom application's settings: all five or none (then WeCom is off)."""
    given = [name for name in _WECOM_REQUIRED if get(name)]
    if not given:
        return {}
    missing = [name for name in _WECOM_REQUIRED if name not in given]
    if missing:
        raise ConfigError(f"{missing[0]} is required when {given[0]} is set (WeCom needs all of "
                          f"{', '.join(_WECOM_REQUIRED)})")
    aes_key = get("WECOM_AES_KEY")
    if len(aes_key) != 43 or not set(aes_key) <= _BASE64:
        raise ConfigError("WECOM_AES_KEY must be the 43-character EncodingAESKey of the application's callback")
    base_url = get("WECOM_API_BASE_URL", DEFAULT_WECOM_API).rstrip("/") + "/"
    _require_url("WECOM_API_BASE_URL", base_url, schemes=("http", "https"))
    path = get("WECOM_CALLBACK_PATH", DEFAULT_WECOM_CALLBACK_PATH)
    if not path.startswith("/") or any(c.isspace() for c in path):
        raise ConfigError(f"WECOM_CALLBACK_PATH must be a path starting with '/', got {path!r}")
    return {
        "wecom_corp_id": get("WECOM_CORP_ID"),
        "wecom_agent_id": int(_number("WECOM_AGENT_ID", get("WECOM_AGENT_ID"), 1, 2**31 - 1, integer=True)),
        "wecom_secret": get("WECOM_SECRET"),
        "wecom_token": get("WECOM_TOKEN"),
        "wecom_aes_key": aes_key,
        "wecom_api_base_url": base_url,
        "wecom_callback_path": path,
    }


def _admins(text: str) -> frozenset[tuple[str, str]]:
    admins = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        channel, sep, user_id = item.partition(":")
        if not sep or channel not in ("telegram", "wecom", "console") or not user_id:
            raise ConfigError(f"JINLIN_ADMINS: {item!r} is not channel:user_id (e.g. telegram:12345,wecom:zhangsan)")
        admins.add((channel, user_id))
    return frozenset(admins)


def _number(name: str, text: str, low: float, high: float, *, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {text}")
    return value


def _require_url(name: str, url: str, *, schemes: tuple[str, ...]) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL, got {url!r}")
