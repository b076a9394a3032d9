"""Jinlin command line: run the bot (Telegram, or the console demo without a token) and office tools. The channels'
libraries (python-telegram-bot, wechatpy, aiohttp) load only for the commands that talk to a channel."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from bot.clock import SystemClock
from bot.config import ConfigError, Settings, StartupError, load
from bot.domain.people import Role
from bot.features.invites import service as invites
from bot.features.lectures import service as lectures
from bot.features.lectures.model import Kind
from bot.features.reports.categories import export_categories, import_categories
from bot.features.scorecards import export as score_export
from bot.features.scorecards import service as scorecards
from bot.features.scorecards.model import Kind as PeriodKind
from bot.features.scorecards.model import Period
from bot.features.weekly import export as weekly_export
from bot.features.weekly import service as weekly
from bot.i18n import DEFAULT_LOCALE, t, use_locale
from bot.services.grid_import import ImportRejected, ImportReport, export_grid, import_grid, render_errors
from bot.services.posters import PosterError, write_posters
from bot.storage.db import Database, StoreLockedError


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup], prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, t("cli.usage") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse speaking the current locale: help, usage, section titles and the errors people meet."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(add_help=False, formatter_class=_Formatter, **kwargs)
        self._positionals.title = t("cli.positionals")  # argparse names its two sections in English
        self._optionals.title = t("cli.options")
        self.add_argument("-h", "--help", action="help", help=t("cli.help.help"))

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, t("cli.error", prog=self.prog, message=_localized(message)) + "\n")


_REQUIRED = re.compile(r"the following arguments are required: (?P<args>.+)")
_UNRECOGNIZED = re.compile(r"unrecognized arguments: (?P<args>.+)")
_CHOICE = re.compile(r"argument (?P<arg>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)")
_VALUE = re.compile(r"argument (?P<arg>\S+): invalid \w+ value: (?P<value>.+)")
_ONE = re.compile(r"argument (?P<arg>\S+): expected one argument")


def _localized(message: str) -> str:
    """argparse's own (English) error message in the current locale, when it is one people meet."""
    if found := _REQUIRED.fullmatch(message):
        return t("cli.error.required", args=found["args"])
    if found := _UNRECOGNIZED.fullmatch(message):
        return t("cli.error.unrecognized", args=found["args"])
    if found := _CHOICE.fullmatch(message):
        return t("cli.error.choice", arg=found["arg"], value=found["value"], choices=found["choices"])
    if found := _VALUE.fullmatch(message):
        return t("cli.error.value", arg=found["arg"], value=found["value"])
    if found := _ONE.fullmatch(message):
        return t("cli.error.one_value", arg=found["arg"])
    return message


def parser() -> argparse.ArgumentParser:
    """The command line, its help in the current locale."""
    root = _Parser(description=t("cli.help.description"))  # named as it was run: run_bot.py, jinlin
    commands = root.add_subparsers(dest="command", title=t("cli.commands"))
    commands.add_parser("serve", help=t("cli.help.serve"))
    commands.add_parser("console", help=t("cli.help.console"))
    _spreadsheet_parser(commands, "grid", t("cli.help.grid"), t("cli.help.grid_import"), t("cli.help.grid_export"))
    _spreadsheet_parser(commands, "categories", t("cli.help.categories"), t("cli.help.categories_import"),
                        t("cli.help.categories_export"))
    invite = commands.add_parser("invite", help=t("cli.help.invite"))
    invite.add_argument("--role", required=True, choices=[role.value for role in Role], help=t("cli.help.role"))
    invite.add_argument("--unit", required=True, help=t("cli.help.unit"))
    invite.add_argument("--duty", action="append", default=[], help=t("cli.help.duty"))
    invite.add_argument("--days", type=int, default=invites.DEFAULT_DAYS,
                        help=t("cli.help.days", days=invites.DEFAULT_DAYS))
    posters = commands.add_parser("posters", help=t("cli.help.posters"))
    posters.add_argument("--out", type=Path, default=Path("posters"), help=t("cli.help.out"))
    posters.add_argument("--bot-username", default="", help=t("cli.help.bot_username"))
    lecture = commands.add_parser("lecture", help=t("cli.help.lecture")).add_subparsers(
        dest="action", required=True, title=t("cli.commands"))
    create = lecture.add_parser("create", help=t("cli.help.lecture_create"))
    create.add_argument("--kind", required=True, choices=[kind.value for kind in Kind], help=t("cli.help.kind"))
    create.add_argument("--title", required=True, help=t("cli.help.title"))
    create.add_argument("--speaker", required=True, help=t("cli.help.speaker"))
    create.add_argument("--starts", required=True, help=t("cli.help.starts"))
    create.add_argument("--place", required=True, help=t("cli.help.place"))
    create.add_argument("--scope", required=True, help=t("cli.help.scope"))
    create.add_argument("--description", default="", help=t("cli.help.description_text"))
    create.add_argument("--rsvp", action="store_true", help=t("cli.help.rsvp"))
    lecture.add_parser("list", help=t("cli.help.lecture_list"))
    lecture.add_parser("cancel", help=t("cli.help.lecture_cancel")).add_argument(
        "id", type=int, help=t("cli.help.lecture_id"))
    _report_parser(commands)
    return root


