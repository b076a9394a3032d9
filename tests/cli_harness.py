"""Jinlin's command line run as a person runs it: `python run_bot.py ...` as a separate process in a fresh directory,
with no Telegram token (the office tools, and the console demo read through its real standard input and output)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment(db: Path, **env: str) -> dict[str, str]:
    """This process's environment for Jinlin on the database `db`, in Chinese, with no Telegram token."""
    environ = {**os.environ, "JINLIN_DB": str(db), "JINLIN_LOCALE": "zh_CN", **env}
    environ.pop("TELEGRAM_BOT_TOKEN", None)
    return environ


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python run_bot.py ARGS` in `tmp_path` on its office.db, run to the end."""
    return python(tmp_path, str(ROOT / "run_bot.py"), *args, **env)


def python(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in `tmp_path`, with the environment run() gives Jinlin."""
    return subprocess.run([sys.executable, *args], cwd=tmp_path, env=environment(tmp_path / "office.db", **env),
                          capture_output=True, text=True, timeout=60, check=False)


class Terminal:
    """A running `python run_bot.py console`, read until expected text appears."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.screen = ""
        self._read = 0

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()

    async def expect(self, text: str, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        """Wait for `text` after what earlier expectations consumed; returns the output up to it."""
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while (found := self.screen.find(text, self._read)) < 0:
                chunk = await self.process.stdout.read(4096)
                if not chunk:
                    raise AssertionError(f"console ended without {text!r}; it printed:\n{self.screen}")
                self.screen += chunk.decode()
        seen = self.screen[self._read:found + len(text)]
        self._read = found + len(text)
        return seen


@asynccontextmanager
async def console_demo(tmp_path: Path) -> AsyncIterator[Terminal]:
    """The console demo (`python run_bot.py` with no token) on `tmp_path`/demo.db, killed on exit if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "run_bot.py"), cwd=tmp_path,
        env=environment(tmp_path / "demo.db", PYTHONUNBUFFERED="1"), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        yield Terminal(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
