"""Photos and voice notes: stored without metadata and upright, refused kindly when unusable, received over
Telegram and the console, and a resident's voice note relayed to the grid member with the task."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
import telegram
from PIL import ExifTags, Image

from bot import app
from bot.clock import ManualClock
from bot.config import ConfigError, Settings, load
from bot.conversations.engine import merge
from bot.domain.messages import Button, Reply
from bot.domain.people import Role
from bot.features.reports import service as issue_service
from bot.handlers.console import render
from bot.handlers.telegram_send import send_reply
from bot.services.media import MediaError, MediaStore
from bot.storage import people
from tests.fake_telegram import FakeTelegramServer
from tests.harness import Chat, Member, running, seed_street, settings_for

RESIDENT = 1101
LEADER = 2101
VOICE = b"OggS\x00\x02-a-resident-speaking"


def photo_with_exif(*, size: tuple[int, int] = (40, 20), fmt: str = "JPEG") -> bytes:
    """Left half red, right half blue, stored sideways: EXIF orientation 6 says "turn 90° clockwise to view".

    It also carries what must never leave the phone: GPS coordinates, the camera maker and a comment.
    """
    image = Image.new("RGB", size, "blue")
    image.paste("red", (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 14.0, 5.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 28.0, 1.25)})
    out = io.BytesIO()
    image.save(out, fmt, exif=exif, comment=b"home of Wang")
    return out.getvalue()


def assert_clean_and_upright(path: Path, media_dir: Path) -> None:
    assert path.parent == media_dir.resolve() and path.suffix == ".jpg"
    assert path.stat().st_mode & 0o077 == 0, "only the bot's own user may read residents' photos"
    data = path.read_bytes()
    assert b"Exif" not in data and b"PhoneMaker" not in data and b"home of Wang" not in data
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
        assert image.size == (20, 40)  # turned upright: the stored pixels are portrait now
        red, blue = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert isinstance(red, tuple) and isinstance(blue, tuple)
    assert red[0] > 200 > red[2] and blue[2] > 200 > blue[0]  # the left (red) half is now on top


async def test_photo_loses_all_metadata_and_stays_upright(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    first = Path(await store.save_photo(photo_with_exif()))
    second = Path(await store.save_photo(photo_with_exif()))
    assert first != second
    assert_clean_and_upright(first, tmp_path / "media")


async def test_big_photo_is_scaled_and_transparency_becomes_white(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    with Image.open(await store.save_photo(_png(Image.new("RGB", (3000, 1000), "green")))) as big:
        assert big.size == (2048, 683)
    with Image.open(await store.save_photo(_png(Image.new("RGBA", (10, 10), (0, 0, 0, 0))))) as clear:
        assert clear.mode == "RGB" and clear.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize("data", [b"", b"just some text", b"%PDF-1.7\n1 0 obj", photo_with_exif()[:200],
                                  b"\xff\xd8\xff\xe0\x00\x10JFIF\x00fake-jpeg\xff\xd9"])
async def test_what_is_not_an_image_is_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(MediaError) as refused:
        await MediaStore(tmp_path / "media").save_photo(data)
    assert refused.value.key == "media.error.not_image"
    assert not (tmp_path / "media").exists()


async def test_oversized_input_is_refused_before_decoding(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media", max_bytes=1024 * 1024)
    with pytest.raises(MediaError) as refused:
        await store.save_photo(b"\xff\xd8" + bytes(1024 * 1024))
    assert (refused.value.key, refused.value.params) == ("media.error.too_large", {"max_mb": 1})
    with pytest.raises(MediaError):
        await store.save_voice(bytes(1024 * 1024 + 1), ".oga")
    assert not (tmp_path / "media").exists()


async def test_voice_is_stored_as_it_is(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    stored = await store.save_voice(VOICE, ".OGA")
    assert [(path.name, path.read_bytes()) for path in _stored(tmp_path, ".oga")] == [(Path(stored).name, VOICE)]
    assert Path(await store.save_voice(VOICE, "/../../x")).suffix == ".ogg"  # odd suffixes are not trusted


def test_media_directory_setting(tmp_path: Path) -> None:
    assert load({}, env_file="/nonexistent/.env").media_dir == "./media"
    assert load({"JINLIN_MEDIA_DIR": str(tmp_path)}, env_file="/nonexistent/.env").media_dir == str(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="JINLIN_MEDIA_DIR"):
        load({"JINLIN_MEDIA_DIR": str(tmp_path / "file")}, env_file="/nonexistent/.env")


def test_media_replies_are_not_merged() -> None:
    note, card = Reply("已提交"), Reply("任务", voice="/m/v.oga")
    assert merge([note, card]) == [note, card]
    assert merge([card, note]) == [card, note]
    assert merge([note, Reply("菜单")]) == [Reply("已提交\n\n菜单")]
    assert Reply.from_json(card.to_json()) == card


def test_console_shows_media_as_paths() -> None:
    text, _ = render(Reply("任务", photo="/m/a.jpg", voice="/m/b.oga"))
    assert text == "[照片 /m/a.jpg]\n[语音 /m/b.oga]\n任务"


# ------------------------------------------------------------------------------------------ over Telegram


async def test_voice_goes_with_its_card_or_just_before_it(tmp_path: Path, server: FakeTelegramServer) -> None:
    voice, photo = tmp_path / "note.oga", tmp_path / "leak.jpg"
    voice.write_bytes(VOICE)
    photo.write_bytes(b"\xff\xd8\xff\xe0leak\xff\xd9")
    buttons = ((Button("✋ 受理", "t:acc:1"),),)
    async with telegram.Bot("123:ABC", base_url=server.base_url, base_file_url=server.base_file_url) as bot:
        await send_reply(bot, LEADER, Reply("任务卡", buttons, voice=str(voice)))
        await send_reply(bot, LEADER, Reply("任务卡", buttons, photo=str(photo), voice=str(voice)))
        await send_reply(bot, LEADER, Reply("长" * 1025, buttons, voice=str(voice)))  # too long for a caption
    sent = [(m.method, m.text, bool(m.reply_markup), m.file.data if m.file else None) for m in server.sent]
    assert sent == [("sendVoice", "任务卡", True, VOICE),
                    ("sendVoice", None, False, VOICE), ("sendPhoto", "任务卡", True, b"\xff\xd8\xff\xe0leak\xff\xd9"),
                    ("sendVoice", None, False, VOICE), ("sendMessage", "长" * 1025, True, None)]


@pytest.fixture
async def settings(server: FakeTelegramServer, tmp_path: Path) -> Settings:
    """The sample street with a building leader at C01-A-B1 who uses Telegram; media under tmp_path."""
    await seed_street(tmp_path / "jinlin.db", [Member(LEADER, "楼长", roles=((Role.BUILDING_LEADER, "C01-A-B1"),))],
                      ManualClock().now())
    return settings_for(server, tmp_path / "jinlin.db", media_dir=str(tmp_path / "media"))


async def _join(chat: Chat) -> None:
    chat.send("/start C01-A-B1")
    await chat.tap("✅ 同意")
    await chat.tap("跳过")
    await chat.expect("请选择要办的事")


async def _answer(server: FakeTelegramServer, push: Callable[[], object]) -> str:
    """What the bot answers the resident's next message with."""
    before = len(server.messages_to(RESIDENT))
    push()
    answer = (await server.wait_for_sent(before + 1, chat_id=RESIDENT))[before].text
    assert answer is not None
    return answer


