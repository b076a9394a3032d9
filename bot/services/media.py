"""Photos and voice notes residents send, kept on local disk: photos re-encoded without any metadata."""

from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
from pathlib import Path

from PIL import Image, ImageOps

from bot.domain.refusal import Refusal
from bot.storage import media as store
from bot.storage.db import Database

MAX_BYTES = 20 * 1024 * 1024  # what the Telegram Bot API lets a bot download
MAX_SIDE = 2048  # longest side of a stored photo, in pixels
MAX_PIXELS = 50_000_000  # larger images are refused before they are decoded
JPEG_QUALITY = 85
# Decoders tried on untrusted bytes: what phones send, nothing exotic (EPS would even run Ghostscript).
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # JPEG includes multi-picture (MPO) files
_TRASH_BATCH = 200  # files deleted per transaction
_SUFFIX_RE = re.compile(r"\.[a-z0-9]{1,5}")


class MediaError(Refusal):
    """A refused photo or voice note."""


class MediaStore:
    """Keeps media under `directory` (created on first use, readable by this user only) with random names."""

    def __init__(self, directory: Path, *, max_bytes: int = MAX_BYTES, max_side: int = MAX_SIDE) -> None:
        self.directory = directory.resolve()
        self.max_bytes = max_bytes
        self.max_side = max_side

    def check_size(self, size: int) -> None:
        """Refuse a file of `size` bytes before anyone downloads or reads it."""
        if size > self.max_bytes:
            raise MediaError("media.error.too_large", max_mb=self.max_bytes // (1024 * 1024))

    async def save_photo(self, data: bytes) -> str:
        """Store the image upright, as JPEG of at most `max_side` pixels, without EXIF/GPS or any other metadata.

        Returns the stored file's path; raises MediaError for oversized input or anything that is not an image.
        """
        self.check_size(len(data))
        return await asyncio.to_thread(lambda: self._write(reencode(data, self.max_side), ".jpg"))

    async def save_voice(self, data: bytes, suffix: str) -> str:
        """Store a voice note as it is (e.g. suffix ".oga"); returns its path."""
        self.check_size(len(data))
        suffix = suffix.lower() if _SUFFIX_RE.fullmatch(suffix.lower()) else ".ogg"
        return await asyncio.to_thread(self._write, data, suffix)

    async def empty_trash(self, db: Database) -> int:
        """Delete the files let go of (see `storage.media`), once their transaction has committed; returns how
        many. Only files inside this store's directory are touched."""
        deleted = 0
        while paths := await _read_trash(db):
            await asyncio.to_thread(self._delete, paths)
            async with db.write() as tx:
                await store.emptied(tx, paths)
            deleted += len(paths)
        return deleted

    def _delete(self, paths: list[str]) -> None:
        for path in map(Path, paths):
            if path.resolve().parent == self.directory:
                path.unlink(missing_ok=True)

    def _write(self, data: bytes, suffix: str) -> str:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / f"{secrets.token_hex(16)}{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return str(path)


async def _read_trash(db: Database) -> list[str]:
    async with db.read() as tx:
        return await store.trash(tx, _TRASH_BATCH)


def reencode(data: bytes, max_side: int) -> bytes:
    """The image in `data`, turned upright by its EXIF orientation, scaled to fit `max_side`, as a bare JPEG."""
    try:
        with Image.open(io.BytesIO(data), formats=PHOTO_FORMATS) as image:
            if image.width * image.height > MAX_PIXELS:
                raise MediaError("media.error.too_many_pixels")
            image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale when that is enough
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((max_side, max_side))
            rgba = upright.convert("RGBA")
    except Image.DecompressionBombError:
        raise MediaError("media.error.too_many_pixels") from None
    except (OSError, SyntaxError, ValueError):  # unknown format, truncated or corrupt data
        raise MediaError("media.error.not_image") from None
    # A fresh image carries no metadata at all (EXIF, GPS, XMP, ICC profile, comments); transparency becomes white.
    clean = Image.new("RGB", rgba.size, "white")
    clean.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
