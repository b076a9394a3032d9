"""Joining over Telegram: the real python-telegram-bot Application against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest
import telegram

from bot.clock import ManualClock
from bot.storage.db import StoreLockedError
from tests.fake_telegram import FakeTelegramServer
from tests.harness import TOKEN, Chat, query, running, seed_street, settings_for

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 900


@pytest.fixture
async def db_path(tmp_path: Path, clock: ManualClock) -> Path:
    path = tmp_path / "jinlin.db"
    await seed_street(path, [], clock.now())  # nobody has joined yet
    return path


async def _people(db_path: Path) -> list[tuple[str, str]]:
    rows = await query(db_path, """SELECT a.user_id, COALESCE(g.code, '') FROM people p JOIN channel_accounts a
                                   ON a.person_id = p.id LEFT JOIN grid_units g ON g.id = p.building_id
                                   ORDER BY a.user_id""")
    return [(row[0], row[1]) for row in rows]


async def test_resident_joins_by_menu(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1001, first_name="王阿姨")
        chat.send("/start")
        await chat.expect("同意吗？")
        await chat.tap("✅ 同意")
        prompt = await chat.expect("请选择您所在的社区")
        assert [label for label, _ in server.buttons(prompt)] == ["幸福社区", "和谐社区", "⬅ 返回", "✖ 取消"]
        await chat.tap("幸福社区")
        await chat.expect("请选择您所在的小区")
        await chat.tap("翠竹苑")
        await chat.expect("请选择您住的楼栋")
        await chat.tap("⬅ 返回")  # change of mind: back to the complexes
        await chat.expect("请选择您所在的小区")
        await chat.tap("阳光花园")
        await chat.expect("请选择您住的楼栋")
        await chat.tap("2号楼")
        await chat.expect("请输入房号")
        chat.send("3-201")
        await chat.expect("加入成功！您的住址：幸福社区 · 阳光花园 · 2号楼 · 3-201")
        menu = await chat.expect("请选择要办的事")
        assert "➕ 邀请网格员" not in [label for label, _ in server.buttons(menu)]
        assert server.calls_of("editMessageText"), "button presses replace the prompt they belong to"
    assert await _people(db_path) == [("1001", "C01-A-B2")]
    commands = {language for _, language in server.commands}
    assert {"", "en"} <= commands  # localized command menus
    listed = {key: [command["command"] for command in menu] for key, menu in server.commands.items()}
    assert listed[("default", "")] == listed[("default", "en")] == ["start", "menu", "help", "language", "stats",
                                                                        "cancel"]


async def test_english_device_is_asked_its_language(server: FakeTelegramServer, db_path: Path,
                                                     clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1002, language_code="en")
        chat.send("/start")
        await chat.expect("Please choose your language")
        await chat.tap("English")
        await chat.expect("Do you agree?")
        await chat.tap("✅ I agree")
        await chat.expect("Which community do you live in?")


async def test_resident_joins_by_building_link_and_skips_room(server: FakeTelegramServer, db_path: Path,
                                                              clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1003)
        chat.send("/start C02-B-B1")
        await chat.expect("同意吗？")
        await chat.tap("✅ 同意")
        await chat.expect("您住在 和谐社区 · 康乐小区 · 1号楼。")
        await chat.tap("跳过")
        await chat.expect("加入成功！您的住址：和谐社区 · 康乐小区 · 1号楼。")
    assert await _people(db_path) == [("1003", "C02-B-B1")]


async def test_declining_stores_nothing(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1004)
        chat.send("/start C01-A-B1")
        await chat.expect("同意吗？")
        await chat.tap("不同意")
        await chat.expect("没有保存您的任何信息")
    assert await _people(db_path) == []
    assert await query(db_path, "SELECT COUNT(*) FROM conversations") == [(0,)]


async def test_unexpected_input_reprompts_and_keeps_what_was_entered(server: FakeTelegramServer, db_path: Path,
                                                                    clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1005)
        chat.send("/start")
        await chat.expect("同意吗？")
        await chat.tap("✅ 同意")
        await chat.expect("请选择您所在的社区")
        await chat.tap("和谐社区")
        await chat.expect("请选择您所在的小区")
        server.push_sticker(1005)
        await chat.expect("没看懂，请点下面的按钮")
        await chat.expect("请选择您所在的小区")
        server.push_photo(1005)
        await chat.expect("没看懂")
        chat.press("u:2")  # a forged token: unit 2 is a community, not a complex of 和谐社区
        await chat.expect("没看懂")
        chat.send("和平里")  # typing the label works like pressing it
        await chat.expect("请选择您住的楼栋")
        await chat.tap("1号楼")
        await chat.expect("请输入房号")
        chat.send("很长" * 2500)
        await chat.expect("这段文字太长了")
        chat.send("房" * 40)
        await chat.expect("房号最多16个字")
        chat.send("8-808")
        await chat.expect("加入成功！您的住址：和谐社区 · 和平里 · 1号楼 · 8-808")


async def test_restart_mid_flow_resumes(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    settings = settings_for(server, db_path)
    chat = Chat(server, 1006)
    async with running(settings, clock):
        chat.send("/start")
        await chat.expect("同意吗？")
        await chat.tap("✅ 同意")
        await chat.expect("请选择您所在的社区")
        await chat.tap("幸福社区")
        await chat.expect("请选择您所在的小区")
    # The bot is down; the resident taps while it is away, then it comes back on the same database.
    await chat.tap("阳光花园")
    async with running(settings, clock):
        await chat.expect("请选择您住的楼栋")
        await chat.tap("3号楼")
        await chat.expect("请输入房号")
        await chat.tap("⬅ 返回")
        await chat.expect("请选择您住的楼栋")
        await chat.tap("1号楼")
        await chat.tap("跳过")
        await chat.expect("加入成功！您的住址：幸福社区 · 阳光花园 · 1号楼")
    assert await _people(db_path) == [("1006", "C01-A-B1")]


async def test_invites_over_telegram(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    settings = settings_for(server, db_path, admins=frozenset({("telegram", str(ADMIN))}))
    async with running(settings, clock):
        admin = Chat(server, ADMIN, first_name="街道")
        admin.send("/start")
        await admin.expect("同意吗？")
        await admin.tap("✅ 同意")
        menu = await admin.expect("请选择要办的事")
        assert "➕ 邀请网格员" in [label for label, _ in server.buttons(menu)]
        await admin.tap("➕ 邀请网格员")
        await admin.expect("邀请担任什么职务？")
        await admin.tap("楼栋党小组长")
        await admin.tap("和谐社区")
        await admin.tap("和平里")
        await admin.tap("2号楼")
        await admin.expect("选择分工")
        await admin.tap("矛调员")
        await admin.expect("选择分工")
        await admin.tap("生成邀请")
        created = await admin.expect("已生成邀请：和谐社区 · 和平里 · 2号楼 楼栋党小组长")
        assert created.text is not None
        link = next(line for line in created.text.splitlines() if line.startswith("https://t.me/"))
        assert link.startswith("https://t.me/jinlin_test_bot?start=inv-")
        payload = link.split("start=")[1]

        leader = Chat(server, 2001, first_name="李师傅")
        leader.send(f"/start {payload}")
        await leader.expect("您受邀担任：和谐社区 · 和平里 · 2号楼 楼栋党小组长\n分工：矛调员")
        await leader.tap("✅ 接受")
        await leader.expect("同意吗？")
        await leader.tap("✅ 同意")
        await leader.expect("您现在是 和谐社区 · 和平里 · 2号楼 楼栋党小组长")
        await admin.expect("李师傅 已接受邀请，成为 和谐社区 · 和平里 · 2号楼 楼栋党小组长")  # through the outbox

        other = Chat(server, 2002)
        other.send(f"/start {payload}")
        await other.expect("这个邀请码已经用过了")
        other.send("/start inv-doesnotexist")
        await other.expect("这个邀请码不存在")

        admin.send("/invite complex_secretary C01-B")
        fresh = await admin.expect("已生成邀请：幸福社区 · 翠竹苑 小区党支部书记")
        assert fresh.text is not None
        code = re.search(r"inv-[a-z0-9]+", fresh.text)
        assert code is not None
        clock.advance(8 * 24 * 3600)
        other.send(f"/start {code.group()}")
        await other.expect("这个邀请码已过期")

        leader.send("/invite building_leader C01-A-B1")  # not an admin: refused on the server
        await leader.expect("抱歉，您没有这个权限")
        leader.press("m:invite")  # a forged menu press
        await leader.expect("抱歉，您没有这个权限")


async def test_webhook_mode_checks_the_secret_and_acts_once(server: FakeTelegramServer, db_path: Path,
                                                            clock: ManualClock) -> None:
    settings = settings_for(server, db_path, telegram_webhook_url="https://bot.example/telegram/hook",
                            telegram_webhook_secret="s3cret-_")
    async with running(settings, clock) as service:
        assert server.webhook_url == "https://bot.example/telegram/hook"
        assert server.webhook_secret == "s3cret-_"
        url = f"http://127.0.0.1:{service.http.port}/telegram/hook"
        update = {"update_id": 77, **server.text_update(3001, "/start")}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as bad:
                assert bad.status == 403
            for _ in range(2):  # Telegram redelivers; the second copy must change nothing
                async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-_"}) as ok:
                    assert ok.status == 200
            async with http.get(f"http://127.0.0.1:{service.http.port}/healthz") as health:
                assert (await health.json()) == {"status": "ok"}
        await Chat(server, 3001).expect("同意吗？")
        await server.wait_for_sent(1, chat_id=3001)
        await asyncio.sleep(0)
    assert len(server.messages_to(3001)) == 1


async def test_another_poller_on_the_token_stops_jinlin(server: FakeTelegramServer, db_path: Path,
                                                       clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock) as service:
        await server.wait_for_calls("getUpdates", 1)
        intruder = telegram.Bot(TOKEN, base_url=server.base_url)
        async with intruder:
            task = asyncio.create_task(intruder.get_updates(timeout=1))
            await asyncio.wait_for(service.telegram.stopped.wait(), timeout=5)
            await task


async def test_second_instance_is_refused(server: FakeTelegramServer, db_path: Path, clock: ManualClock,
                                          tmp_path: Path) -> None:
    async with running(settings_for(server, db_path), clock):
        other_db = tmp_path / "other.db"
        with pytest.raises(StoreLockedError, match="Telegram bot token"):
            async with running(settings_for(server, other_db), clock):
                pass
        env = {**os.environ, "JINLIN_DB": str(db_path), "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE_URL": server.base_url.removesuffix("/bot")}
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run_bot.py"), "serve", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 3
        assert f"database {db_path} is already in use" in err.decode()
        assert TOKEN not in err.decode()


async def test_help_cancel_and_language(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1007)
        chat.send("/start")
        await chat.expect("同意吗？")
        chat.send("/help")  # help in the middle of joining keeps the question open
        await chat.expect("/cancel 取消当前操作")
        await chat.tap("✅ 同意")
        await chat.expect("请选择您所在的社区")
        chat.send("/nonsense")
        await chat.expect("没有这个命令")
        await chat.tap("和谐社区")
        await chat.expect("请选择您所在的小区")
        chat.send("/cancel")
        await chat.expect("已取消。")
        await chat.expect("请选择要办的事")
        chat.send("/language")
        await chat.expect("请选择语言")
        await chat.tap("English")
        await chat.expect("Language set to English.")
        await chat.expect("What would you like to do?")
        await chat.tap("👤 My details")
        await chat.expect("Home: (not set)")
    assert await query(db_path, "SELECT locale FROM people") == [("en",)]


async def test_a_resident_can_delete_their_data(server: FakeTelegramServer, db_path: Path,
                                                clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1008)
        chat.send("/start C01-A-B3")
        await chat.tap("✅ 同意")
        await chat.tap("跳过")
        await chat.tap("🗑 删除我的信息")
        confirm = await chat.expect("确定要删除您在近邻的信息吗？")
        assert [label for label, _ in server.buttons(confirm)] == ["确定删除", "⬅ 返回", "✖ 取消"]
        await chat.tap("⬅ 返回")
        await chat.expect("请选择要办的事")
        assert await _people(db_path) == [("1008", "C01-A-B3")]
        await chat.tap("🗑 删除我的信息")
        await chat.tap("确定删除")
        await chat.expect("已删除您的信息")
    assert await _people(db_path) == []


async def test_a_press_is_handled_even_when_it_cannot_be_answered(server: FakeTelegramServer, db_path: Path,
                                                                  clock: ManualClock) -> None:
    async with running(settings_for(server, db_path), clock):
        chat = Chat(server, 1009)
        chat.send("/start")
        await chat.expect("同意吗？")
        server.fail_next("answerCallbackQuery", status=400,
                         description="Bad Request: query is too old and response timeout expired")
        await chat.tap("✅ 同意")
        await chat.expect("请选择您所在的社区")
        assert server.calls_of("answerCallbackQuery")[-1].status == 400


async def test_an_update_ptb_cannot_read_is_dropped_without_holding_back_the_rest(
        server: FakeTelegramServer, db_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    phone = "13800138000"
    async with running(settings_for(server, db_path), clock):
        await server.wait_for_calls("getUpdates", 1)
        server.push_text(3101, "/start")
        poison = server.push_update({"message": {"message_id": 1, "date": 0, "chat": phone, "text": phone}})
        server.push_text(3102, "/start")
        await Chat(server, 3101).expect("同意吗？")
        await Chat(server, 3102).expect("同意吗？")
        await server.wait_until(lambda: not server.pending_updates, 5, lambda: "the updates were never confirmed")
    assert f"dropped Telegram update {poison}" in caplog.text
    assert phone not in caplog.text  # neither ours nor PTB's line quotes what the update held
