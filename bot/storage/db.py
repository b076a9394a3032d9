"""The SQLite store: one connection, WAL, numbered migrations, one writer at a time."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Row = aiosqlite.Row
Params = Sequence[Any] | dict[str, Any]


class StoreLockedError(RuntimeError):
    """Another process already holds this database (or this bot token)."""


class Tx:
    """A unit of work on the store. Repositories take one of these; nothing else touches SQL."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns lastrowid for inserts, else the number of changed rows."""
        cursor = await self._conn.execute(sql, params)
        result = cursor.lastrowid if sql.lstrip().upper().startswith("INSERT") else cursor.rowcount
        await cursor.close()
        return int(result or 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cursor:
            row: Row | None = await cursor.fetchone()
            return row

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A part of the transaction that is undone alone when it raises (the rest stays)."""
        await self._conn.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            await self._conn.execute("ROLLBACK TO part")
            raise
        finally:
            await self._conn.execute("RELEASE part")


class Database:
    """Owns the single aiosqlite connection. Every read and write goes through `read()` or `write()`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock_file: Any = None
        self._mutex = asyncio.Lock()

    async def open(self, *, exclusive: bool = True) -> None:
        if exclusive:
            self._lock_file = hold_lock(Path(self.path).with_suffix(Path(self.path).suffix + ".lock"),
                                        f"database {self.path}")
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        # FULL: an acknowledged change (and the outbox row it wrote) survives power loss.
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
            await conn.execute(f"PRAGMA {pragma}")
        self._conn = conn
        await self._migrate()
        if exclusive:  # the bot's own store keeps the statistics; office tools and second connections leave them
            await conn.execute("PRAGMA analysis_limit=400")  # ANALYZE samples: cheap even on a million rows
            await self._optimize("optimize=0x10002")  # 0x10000 (SQLite 3.46+): every table that lacks statistics

    async def close(self) -> None:
        if self._conn is not None:
            if self._lock_file is not None:
                await self._optimize("optimize")  # the tables this connection's queries used, as SQLite advises
            await self._conn.close()
            self._conn = None
        release_lock(self._lock_file)
        self._lock_file = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._mutex:
            yield Tx(self._connection())

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A read-then-write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error."""
        async with self._mutex:
            conn = self._connection()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def _optimize(self, pragma: str) -> None:
        """Refresh the query planner's statistics; skipped (and tried at the next open or close) when another
        process holds the write lock."""
        try:
            await self._connection().execute(f"PRAGMA {pragma}")
        except aiosqlite.OperationalError as error:
            log.warning("PRAGMA %s skipped: %s", pragma, error)

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def schema_version(self) -> int:
        async with self.read() as tx:
            return int(await tx.scalar("PRAGMA user_version"))

    async def _migrate(self) -> None:
        current = await self.schema_version()
        for version, name, sql in _migrations():
            if version <= current:
                continue
            log.info("applying migration %03d_%s", version, name)
            async with self.write() as tx:
                for statement in _statements(sql):
                    await tx.execute(statement)
                await tx.execute(f"PRAGMA user_version = {int(version)}")


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("bot.storage").joinpath("migrations").iterdir():
        stem, _, suffix = entry.name.partition(".")
        if suffix != "sql":
            continue
        number, _, name = stem.partition("_")
        found.append((int(number), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(script: str) -> list[str]:
    """Split a migration into statements; a trigger's body keeps its own ';' (our migrations keep ';' and '--' out
    of literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements, pending = [], ""
    for part in "\n".join(lines).split(";"):
        pending += f"{part};"
        if sqlite3.complete_statement(pending):  # False inside CREATE TRIGGER … BEGIN … END
            if pending.strip("; \n"):
                statements.append(pending.strip())
            pending = ""
    return statements


def hold_lock(path: Path, what: str) -> Any:
    """Take an exclusive advisory lock on `path` or raise StoreLockedError naming `what`."""
    handle = open(path, "a+")  # held for the life of the process
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise StoreLockedError(f"{what} is already in use by {owner}; stop it first") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def release_lock(handle: Any) -> None:
    if handle is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
