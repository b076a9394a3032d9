"""Start-up failures, as whoever runs the bot sees them: `run_bot.py serve` as a subprocess against the fakes (or
against nothing at all) prints one clear line, no traceback and no token or secret, and exits non-zero."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.storage.db import Database
from tests.fake_telegram import FakeTelegramServer
from tests.fake_wecom import FakeWeComServer
from tests.wecom_harness import AES_KEY, AGENT_ID, CALLBACK_TOKEN, CORP_ID, SECRET

ROOT = Path(__file__).resolve().parents[2]
TOKEN = f"424242:START-UP-SECRET-{os.getpid()}"  # per process: the token lock is machine-wide
WRONG_SECRET = "not-the-secret-at-all"


@contextmanager
def closed_port() -> Iterator[int]:
    """A local port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def wecom_env(base_url: str, secret: str = SECRET) -> dict[str, str]:
    return {"WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": secret,
            "WECOM_TOKEN": CALLBACK_TOKEN, "WECOM_AES_KEY": AES_KEY, "WECOM_API_BASE_URL": base_url}


async def serve(tmp_path: Path, **env: str) -> tuple[int, str, str]:
    """Run `run_bot.py serve` on an existing store (a new one logs its migrations) until it exits, as it should at
    once; its exit code, stdout and stderr."""
    store = Database(str(tmp_path / "jinlin.db"))
    await store.open()
    await store.close()
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("TELEGRAM_", "WECOM_", "JINLIN_"))}
    environ.update({"JINLIN_DB": str(tmp_path / "jinlin.db"), "JINLIN_MEDIA_DIR": str(tmp_path / "media"),
                    "JINLIN_HTTP_PORT": "0", **env})
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "run_bot.py"), "serve", cwd=tmp_path, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def one_line(code: int, out: str, err: str, *secrets: str) -> str:
    """The single line on stderr, after checking the exit code and that no traceback or secret was printed."""
    assert code == 4, (code, err)
    assert "Traceback" not in out + err
    for secret in secrets:
        assert secret not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert len(lines[0]) < 200
    assert lines[0].startswith("jinlin: cannot start: ")
    return lines[0]


async def test_a_rejected_telegram_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    async with FakeTelegramServer(token="1:the-right-one") as fake:  # getMe with any other token: 401
        result = await serve(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN,
                             TELEGRAM_API_BASE_URL=fake.base_url.removesuffix("/bot"))
    line = one_line(*result, TOKEN, TOKEN.split(":")[1])
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in line


async def test_telegram_unreachable_is_one_line(tmp_path: Path) -> None:
    with closed_port() as port:
        result = await serve(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}")
    line = one_line(*result, TOKEN, TOKEN.split(":")[1])
    assert f"cannot reach the Telegram Bot API at http://127.0.0.1:{port}" in line


async def test_a_wecom_secret_refused_is_one_line_without_the_secret(tmp_path: Path) -> None:
    async with FakeWeComServer(CORP_ID, SECRET) as fake:
        result = await serve(tmp_path, **wecom_env(fake.base_url, WRONG_SECRET))
        assert fake.token_fetches == 0 and [call.endpoint for call in fake.calls] == ["gettoken"]
    line = one_line(*result, WRONG_SECRET)
    assert "WeCom refused WECOM_CORP_ID / WECOM_SECRET (errcode 40001)" in line


async def test_wecom_unreachable_is_one_line(tmp_path: Path) -> None:
    with closed_port() as port:
        result = await serve(tmp_path, **wecom_env(f"http://127.0.0.1:{port}/cgi-bin/"))
    line = one_line(*result, SECRET)
    assert f"cannot reach the WeCom API at http://127.0.0.1:{port}/cgi-bin/" in line


async def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    async with FakeWeComServer(CORP_ID, SECRET) as fake:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = await serve(tmp_path, JINLIN_HTTP_PORT=str(port), **wecom_env(fake.base_url))
    line = one_line(*result, SECRET)
    assert f"cannot listen on 127.0.0.1:{port}" in line
