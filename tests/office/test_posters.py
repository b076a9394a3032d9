"""Building posters: one PNG per building, with a QR code of the building's join link."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from PIL import Image

from bot.i18n import t, use_locale
from bot.services import posters
from bot.services.grid_import import import_grid
from bot.storage import grid as grid_store
from bot.storage.db import Database

SAMPLE = Path(__file__).resolve().parents[2] / "sample" / "grid.csv"
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # fonts-dejavu-core: no Chinese glyphs
BUILDINGS = ["C01-A-B1", "C01-A-B2", "C01-A-B3", "C01-B-B1", "C01-B-B2",
             "C02-A-B1", "C02-A-B2", "C02-B-B1", "C02-B-B2", "C02-B-B3"]


@pytest.fixture
async def db(db: Database) -> Database:
    """The shared database, holding the sample street."""
    await import_grid(db, SAMPLE.read_bytes())
    return db


@pytest.fixture(autouse=True)
def fresh_font_lookup() -> Iterator[None]:
    posters.find_cjk_font.cache_clear()
    yield
    posters.find_cjk_font.cache_clear()


@pytest.fixture
def cjk_font(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A font on this machine that draws Chinese (found the way the bot finds one), or the test is skipped."""
    monkeypatch.delenv(posters.FONT_ENV, raising=False)
    found = posters.find_cjk_font()
    if found is None:
        pytest.skip("no Chinese font on this machine (apt-get install fonts-noto-cjk or fonts-wqy-microhei)")
    posters.find_cjk_font.cache_clear()
    return found


def drawn_modules(image: Image.Image, box: tuple[int, int, int, int], count: int) -> list[list[bool]]:
    """Sample the centre of every module of a `count`×`count` QR code drawn in `box`."""
    gray = image.convert("L")
    pixels, width = gray.tobytes(), gray.width
    left, top, right, _ = box
    scale = (right - left) / count
    return [[pixels[int(top + (y + 0.5) * scale) * width + int(left + (x + 0.5) * scale)] < 128
             for x in range(count)] for y in range(count)]


def expected_modules(link: str) -> list[list[bool]]:
    qr = segno.make_qr(link, error="m")
    return [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=4)]


def test_join_link() -> None:
    assert posters.join_link("jinlin_bot", "C01-A-B1") == "https://t.me/jinlin_bot?start=C01-A-B1"
    assert posters.join_link("@jinlin_bot", "S01") == "https://t.me/jinlin_bot?start=S01"


async def test_a_poster_per_building(db: Database, tmp_path: Path, cjk_font: Path) -> None:
    out = tmp_path / "posters"

    report = await posters.write_posters(db, out, "jinlin_bot", "zh_CN")

    assert report.paths == [out / f"{code}.png" for code in BUILDINGS]
    assert sorted(path.name for path in out.iterdir()) == [f"{code}.png" for code in BUILDINGS]
    for path in report.paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert 800 <= width < height <= 2 * width


async def test_poster_qr_encodes_the_building_link(db: Database, tmp_path: Path, cjk_font: Path) -> None:
    await posters.write_posters(db, tmp_path, "jinlin_bot", "en")
    link, neighbour = "https://t.me/jinlin_bot?start=C01-A-B1", "https://t.me/jinlin_bot?start=C01-A-B2"

    with Image.open(tmp_path / "C01-A-B1.png") as image:
        drawn = drawn_modules(image, posters.qr_box(link), len(expected_modules(link)))

    assert drawn == expected_modules(link)
    assert drawn != expected_modules(neighbour)  # same size, so the comparison tells buildings apart


def test_render_poster_in_both_locales_draws_the_same_qr() -> None:
    link = posters.join_link("jinlin_bot", "C02-B-B3")
    images = [Image.open(io.BytesIO(posters.render_poster("和谐社区 · 康乐小区 · 3号楼", link, locale)))
              for locale in ("zh_CN", "en")]
    box = posters.qr_box(link)

    assert images[0].crop(box).tobytes() == images[1].crop(box).tobytes()
    assert images[0].tobytes() != images[1].tobytes()  # the instructions differ
    assert drawn_modules(images[0], box, len(expected_modules(link))) == expected_modules(link)


async def test_poster_title_names_community_complex_and_building(db: Database) -> None:
    async with db.read() as tx:
        building = await grid_store.by_code(tx, "C01-A-B1")
        assert building is not None
        chain = await grid_store.ancestry(tx, building.id)

    assert posters.poster_title(chain) == "幸福社区 · 阳光花园 · 1号楼"


def test_font_from_environment(monkeypatch: pytest.MonkeyPatch, cjk_font: Path, tmp_path: Path) -> None:
    chosen = tmp_path / "my-cjk.ttc"
    chosen.write_bytes(cjk_font.read_bytes())
    monkeypatch.setenv(posters.FONT_ENV, str(chosen))

    assert posters.find_cjk_font() == chosen


def test_a_font_without_chinese_is_not_taken_for_one() -> None:
    if not LATIN_FONT.is_file():
        pytest.skip(f"{LATIN_FONT} is not on this machine")

    assert not posters.draws_chinese(str(LATIN_FONT))


@pytest.mark.parametrize("font", ["missing.ttf", "not-a-font.ttf", str(LATIN_FONT)])
async def test_without_a_chinese_font_posters_are_refused_and_nothing_written(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, font: str) -> None:
    (tmp_path / "not-a-font.ttf").write_bytes(b"this is not a font")
    monkeypatch.setenv(posters.FONT_ENV, str(tmp_path / font))  # an absolute `font` stays as it is
    out = tmp_path / "posters"

    with pytest.raises(posters.PosterError) as refused:
        await posters.write_posters(db, out, "jinlin_bot", "en")

    assert not out.exists()
    assert refused.value.params == {"path": str(tmp_path / font)}
    with use_locale("en"):
        message = t(refused.value.key, **refused.value.params)
    assert "JINLIN_POSTER_FONT" in message and "fonts-noto-cjk" in message and "\n" not in message


async def test_without_any_font_setting_the_refusal_names_the_package(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(posters.FONT_ENV, raising=False)
    monkeypatch.setattr(posters, "FONT_PATHS", ())
    monkeypatch.setattr("shutil.which", lambda name: None)  # no fontconfig either

    with pytest.raises(posters.PosterError) as refused:
        await posters.write_posters(db, tmp_path / "posters", "jinlin_bot", "zh_CN")

    with use_locale("zh_CN"):
        assert "apt-get install fonts-noto-cjk" in t(refused.value.key, **refused.value.params)