def _stored(media_dir: Path, suffix: str) -> list[Path]:
    return sorted(media_dir.glob(f"*{suffix}"), key=lambda path: path.stat().st_mtime_ns)


async def test_telegram_photos_and_voice_arrive_as_clean_local_files(
        server: FakeTelegramServer, settings: Settings, clock: ManualClock, tmp_path: Path) -> None:
    media = tmp_path / "media"
    async with running(settings, clock):
        await _join(Chat(server, RESIDENT))
        # The main menu has no use for a photo and asks again, but the photo was received, stripped and stored.
        menu_again = "没看懂，请点下面的按钮"
        assert menu_again in await _answer(server, lambda: server.push_photo(RESIDENT, data=photo_with_exif()))
        [photo] = _stored(media, ".jpg")
        assert_clean_and_upright(photo, media)
        assert menu_again in await _answer(server, lambda: server.push_document(
            RESIDENT, photo_with_exif(), file_name="leak.jpg", mime_type="image/jpeg"))
        assert len(_stored(media, ".jpg")) == 2
        assert_clean_and_upright(_stored(media, ".jpg")[1], media)
        assert menu_again in await _answer(server, lambda: server.push_voice(RESIDENT, data=VOICE))
        [voice] = _stored(media, ".oga")
        assert voice.read_bytes() == VOICE
        # The fake server's placeholder bytes are no real image: a kind word, and nothing stored.
        assert "没看懂这张图片" in await _answer(server, lambda: server.push_photo(RESIDENT))
        assert len(_stored(media, ".jpg")) == 2