def _report_parser(commands: Any) -> None:
    """`report scorecard --period P [--unit CODE] --out FILE`, `report weekly --period 2026-W49 [--unit C01] --out
    FILE`, `report exclude REF --reason …`, `report include REF`, `report freeze --period 2026-H2`."""
    report = commands.add_parser("report", help=t("cli.help.report")).add_subparsers(
        dest="action", required=True, title=t("cli.commands"))
    card = report.add_parser("scorecard", help=t("cli.help.report_scorecard"))
    card.add_argument("--period", required=True, help=t("cli.help.period"))
    card.add_argument("--unit", default=None, help=t("cli.help.score_unit"))
    card.add_argument("--out", type=Path, required=True, help=t("cli.help.score_out"))
    weekly = report.add_parser("weekly", help=t("cli.help.report_weekly"))
    weekly.add_argument("--period", required=True, help=t("cli.help.period"))
    weekly.add_argument("--unit", default=None, help=t("cli.help.weekly_unit"))
    weekly.add_argument("--out", type=Path, required=True, help=t("cli.help.weekly_out"))
    exclude = report.add_parser("exclude", help=t("cli.help.report_exclude"))
    exclude.add_argument("ref", help=t("cli.help.ref"))
    exclude.add_argument("--reason", required=True, help=t("cli.help.reason"))
    report.add_parser("include", help=t("cli.help.report_include")).add_argument("ref", help=t("cli.help.ref"))
    report.add_parser("freeze", help=t("cli.help.report_freeze")).add_argument(
        "--period", required=True, help=t("cli.help.period"))


