"""A weekly report's attachments on every channel: a reply's document goes through the outbox's JSON, then to
Telegram as sendDocument (multipart, over the fake Bot API server), to WeCom as an uploaded `file` medium and a
`file` message (over the fake WeCom API), and to the console as a line naming the file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import telegram

from bot.clock import ManualClock
from bot.delivery.outbox import OutboxWorker
from bot.domain.messages import Button, Reply
from bot.handlers.console import render
from bot.handlers.telegram_send import TelegramSender
from bot.handlers.wecom_api import WeComApi
from bot.handlers.wecom_send import WeComSender
from bot.i18n import use_locale
from bot.storage import outbox
from bot.storage.db import Database
from tests.fake_telegram import FakeTelegramServer
from tests.fake_wecom import FakeWeComServer

XLSX = b"PK\x03\x04 a spreadsheet"
PNG = b"\x89PNG\r\n\x1a\n a chart"


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    chart, sheet = tmp_path / "weekly-2026-W49-C01.png", tmp_path / "weekly-2026-W49-C01.xlsx"
    chart.write_bytes(PNG)
    sheet.write_bytes(XLSX)
    return str(chart), str(sheet)


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[telegram.Bot]:
    tg_bot = telegram.Bot(token="123:ABC", base_url=server.base_url, base_file_url=server.base_file_url)
    await tg_bot.initialize()
    yield tg_bot
    await tg_bot.shutdown()


async def _queue(db: Database, clock: ManualClock, channel: str, chat: str, reply: Reply) -> None:
    async with db.write() as tx:
        await outbox.enqueue(tx, key=f"weekly:test:{channel}", channel=channel, chat_id=chat, reply=reply,
                             now=clock.now())


async def test_telegram_gets_the_chart_then_the_spreadsheet_carrying_text_and_buttons(
        db: Database, clock: ManualClock, server: FakeTelegramServer, bot: telegram.Bot,
        files: tuple[str, str]) -> None:
    chart, sheet = files
    reply = Reply("📊 幸福社区 周报", ((Button("✅ 提交周报", "wr:submit:1"),),), photo=chart, document=sheet)
    await _queue(db, clock, "telegram", "1001", reply)
    worker = OutboxWorker(db, clock, {"telegram": TelegramSender(bot, max_per_second=30)})
    assert await worker.run_once() == 1
    photo, document = server.messages_to(1001)
    assert (photo.method, photo.file is not None and photo.file.data) == ("sendPhoto", PNG)
    assert document.method == "sendDocument" and document.file is not None
    assert (document.file.filename, document.file.data) == ("weekly-2026-W49-C01.xlsx", XLSX)
    assert document.text == "📊 幸福社区 周报" and server.buttons(document) == [("✅ 提交周报", "wr:submit:1")]
    assert server.calls_of("sendDocument")[0].content_type.startswith("multipart/form-data")


async def test_wecom_uploads_the_spreadsheet_as_a_file_and_sends_it(db: Database, clock: ManualClock,
                                                                     files: tuple[str, str]) -> None:
    _, sheet = files
    await _queue(db, clock, "wecom", "zhangsan", Reply("📊 各社区周报汇总", document=sheet))
    async with FakeWeComServer() as fake:
        api = WeComApi(fake.corp_id, fake.secret, 1000002, base_url=fake.base_url, timeout=5)
        try:
            assert await OutboxWorker(db, clock, {"wecom": WeComSender(api, clock)}).run_once() == 1
        finally:
            await api.close()
        [upload] = fake.uploads
        assert (upload.type, upload.filename, upload.data) == ("file", "weekly-2026-W49-C01.xlsx", XLSX)
        document, text = fake.messages_to("zhangsan")
        assert (document.msgtype, document.content) == ("file", {"media_id": upload.media_id})
        assert text.text == "📊 各社区周报汇总"


def test_the_console_names_the_document() -> None:
    with use_locale("zh_CN"):
        shown, _ = render(Reply("周报", photo="/m/chart.png", document="/m/weekly.xlsx"))
    assert shown.splitlines() == ["[照片 /m/chart.png]", "[文件 /m/weekly.xlsx]", "周报"]


def test_a_document_survives_the_outbox_json() -> None:
    reply = Reply("周报", document="/m/weekly.xlsx")
    assert Reply.from_json(reply.to_json()) == reply
    assert Reply.from_json({"text": "旧的"}).document == ""  # rows queued before documents existed