async def test_a_reported_leak_with_a_photo_reaches_the_leader_without_exif(
        server: FakeTelegramServer, settings: Settings, clock: ManualClock, tmp_path: Path) -> None:
    async with running(settings, clock) as service:
        chat = Chat(server, RESIDENT)
        await _join(chat)
        for step in (lambda: chat.press("m:report"), lambda: chat.press("c:roof_leak"),
                     lambda: chat.send("楼顶漏水，滴到楼道里"),
                     lambda: server.push_photo(RESIDENT, data=photo_with_exif()),
                     lambda: chat.press("p:done"), lambda: chat.press("ok:submit")):
            await _answered(server, step)
        [task] = await server.wait_for_sent(1, chat_id=LEADER)
        async with service.core.db.read() as tx:
            [stored] = await tx.all("SELECT path FROM issue_photos")
    assert_clean_and_upright(Path(stored[0]), tmp_path / "media")
    assert task.method == "sendPhoto" and task.file is not None
    # The leader got the stored, stripped file, not what the phone sent.
    assert [task.file.data] == [path.read_bytes() for path in _stored(tmp_path / "media", ".jpg")]
    assert task.text is not None and "楼顶漏水" in task.text


async def _answered(server: FakeTelegramServer, act: Callable[[], object]) -> None:
    """Do `act` and wait until the bot answers the resident (a new message or an edited prompt)."""
    answers = lambda: len(server.messages_to(RESIDENT)) + len(server.edits)  # noqa: E731
    before = answers()
    act()
    await server.wait_until(lambda: answers() > before, 5, lambda: "the bot did not answer")


async def test_voice_note_is_relayed_to_the_grid_member_with_the_task(
        server: FakeTelegramServer, settings: Settings, clock: ManualClock, tmp_path: Path) -> None:
    async with running(settings, clock) as service:
        await _join(Chat(server, RESIDENT))
        await _answer(server, lambda: server.push_voice(RESIDENT, data=VOICE))
        [voice] = _stored(tmp_path / "media", ".oga")
        async with service.core.db.write() as tx:
            resident = await people.person_for(tx, "telegram", str(RESIDENT))
            assert resident is not None and resident.building_id is not None
            draft = issue_service.Draft("roof_leak", "", resident.building_id, voice_ref=str(voice))
            issue = await issue_service.submit(tx, resident, draft, clock.now(), settings.timezone)
        assert service.core.outbox is not None
        service.core.outbox.wake()
        [task] = await server.wait_for_sent(1, chat_id=LEADER)
    assert task.method == "sendVoice" and task.file is not None and task.file.data == VOICE
    assert task.text is not None and issue.ref in task.text
    assert ("✋ 受理", f"t:acc:{issue.id}") in server.buttons(task)


# --------------------------------------------------------------------------------------------- console


async def test_console_photo_command_stores_a_clean_photo(tmp_path: Path) -> None:
    picture = tmp_path / "漏水.jpg"
    picture.write_bytes(photo_with_exif())
    (tmp_path / "notes.txt").write_text("not a picture")
    inp = io.StringIO(f"/as leader C01-A-B1\n/photo\n/photo '{picture}'\n/photo {tmp_path / 'notes.txt'}\n"
                      f"/photo {tmp_path / 'missing.jpg'}\n/quit\n")
    out = io.StringIO()
    settings = Settings(db_path=str(tmp_path / "demo.db"), media_dir=str(tmp_path / "media"))
    await app.console(settings, inp, out, ManualClock())
    screen = out.getvalue()
    assert "用法：/photo 图片文件路径" in screen
    assert screen.count("没看懂，请点下面的按钮") == 1  # the menu re-prompts after the one photo it got
    assert "没看懂这张图片" in screen and "无法读取文件" in screen
    [photo] = _stored(tmp_path / "media", ".jpg")
    assert_clean_and_upright(photo, tmp_path / "media")


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
