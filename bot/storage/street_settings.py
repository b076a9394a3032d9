"""The street's settings an administrator changes in the chat (key → text)."""

from __future__ import annotations

from bot.storage.db import Tx


async def get(tx: Tx, key: str) -> str | None:
    value = await tx.scalar("SELECT value FROM street_settings WHERE key = ?", (key,))
    return None if value is None else str(value)


async def put(tx: Tx, key: str, value: str) -> None:
    await tx.execute("INSERT INTO street_settings (key, value) VALUES (?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
