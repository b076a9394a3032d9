"""Settings: defaults, .env files, and one clear line naming the variable for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load

NO_FILE = "/nonexistent/.env"
WECOM = {"WECOM_CORP_ID": "wwcorp", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "app-secret-value",
         "WECOM_TOKEN": "callbacktoken", "WECOM_AES_KEY": "A" * 43}


def test_defaults() -> None:
    settings = load({}, env_file=NO_FILE)
    assert (settings.db_path, settings.timezone, settings.locale) == ("./jinlin.db", "Asia/Shanghai", "zh_CN")
    assert settings.telegram_api_base_url == "https://api.telegram.org"
    assert settings.telegram_max_messages_per_second == 30
    assert settings.outbox_retention_days == 30
    assert not settings.telegram_enabled
    assert str(settings.quiet_hours) == "21:00-07:00"
    assert load({"JINLIN_OUTBOX_RETENTION_DAYS": "7"}, env_file=NO_FILE).outbox_retention_days == 7


def test_env_file_fills_what_the_environment_lacks(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("JINLIN_DB=/from/file.db\nJINLIN_LOCALE=en\nJINLIN_ADMINS=telegram:1, wecom:zhangsan\n")
    settings = load({"JINLIN_LOCALE": "zh_CN"}, env_file=env)
    assert settings.db_path == "/from/file.db"
    assert settings.locale == "zh_CN"
    assert settings.admins == {("telegram", "1"), ("wecom", "zhangsan")}
    assert settings.is_admin("wecom", "zhangsan") and not settings.is_admin("telegram", "2")


@pytest.mark.parametrize(("env", "named"), [
    ({"JINLIN_ADMINS": "12345"}, "JINLIN_ADMINS"),
    ({"JINLIN_TIMEZONE": "Mars/Olympus"}, "JINLIN_TIMEZONE"),
    ({"JINLIN_LOCALE": "fr"}, "JINLIN_LOCALE"),
    ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
    ({"TELEGRAM_WEBHOOK_URL": "http://insecure.example/hook", "TELEGRAM_WEBHOOK_SECRET": "s"}, "TELEGRAM_WEBHOOK_URL"),
    ({"TELEGRAM_WEBHOOK_URL": "https://bot.example/hook"}, "TELEGRAM_WEBHOOK_SECRET"),
    ({"TELEGRAM_WEBHOOK_SECRET": "bad secret!"}, "TELEGRAM_WEBHOOK_SECRET"),
    ({"TELEGRAM_MAX_MESSAGES_PER_SECOND": "fast"}, "TELEGRAM_MAX_MESSAGES_PER_SECOND"),
    ({"TELEGRAM_MAX_MESSAGES_PER_SECOND": "0"}, "TELEGRAM_MAX_MESSAGES_PER_SECOND"),
    ({"JINLIN_HTTP_PORT": "70000"}, "JINLIN_HTTP_PORT"),
    ({"JINLIN_OUTBOX_RETENTION_DAYS": "0"}, "JINLIN_OUTBOX_RETENTION_DAYS"),
    ({"JINLIN_OUTBOX_RETENTION_DAYS": "a month"}, "JINLIN_OUTBOX_RETENTION_DAYS"),
    ({"WECOM_CORP_ID": "wwcorp"}, "WECOM_AGENT_ID"),
    ({**WECOM, "WECOM_AES_KEY": "short"}, "WECOM_AES_KEY"),
    ({**WECOM, "WECOM_AGENT_ID": "agent"}, "WECOM_AGENT_ID"),
    ({**WECOM, "WECOM_API_BASE_URL": "qyapi.example"}, "WECOM_API_BASE_URL"),
    ({**WECOM, "WECOM_CALLBACK_PATH": "wecom"}, "WECOM_CALLBACK_PATH"),
    *(({"JINLIN_QUIET_HOURS": bad}, "JINLIN_QUIET_HOURS") for bad in ("21-7", "21:00", "21:00-21:00", "25:00-07:00",
                                                                     "21:00-07:60", "night")),
])
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(env, env_file=NO_FILE)
    message = str(caught.value)
    assert message.startswith(named) and "\n" not in message


def test_secrets_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load({"TELEGRAM_BOT_TOKEN": "secret-token-value"}, env_file=NO_FILE)
    assert "secret-token-value" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load({**WECOM, "WECOM_AES_KEY": "secret-aes-key"}, env_file=NO_FILE)
    assert "secret-aes-key" not in str(caught.value)


def test_wecom_is_on_with_all_five_settings_and_defaults_the_rest() -> None:
    settings = load({**WECOM, "WECOM_API_BASE_URL": "http://wecom.internal/cgi-bin"}, env_file=NO_FILE)
    assert settings.wecom_enabled and not settings.telegram_enabled
    assert (settings.wecom_agent_id, settings.wecom_callback_path) == (1000002, "/wecom/callback")
    assert settings.wecom_api_base_url == "http://wecom.internal/cgi-bin/"
    assert not load({}, env_file=NO_FILE).wecom_enabled


def test_quiet_hours_may_be_moved_or_switched_off() -> None:
    assert str(load({"JINLIN_QUIET_HOURS": " 22:30-6:15 "}, env_file=NO_FILE).quiet_hours) == "22:30-06:15"
    assert str(load({"JINLIN_QUIET_HOURS": "12:00-14:00"}, env_file=NO_FILE).quiet_hours) == "12:00-14:00"
    assert load({"JINLIN_QUIET_HOURS": "off"}, env_file=NO_FILE).quiet_hours is None
