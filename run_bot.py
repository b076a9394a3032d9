"""Jinlin command line: run the bot (Telegram, or the console demo without a token) and office tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import app
from bot.clock import SystemClock
from bot.config import ConfigError, Settings, load
from bot.domain.people import Duty, Role
from bot.handlers.telegram import bot_username
from bot.i18n import t, use_locale
from bot.services import invites
from bot.services.categories import export_categories, import_categories
from bot.services.grid_import import ImportRejected, ImportReport, export_grid, import_grid, render_errors
from bot.services.posters import write_posters
from bot.storage.db import Database, StoreLockedError


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="run_bot.py", description="Jinlin (近邻) grassroots governance bot")
    commands = root.add_subparsers(dest="command")
    commands.add_parser("serve", help="run on Telegram (needs TELEGRAM_BOT_TOKEN)")
    commands.add_parser("console", help="the console demo: play every part in one terminal")
    grid = commands.add_parser("grid", help="import or export the grid CSV").add_subparsers(dest="action",
                                                                                         required=True)
    grid.add_parser("import", help="load a grid CSV (all or nothing)").add_argument("file", type=Path)
    grid.add_parser("export", help="write the grid as CSV").add_argument("file", type=Path, nargs="?")
    categories = commands.add_parser("categories", help="import or export the report categories CSV"
                                     ).add_subparsers(dest="action", required=True)
    categories.add_parser("import", help="load a categories CSV (all or nothing)").add_argument("file", type=Path)
    categories.add_parser("export", help="write the categories as CSV").add_argument("file", type=Path, nargs="?")
    invite = commands.add_parser("invite", help="create a one-time invite code for a grid member")
    invite.add_argument("--role", required=True, choices=[role.value for role in Role])
    invite.add_argument("--unit", required=True, help="code of the unit the role is held at")
    invite.add_argument("--duty", action="append", default=[], choices=[duty.value for duty in Duty])
    invite.add_argument("--days", type=int, default=invites.DEFAULT_DAYS)
    posters = commands.add_parser("posters", help="write a QR join poster (PNG) for every building")
    posters.add_argument("--out", type=Path, default=Path("posters"))
    posters.add_argument("--bot-username", default="", help="defaults to the username of TELEGRAM_BOT_TOKEN's bot")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load()
    except ConfigError as error:
        print(f"jinlin: configuration error: {error}", file=sys.stderr)
        return 2
    app.configure_logging()
    command = args.command or ("serve" if settings.telegram_enabled else "console")
    with use_locale(settings.locale):
        try:
            return asyncio.run(_run(command, args, settings))
        except StoreLockedError as error:
            print(f"jinlin: {error}", file=sys.stderr)
            return 3
        except KeyboardInterrupt:
            return 130


async def _run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "serve":
        if not settings.telegram_enabled:
            print("jinlin: configuration error: TELEGRAM_BOT_TOKEN is required for serve", file=sys.stderr)
            return 2
        await app.serve(settings)
        return 0
    if command == "console":
        await app.console(settings)
        return 0
    tools: dict[str, Callable[[Database, argparse.Namespace, Settings], Awaitable[int]]] = {
        "grid": _grid, "categories": _categories, "invite": _invite, "posters": _posters}
    db = Database(settings.db_path)
    await db.open(exclusive=False)
    try:
        return await tools[command](db, args, settings)
    finally:
        await db.close()


async def _grid(db: Database, args: argparse.Namespace, settings: Settings) -> int:
    return await _spreadsheet(args, lambda: export_grid(db), lambda data: import_grid(db, data))


async def _categories(db: Database, args: argparse.Namespace, settings: Settings) -> int:
    return await _spreadsheet(args, lambda: export_categories(db), lambda data: import_categories(db, data))


async def _spreadsheet(args: argparse.Namespace, export: Callable[[], Awaitable[bytes]],
                       load: Callable[[bytes], Awaitable[ImportReport]]) -> int:
    """`export [FILE]` (to stdout without FILE) or `import FILE` of an all-or-nothing CSV."""
    if args.action == "export":
        data = await export()
        if args.file:
            args.file.write_bytes(data)
        else:
            sys.stdout.write(data.decode("utf-8-sig"))
        return 0
    try:
        report = await load(args.file.read_bytes())
    except OSError as error:
        print(t("cli.cannot_read", file=args.file, error=error.strerror), file=sys.stderr)
        return 1
    except ImportRejected as error:
        print(t("cli.grid_rejected", count=len(error.errors)), file=sys.stderr)
        print(render_errors(error.errors), file=sys.stderr)
        return 1
    print(report.render())
    return 0


async def _invite(db: Database, args: argparse.Namespace, settings: Settings) -> int:
    try:
        async with db.write() as tx:
            code = await invites.create(tx, role=Role(args.role), unit_code=args.unit,
                                        duties=tuple(Duty(d) for d in args.duty), created_by="cli",
                                        now=SystemClock().now(), days=args.days)
    except invites.InviteError as error:
        print(t(error.key, **error.params), file=sys.stderr)
        return 1
    username = await _username(settings, "")
    link = f"https://t.me/{username}?start={code}" if username else f"/start {code}"
    print(t("cli.invite_created", code=code, link=link, days=args.days))
    return 0


async def _posters(db: Database, args: argparse.Namespace, settings: Settings) -> int:
    username = await _username(settings, args.bot_username)
    if not username:
        print(t("cli.posters_need_username"), file=sys.stderr)
        return 2
    print((await write_posters(db, args.out, username, settings.locale)).render())
    return 0


async def _username(settings: Settings, given: str) -> str:
    if given or not settings.telegram_enabled:
        return given.lstrip("@")
    return await bot_username(settings)


if __name__ == "__main__":
    sys.exit(main())
