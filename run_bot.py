"""Jinlin command line: run the bot (Telegram, or the console demo without a token) and office tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import app
from bot.clock import SystemClock
from bot.config import ConfigError, Settings, StartupError, load
from bot.domain.people import Duty, Role
from bot.handlers.telegram import bot_username
from bot.i18n import t, use_locale
from bot.services import invites, lectures
from bot.services.categories import export_categories, import_categories
from bot.services.grid_import import ImportRejected, ImportReport, export_grid, import_grid, render_errors
from bot.services.posters import write_posters
from bot.storage.db import Database, StoreLockedError
from bot.storage.lectures import Kind


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="run_bot.py", description="Jinlin (近邻) grassroots governance bot")
    commands = root.add_subparsers(dest="command")
    commands.add_parser("serve", help="run on Telegram and/or WeCom (needs TELEGRAM_BOT_TOKEN or the WECOM_ settings)")
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
    lecture = commands.add_parser("lecture", help="law talks and moral lectures: create, list, cancel"
                                  ).add_subparsers(dest="action", required=True)
    create = lecture.add_parser("create", help="schedule a talk; residents in scope are told while the bot runs")
    create.add_argument("--kind", required=True, choices=[kind.value for kind in Kind])
    create.add_argument("--title", required=True)
    create.add_argument("--speaker", required=True)
    create.add_argument("--starts", required=True, help='street local time, e.g. "2026-12-05 14:30"')
    create.add_argument("--place", required=True)
    create.add_argument("--scope", required=True, help="code of the street, community, complex or building")
    create.add_argument("--description", default="")
    create.add_argument("--rsvp", action="store_true", help="ask residents whether they will come")
    lecture.add_parser("list", help="talks by start time, newest first, with answers so far")
    lecture.add_parser("cancel", help="call a talk off; everyone told hears of it").add_argument("id", type=int)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load()
    except ConfigError as error:
        print(f"jinlin: configuration error: {error}", file=sys.stderr)
        return 2
    app.configure_logging()
    command = args.command or ("serve" if settings.telegram_enabled or settings.wecom_enabled else "console")
    with use_locale(settings.locale):
        try:
            return asyncio.run(_run(command, args, settings))
        except StoreLockedError as error:
            print(f"jinlin: {error}", file=sys.stderr)
            return 3
        except StartupError as error:
            print(f"jinlin: cannot start: {error}", file=sys.stderr)
            return 4
        except KeyboardInterrupt:
            return 130


async def _run(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "serve":
        if not settings.telegram_enabled and not settings.wecom_enabled:
            print("jinlin: configuration error: serve needs TELEGRAM_BOT_TOKEN or the WECOM_ settings",
                  file=sys.stderr)
            return 2
        await app.serve(settings)
        return 0
    if command == "console":
        await app.console(settings)
        return 0
    tools: dict[str, Callable[[Database, argparse.Namespace, Settings], Awaitable[int]]] = {
        "grid": _grid, "categories": _categories, "invite": _invite, "posters": _posters, "lecture": _lecture}
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


async def _lecture(db: Database, args: argparse.Namespace, settings: Settings) -> int:
    now, zone = SystemClock().now(), settings.timezone
    try:
        async with db.write() as tx:
            if args.action == "list":
                found = await lectures.recent(tx)
                print("\n".join([await lectures.one_line(tx, item, zone, now) for item in found])
                      or t("lecture.none"))
            elif args.action == "cancel":
                talk, told = await lectures.cancel(tx, args.id, None, True, now, zone)
                print(t("lecture.cancel_done", title=talk.title, count=told))
            else:
                draft = lectures.Draft(kind=Kind(args.kind), title=args.title, speaker=args.speaker,
                                       starts_at=lectures.parse_time(args.starts, zone, now), place=args.place,
                                       unit_id=await lectures.scope_by_code(tx, args.scope),
                                       description=args.description, rsvp=args.rsvp)
                talk = await lectures.create(tx, draft, None, True, now, zone)
                print(t("lecture.created", line=await lectures.one_line(tx, talk, zone, now),
                        count=await lectures.audience_size(tx, talk.unit_id)))
    except lectures.LectureError as error:
        print(t(error.key, **error.params), file=sys.stderr)
        return 1
    return 0


async def _username(settings: Settings, given: str) -> str:
    if given or not settings.telegram_enabled:
        return given.lstrip("@")
    return await bot_username(settings)


if __name__ == "__main__":
    sys.exit(main())
