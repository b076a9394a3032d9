"""Wiring and lifecycle: store, engine, outbox worker, scheduler and channels, started and stopped in order."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from bot.clock import Clock, SystemClock
from bot.config import Settings, StartupError
from bot.conversations.engine import Engine
from bot.delivery.inbox import InboxChannel, InboxWorker
from bot.delivery.outbox import ChannelSender, OutboxWorker
from bot.features.broadcasts.service import ProgressReporter
from bot.features.catalog import all_flows
from bot.handlers.console import ConsoleChannel, ConsoleSender
from bot.handlers.http import HttpServer
from bot.handlers.telegram import TelegramChannel
from bot.handlers.wecom import WeComChannel
from bot.handlers.wecom_api import WeComApi, WeComAuthError, WeComError
from bot.i18n import use_locale
from bot.scheduler import Scheduler
from bot.services import demo
from bot.services import people as people_service
from bot.services.demo import ADMIN_ID
from bot.services.media import MediaStore
from bot.storage.db import Database

log = logging.getLogger(__name__)


class Core:
    """Store, media store, engine and outbox worker: what every channel shares."""

    def __init__(self, settings: Settings, clock: Clock, *, admins: frozenset[tuple[str, str]] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.db = Database(settings.db_path)
        self.media = MediaStore(Path(settings.media_dir))
        self.outbox: OutboxWorker | None = None
        self.scheduler: Scheduler | None = None
        self.engine = Engine(self.db, clock, all_flows(), admins=settings.admins if admins is None else admins,
                             default_locale=settings.locale, timezone=settings.timezone,
                             after_commit=self._changed)
        self.inbox = InboxWorker(self.db, clock, self.engine)

    def _changed(self) -> None:
        if self.scheduler is not None:
            self.scheduler.changed()

    async def start(self, stack: AsyncExitStack, senders: Mapping[str, ChannelSender],
                    channels: Mapping[str, InboxChannel] | None = None) -> None:
        """Start the outbox worker, the scheduler and (for `channels`) the inbox worker; `stack` stops them in
        reverse order. The inbox worker starts after the outbox worker has taken back the replies a crash left
        unsent, and stops first."""
        async with self.db.write() as tx:
            await people_service.sync_admins(tx, self.engine.admins)
        progress = ProgressReporter(self.db, self.clock)
        self.outbox = OutboxWorker(self.db, self.clock, senders, on_settled=progress.on_settled)
        await self.outbox.start()
        stack.push_async_callback(self.outbox.stop)
        if await progress.resume():  # broadcasts a stop interrupted: their authors' status lines
            self.outbox.wake()
        self.scheduler = Scheduler(self.db, self.clock, self.outbox, self.settings.timezone, self.media,
                                   self.settings.quiet_hours,
                                   outbox_retention=timedelta(days=self.settings.outbox_retention_days))
        await self.scheduler.start()
        stack.push_async_callback(self.scheduler.stop)
        if channels:
            await self.inbox.start(channels, self.outbox)
            stack.push_async_callback(self.inbox.stop)


@dataclass(frozen=True, slots=True)
class Service:
    """The running bot: its core, HTTP server, and the channels configured (Telegram, WeCom, or both)."""

    core: Core
    http: HttpServer
    telegram: TelegramChannel | None
    wecom: WeComChannel | None


async def start_service(settings: Settings, clock: Clock, stack: AsyncExitStack) -> Service:
    """Open the store and start the HTTP server, the configured channels, the outbox and the scheduler.

    `stack` stops them in reverse order. The HTTP server is up before a webhook is registered. A port that cannot
    be bound, a token or secret refused, or an API that does not answer raises `StartupError`.
    """
    core = Core(settings, clock)
    await core.db.open()
    stack.push_async_callback(core.db.close)
    http = HttpServer(settings.http_host, settings.http_port)
    telegram = (TelegramChannel(settings, core.engine, core.media, core.inbox, http)
                if settings.telegram_enabled else None)
    wecom = (WeComChannel(settings, core.engine, core.media, http, clock, core.inbox)
             if settings.wecom_enabled else None)
    if wecom is not None:
        stack.push_async_callback(wecom.stop)
        await _check_wecom(wecom.api)
    if telegram is not None:
        await telegram.connect()
        stack.push_async_callback(telegram.stop)
    try:
        await http.start()
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else type(error).__name__
        raise StartupError(f"cannot listen on {settings.http_host}:{settings.http_port} ({reason}): "
                           "check JINLIN_HTTP_HOST and JINLIN_HTTP_PORT") from None
    stack.push_async_callback(http.stop)
    channels: dict[str, InboxChannel] = {}
    if telegram is not None:
        await telegram.start()
        channels[telegram.sender.channel] = telegram
    if wecom is not None:
        channels[wecom.sender.channel] = wecom
    await core.start(stack, {name: channel.sender for name, channel in channels.items()}, channels)
    return Service(core, http, telegram, wecom)


async def _check_wecom(api: WeComApi) -> None:
    """Fetch an access token once, so that a wrong secret or an unreachable API is told at start."""
    try:
        await api.authenticate()
    except WeComAuthError as error:
        raise StartupError(f"WeCom refused WECOM_CORP_ID / WECOM_SECRET (errcode {error.errcode}): check them in "
                           "the application's settings") from None
    except WeComError as error:
        raise StartupError(f"cannot reach the WeCom API at {api.base_url} ({error}): check the network or "
                           "WECOM_API_BASE_URL") from None


async def serve(settings: Settings, clock: Clock | None = None) -> None:
    """Run Jinlin on its channels until SIGINT/SIGTERM or until another instance takes over the Telegram token."""
    async with AsyncExitStack() as stack:
        service = await start_service(settings, clock or SystemClock(), stack)
        await _until_stopped(service.telegram.stopped if service.telegram is not None else asyncio.Event())


async def _until_stopped(stopped: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    log.info("stopping")


async def console(settings: Settings, inp: TextIO = sys.stdin, out: TextIO = sys.stdout,
                  clock: Clock | None = None) -> None:
    """The console demo: sample street in the configured database, one person playing every part."""
    demo_clock = demo.DemoClock(clock or SystemClock())  # `/later` moves it on
    core = Core(settings, demo_clock, admins=settings.admins | {("console", ADMIN_ID)})
    async with AsyncExitStack() as stack:
        await core.db.open()
        stack.push_async_callback(core.db.close)
        with use_locale(settings.locale):
            await demo.seed(core.db, core.clock.now(), settings.locale, settings.timezone)
            sender = ConsoleSender(out)
            await core.start(stack, {sender.channel: sender})
            await ConsoleChannel(core.engine, core.media, inp, out, language_hint=settings.locale,
                                 pushed=sender.pushed,
                                 travel=demo.TimeTravel(core.db, demo_clock, settings.timezone,
                                                        settings.quiet_hours, str(core.media.directory))).run()