def _spreadsheet_parser(commands: Any, name: str, about: str, import_help: str, export_help: str) -> None:
    """`NAME import FILE` and `NAME export [FILE]`."""
    actions = commands.add_parser(name, help=about).add_subparsers(dest="action", required=True,
                                                                   title=t("cli.commands"))
    actions.add_parser("import", help=import_help).add_argument("file", type=Path, help=t("cli.help.file_in"))
    actions.add_parser("export", help=export_help).add_argument("file", type=Path, nargs="?",
                                                                help=t("cli.help.file_out"))


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and Telegram's URLs contain the bot token; urllib3 (under wechatpy) logs
    # request lines, and WeCom's carry the corp secret or the access token; wechatpy tells of each token fetch.
    for noisy in ("httpx", "httpcore", "urllib3", "apscheduler", "wechatpy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (else the arguments this process was given); the exit code."""
    try:
        settings: Settings | None = load()
        problem = None
    except ConfigError as error:
        settings, problem = None, error
    with use_locale(settings.locale if settings else DEFAULT_LOCALE):
        args = parser().parse_args(argv)  # --help works even with a bad setting
        if settings is None:
            print(f"jinlin: configuration error: {problem}", file=sys.stderr)
            return 2
        configure_logging()
        command = args.command or ("serve" if settings.telegram_enabled or settings.wecom_enabled else "console")
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
    if command == "serve" and not settings.telegram_enabled and not settings.wecom_enabled:
        print(t("cli.serve_needs_channel"), file=sys.stderr)
        return 2
    if command in ("serve", "console"):
        from bot import app  # the channels, and their libraries

        await (app.serve if command == "serve" else app.console)(settings)
        return 0
    tools: dict[str, Callable[[Database, argparse.Namespace, Settings], Awaitable[int]]] = {
        "grid": _grid, "categories": _categories, "invite": _invite, "posters": _posters, "lecture": _lecture,
        "report": _report}
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
            return _write(args.file, data)
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
        duties = invites.parse_duties(",".join(args.duty))
        async with db.write() as tx:
            code = await invites.create(tx, role=Role(args.role), unit_code=args.unit, duties=duties,
                                        created_by="cli", now=SystemClock().now(), days=args.days)
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
    try:
        print((await write_posters(db, args.out, username, settings.locale)).render())
    except PosterError as error:
        print(t(error.key, **error.params), file=sys.stderr)
        return 1
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


_WRITERS = {".csv": score_export.to_csv, ".xlsx": score_export.to_xlsx}


async def _report(db: Database, args: argparse.Namespace, settings: Settings) -> int:
    now, zone = SystemClock().now(), settings.timezone
    if args.action == "weekly":
        return await _weekly(db, args, settings)
    try:
        if args.action == "exclude":
            async with db.write() as tx:
                found = await scorecards.exclude(tx, args.ref, args.reason, None, True, now)
            print(t("score.excluded_done", ref=found.ref, reason=found.reason))
            return 0
        if args.action == "include":
            async with db.write() as tx:
                await scorecards.include(tx, args.ref, None, True, now)
            print(t("score.included_done", ref=args.ref.strip().upper()))
            return 0
        try:
            period = Period.parse(args.period, zone)
        except ValueError:
            raise scorecards.ScoreError("score.error.period", period=args.period) from None
        weights = scorecards.load_weights(settings.score_weights)
        if args.action == "freeze":
            async with db.write() as tx:
                card = await scorecards.freeze(tx, period, now, weights)
            assert card.frozen_at is not None
            print(t("score.frozen_done", period=period.label, count=len(card.rows),
                    at=f"{card.frozen_at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"))
            return 0
        writer = _WRITERS.get(args.out.suffix.lower())
        if writer is None:
            raise scorecards.ScoreError("score.error.format", file=args.out)
        async with db.read() as tx:
            card = await scorecards.scorecard(tx, period, now, weights, args.unit)
    except (scorecards.ScoreError, scorecards.WeightsError) as error:
        print(t(error.key, **error.params), file=sys.stderr)
        return 1
    if _write(args.out, writer(card)):
        return 1
    print(t("score.written", file=args.out, period=period.label, count=len(card.rows)))
    return 0


_WEEKLY_WRITERS = {".csv": weekly_export.rollup_csv, ".xlsx": weekly_export.rollup_xlsx}


async def _weekly(db: Database, args: argparse.Namespace, settings: Settings) -> int:
    """`report weekly --period 2026-W49 [--unit C01] --out FILE`: a line per community (kept reports as they are,
    the others computed now)."""
    try:
        try:
            period = Period.parse(args.period, settings.timezone)
        except ValueError:
            raise weekly.WeeklyError("weekly.error.period", period=args.period[:20]) from None
        if period.kind is not PeriodKind.WEEK:
            raise weekly.WeeklyError("weekly.error.period", period=args.period[:20])
        writer = _WEEKLY_WRITERS.get(args.out.suffix.lower())
        if writer is None:
            raise weekly.WeeklyError("weekly.error.format", file=args.out)
        async with db.read() as tx:
            found = await weekly.week_reports(tx, period, SystemClock().now(), args.unit)
    except weekly.WeeklyError as error:
        print(t(error.key, **error.params), file=sys.stderr)
        return 1
    if _write(args.out, writer(period.label, [weekly_export.line(report, unit.code, unit.name)
                                              for unit, report in found])):
        return 1
    print(t("weekly.written", file=args.out, period=period.label, count=len(found)))
    return 0


def _write(path: Path, data: bytes) -> int:
    """Write an export to `path`; 0, or 1 having said in one line why it could not be written."""
    try:
        path.write_bytes(data)
    except OSError as error:
        print(t("cli.cannot_write", file=path, error=error.strerror), file=sys.stderr)
        return 1
    return 0


async def _username(settings: Settings, given: str) -> str:
    if given or not settings.telegram_enabled:
        return given.lstrip("@")
    from bot.handlers.telegram import bot_username  # python-telegram-bot, for this one question

    return await bot_username(settings)
