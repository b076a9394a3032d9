"""Printable building posters: the building's name, plain instructions and a QR code of its Telegram join link."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from bot.domain.grid import GridUnit, Level
from bot.domain.refusal import Refusal
from bot.i18n import t, translate
from bot.storage import grid as grid_store
from bot.storage.db import Database

FONT_ENV = "JINLIN_POSTER_FONT"
FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)

WIDTH, HEIGHT = 1240, 1754  # portrait, 1:√2 like A5 (A5 at about 210 dpi)
MARGIN = 90
TITLE_BAND = (MARGIN, 330)
INSTRUCTIONS_BAND = (350, 530)
QR_TOP, QR_AREA = 560, 900  # the QR code, quiet zone included, fits in this square
LINK_BAND = (1490, 1600)
QR_BORDER = 4
QR_ERROR = "m"
INK, PAPER = (0, 0, 0), (255, 255, 255)
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_NO_SUCH_CHARACTER = "\U0010fffd"  # drawn as the font's "missing glyph" box

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class PosterError(Refusal):
    """The posters hold Chinese but no font that draws it was found (they would show boxes)."""


@dataclass(frozen=True, slots=True)
class PosterReport:
    directory: Path
    paths: list[Path]

    def render(self) -> str:
        """A summary in the current locale."""
        return t("poster.done", count=len(self.paths), directory=self.directory)


def join_link(bot_username: str, code: str) -> str:
    """The Telegram deep link that starts the bot for the unit `code`."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def poster_title(chain: Sequence[GridUnit]) -> str:
    """ "Community · complex · building" from a building's ancestry (nearest first)."""
    return " · ".join(unit.name for unit in reversed(chain) if unit.level is not Level.STREET)


async def write_posters(db: Database, out_dir: Path, bot_username: str, locale: str) -> PosterReport:
    """One `<code>.png` poster per building in `out_dir`; PosterError (nothing written) when they hold Chinese
    and no font draws it."""
    async with db.read() as tx:
        buildings = await grid_store.children(tx, None, Level.BUILDING)
        titles = {unit.code: poster_title(await grid_store.ancestry(tx, unit.id)) for unit in buildings}
    texts = [*titles.values(), translate(locale, "poster.instructions")]
    if any(_CJK.search(text) for text in texts) and await asyncio.to_thread(find_cjk_font) is None:
        given = os.environ.get(FONT_ENV, "")
        raise PosterError("poster.font_unusable", path=given) if given else PosterError("poster.font_missing")
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    paths = []
    for code, title in sorted(titles.items()):
        png = await asyncio.to_thread(render_poster, title, join_link(bot_username, code), locale)
        path = out_dir / f"{code}.png"
        await asyncio.to_thread(path.write_bytes, png)
        paths.append(path)
    return PosterReport(out_dir, paths)


def render_poster(title: str, link: str, locale: str) -> bytes:
    """The poster as PNG: title, instructions in `locale`, a large QR code of `link` and the link itself."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    _draw_text(draw, title, TITLE_BAND, 72)
    _draw_text(draw, translate(locale, "poster.instructions"), INSTRUCTIONS_BAND, 44)
    _draw_qr(draw, link)
    _draw_text(draw, link, LINK_BAND, 36)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(210, 210))
    return buffer.getvalue()


def qr_modules(link: str) -> list[list[bool]]:
    """The QR code of `link` as rows of modules (True is dark), quiet zone included."""
    qr = segno.make_qr(link, error=QR_ERROR)
    return [[bool(module) for module in row] for row in qr.matrix_iter(scale=1, border=QR_BORDER)]


def qr_box(link: str) -> tuple[int, int, int, int]:
    """Where the poster draws the QR code of `link` (quiet zone included): left, top, right, bottom."""
    count = len(qr_modules(link))
    side = QR_AREA // count * count
    left, top = (WIDTH - side) // 2, QR_TOP + (QR_AREA - side) // 2
    return left, top, left + side, top + side


def _draw_qr(draw: ImageDraw.ImageDraw, link: str) -> None:
    modules = qr_modules(link)
    left, top, right, _ = qr_box(link)
    scale = (right - left) // len(modules)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * scale, top + y * scale
                draw.rectangle((x0, y0, x0 + scale - 1, y0 + scale - 1), fill=INK)


def _draw_text(draw: ImageDraw.ImageDraw, text: str, band: tuple[int, int], size: int) -> None:
    """`text` centred in the horizontal band, wrapped, shrunk until it fits."""
    width, height = WIDTH - 2 * MARGIN, band[1] - band[0]
    while True:
        font = _font(size)
        lines = _wrap(draw, text, font, width)
        line_height = size * 4 // 3
        if len(lines) * line_height <= height or size <= 16:
            break
        size -= 4
    y = band[0] + (height - len(lines) * line_height) // 2
    for line in lines:
        draw.text((WIDTH // 2, y), line, font=font, fill=INK, anchor="mt")
        y += line_height


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    """Greedy wrapping by character (Chinese has no spaces), breaking at a late space when there is one."""
    lines: list[str] = []
    line = ""
    for char in text:
        if not line or draw.textlength(line + char, font=font) <= width:
            line += char
            continue
        cut = line.rfind(" ")
        if char == " " or cut <= len(line) // 2:
            cut = len(line)
        lines.append(line[:cut].rstrip())
        line = (line[cut:] + char).lstrip()
    return [*lines, line] if line else lines


def _font(size: int) -> Font:
    path = find_cjk_font()
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size, index=_face_index(str(path)))


@cache
def find_cjk_font() -> Path | None:
    """A font that draws Chinese: $JINLIN_POSTER_FONT when set (and then only it), else the first of the common
    system paths and fontconfig's choice that does."""
    return next((Path(path) for path in _font_candidates() if path and draws_chinese(path)), None)


def draws_chinese(path: str) -> bool:
    """Whether the font file at `path` has a glyph for 中 (rather than its "missing glyph" box)."""
    try:
        font = ImageFont.truetype(path, 32, index=_face_index(path))
    except (OSError, ValueError):
        return False
    return _drawn(font, "中") != _drawn(font, _NO_SUCH_CHARACTER)


def _drawn(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    image = Image.new("L", (48, 48))
    ImageDraw.Draw(image).text((8, 4), char, font=font, fill=255)
    return image.tobytes()


def _font_candidates() -> Iterator[str]:
    given = os.environ.get(FONT_ENV, "")
    if given:
        yield given
        return
    yield from FONT_PATHS
    yield _fontconfig_cjk()


def _fontconfig_cjk() -> str:
    """fontconfig's best font that really covers Chinese (its first answer is often a Latin-only font)."""
    if shutil.which("fc-match") is None:
        return ""
    try:
        result = subprocess.run(["fc-match", "-s", "-f", "%{file}\t%{lang}\n", ":lang=zh"],
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    for line in result.stdout.splitlines():
        path, _, langs = line.partition("\t")
        if any(lang.startswith("zh") for lang in langs.split("|")):
            return path
    return ""


@cache
def _face_index(path: str) -> int:
    """In a font collection, the Simplified Chinese face (Noto CJK puts the Japanese one first)."""
    for index in range(16):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(" SC"):
            return index
    return 0
