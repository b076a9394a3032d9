"""The console demo, driven through its real standard input and output as a separate process."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture
async def terminal(tmp_path: Path) -> AsyncIterator[Terminal]:
    env = {**os.environ, "JINLIN_DB": str(tmp_path / "demo.db"), "JINLIN_LOCALE": "zh_CN", "PYTHONUNBUFFERED": "1"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "run_bot.py"), cwd=tmp_path, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    yield Terminal(process)
    if process.returncode is None:
        process.kill()
    await process.wait()


async def test_resident_joins_by_picking_their_building(terminal: Terminal) -> None:
    await terminal.expect("同意吗？")
    await terminal.type("1")  # agree
    screen = await terminal.expect("请选择您所在的社区")
    await terminal.expect("> ")
    assert "[1] 幸福社区" in terminal.screen and "[2] 和谐社区" in terminal.screen, screen
    await terminal.type("2")  # 和谐社区
    await terminal.expect("请选择您所在的小区")
    await terminal.type("康乐小区")  # the label typed instead of its number
    await terminal.expect("请选择您住的楼栋")
    await terminal.type("1")
    await terminal.expect("请输入房号")
    await terminal.type("5-302")
    await terminal.expect("加入成功！您的住址：和谐社区 · 康乐小区 · 1号楼 · 5-302")
    await terminal.type("👤 我的信息")  # a button's label works like its number
    await terminal.expect("住址：和谐社区 · 康乐小区 · 1号楼 · 5-302")
    await terminal.type("/quit")
    assert await terminal.process.wait() == 0


async def test_admin_invites_a_leader_who_accepts_and_the_admin_is_told(terminal: Terminal) -> None:
    await terminal.expect("同意吗？")
    await terminal.type("/as admin")
    await terminal.expect("现在您是 admin")
    await terminal.expect("邀请网格员")
    await terminal.type("/invite building_leader C01-A-B2 safety,sanitation")
    created = await terminal.expect("请选择要办的事")
    code = re.search(r"邀请码：(inv-[a-z0-9]+)", created)
    assert code, created
    await terminal.type("/as resident 7")
    await terminal.expect("同意吗？")
    await terminal.type(f"/start {code.group(1)}")
    await terminal.expect("您受邀担任：幸福社区 · 阳光花园 · 2号楼 楼栋党小组长\n分工：安全员, 卫生员")
    await terminal.type("1")  # accept
    await terminal.expect("同意吗？")
    await terminal.type("1")  # consent
    await terminal.expect("您现在是 幸福社区 · 阳光花园 · 2号楼 楼栋党小组长。")
    await terminal.expect("📨 发给 admin 的消息：\n"
                          "resident-7 已接受邀请，成为 幸福社区 · 阳光花园 · 2号楼 楼栋党小组长。")
    await terminal.type(f"/start {code.group(1)}")  # a second use of the same code
    await terminal.expect("这个邀请码已经用过了")
    await terminal.type("/quit")
    assert await terminal.process.wait() == 0


async def test_the_whole_story_in_one_terminal(terminal: Terminal, tmp_path: Path) -> None:
    """A resident reports a leak with a photo; the building leader accepts and resolves it; the resident rates it."""
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "leak.jpg")
    await terminal.expect("同意吗？")
    for line in ("1", "1", "1", "1", "3-201"):  # agree, 幸福社区, 阳光花园, 1号楼, room
        await terminal.type(line)
    await terminal.expect("加入成功")
    await terminal.type("1")  # 我要反映
    await terminal.expect("您要反映哪方面的事")
    await terminal.type("1")  # 屋顶漏水
    await terminal.expect("请说说是什么情况")
    await terminal.type("屋顶漏水，下雨天滴水")
    await terminal.expect("最多 5 张，已收到 0 张")
    await terminal.type(f"/photo {tmp_path / 'leak.jpg'}")
    await terminal.expect("已收到 1 张")
    await terminal.type("1")  # 发完了
    await terminal.expect("照片：1 张")
    await terminal.type("1")  # 提交
    ref = re.search(r"编号：(JL-\d{8}-\d{4})", await terminal.expect("有进展会马上告诉您"))
    assert ref is not None
    await terminal.expect(f"📨 发给 building-C01-A-B1 的消息：\n[照片 {tmp_path}/media/")
    await terminal.expect(f"📋 {ref.group(1)} 🏠 屋顶漏水")
    await terminal.type("/as leader C01-A-B1")
    await terminal.expect("—— 现在您是 building-C01-A-B1 ——")
    await terminal.expect("> ")
    await terminal.type("a")  # ✋ 受理, on the pushed task
    await terminal.expect(f"您已受理 {ref.group(1)}")
    await terminal.expect(f"📨 发给 resident-1 的消息：\n您反映的 {ref.group(1)} 已由")
    await terminal.type("🗂 我的任务")
    await terminal.expect("待办")
    await terminal.type("1")  # the task
    await terminal.expect("✅ 办结")
    await terminal.type("3")  # 办结 on the card
    await terminal.expect("再输入处理说明")
    await terminal.type("换了防水卷材")
    await terminal.expect("已请居民确认问题是否解决")
    await terminal.expect("问题解决了吗？\n[a] ✅ 解决了")
    await terminal.type("/as resident")
    await terminal.expect("> ")
    await terminal.type("a")  # ✅ 解决了
    await terminal.expect("请给这次处理打个分吧")
    await terminal.type("5")
    await terminal.expect("还有什么想说的吗")
    await terminal.type("很满意，谢谢楼长")
    await terminal.expect("谢谢您的评价")
    await terminal.type("/quit")
    assert await terminal.process.wait() == 0
