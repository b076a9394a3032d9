"""Issue 12's "done when", typed into the real console demo (`run_bot.py` as a separate process): a party member,
invited to 1号楼 301 党员中心户, writes their card, a linked resident sees it and messages them, the member
answers, then logs a visit whose need becomes a report the resident is told of."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cli_harness import Terminal, console_demo

MEMBER = "resident-7"  # invited as the party member of 1号楼 301 党员中心户, linked to 201, 202 and 302


@pytest.fixture
async def terminal(tmp_path: Path) -> AsyncIterator[Terminal]:
    async with console_demo(tmp_path) as running:
        yield running


async def answer(terminal: Terminal, *lines: str) -> None:
    for line in lines:
        await terminal.expect("> ")
        await terminal.type(line)


async def test_card_message_and_a_visit_whose_need_becomes_a_report(terminal: Terminal) -> None:
    await terminal.expect("同意吗？")
    await answer(terminal, "1", "1", "1", "1", "201")  # agree, 幸福社区, 阳光花园, 1号楼, room 201
    await terminal.expect("加入成功")
    await answer(terminal, "/as admin", "/invite party_member C01-A-B1-H1")
    code = re.search(r"邀请码：(inv-[a-z0-9]+)", await terminal.expect("请选择要办的事"))
    assert code is not None
    await answer(terminal, "/as resident 7", f"/start {code.group(1)}")
    await terminal.expect("党员中心户")
    await answer(terminal, "1", "1")  # accept, consent
    await terminal.expect("[4] 🪪 我的党员名片\n[5] 🚪 两联走访")
    await answer(terminal, "4", "2")  # 我的党员名片 → ✏️ 写承诺
    await terminal.expect("请写一句对住户的承诺")
    await answer(terminal, "有事您说话，随叫随到")
    await terminal.expect("🤝 承诺：有事您说话，随叫随到")

    await answer(terminal, "/as resident 1")
    await terminal.expect("[4] 🤝 我的党员联系人")
    await answer(terminal, "4")
    await terminal.expect("🤝 承诺：有事您说话，随叫随到\n[1] 💬 给TA留言")
    await answer(terminal, "1", "楼道的灯坏了")
    await terminal.expect("已转达")
    await terminal.expect(f"📨 发给 {MEMBER} 的消息：\n💬 幸福社区 · 阳光花园 · 1号楼 · 201 的住户给您留言：\n"
                          "楼道的灯坏了\n[a] ↩️ 回复")

    await terminal.type("/as resident 7")  # the push came after the prompt: no new one to wait for
    await answer(terminal, "a", "好的，我明天去看看")
    await terminal.expect("已转达")
    await terminal.expect(f"📨 发给 resident-1 的消息：\n💬 您的党员联系人 {MEMBER} 回复您：\n好的，我明天去看看")

    await terminal.type("5")  # 🚪 两联走访
    await terminal.expect("您联系 3 户")
    await answer(terminal, "1", "1", "王阿姨身体挺好", "1", "2", "2", "楼下消防通道总被车堵")
    # 201 → 🚪 上门 → the note → 不拍照 → 有，帮TA反映 → 🚗 停车 → what was raised
    await terminal.expect("走访记录已保存，并已帮住户反映，编号 JL-")
    await terminal.expect("📨 发给 building-C01-A-B1 的消息：\n📋 JL-")  # routed like any report
    await terminal.expect(f"📨 发给 resident-1 的消息：\n📣 您的党员联系人 {MEMBER} 走访时帮您反映了：\n"
                          "楼下消防通道总被车堵")
