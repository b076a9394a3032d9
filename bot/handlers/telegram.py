"""Telegram channel: python-telegram-bot v22 Application ⇄ neutral inbound events and replies. Translation only."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import tempfile
import warnings
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import Bot, BotCommand, BotCommandScopeChat, Message, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.warnings import PTBUserWarning

from bot.config import Settings, StartupError
from bot.conversations.engine import Engine
from bot.delivery.inbox import InboxWorker
from bot.domain.messages import Inbound, InboundKind, Reply, Sender, text_inbound
from bot.features.catalog import discover
from bot.handlers.http import HttpServer
from bot.handlers.telegram_send import TelegramSender
from bot.i18n import SUPPORTED, normalize, translate
from bot.services.media import MediaError, MediaStore
from bot.storage.db import hold_lock, release_lock
from bot.storage.inbox import Arrival, InboxEntry

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
POLL_TIMEOUT = 30  # seconds a long poll waits for updates
MAX_POLL_BACKOFF = 30.0  # seconds between polls after repeated errors
QUERY = "callback_query"  # extras key: the id of the pressed button's query


def to_inbound(update: Update) -> Inbound | None:
    """The neutral event for a private-chat update, or None for updates Jinlin does not take."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private" or user.is_bot:
        return None
    sender = Sender(CHANNEL, str(user.id), str(chat.id), user.full_name, user.language_code or "")
    event_id = f"{CHANNEL}:{update.update_id}"
    if update.callback_query is not None:
        return Inbound(sender, InboundKind.BUTTON, token=update.callback_query.data or "", event_id=event_id)
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        return text_inbound(sender, message.text, event_id)
    return Inbound(sender, *_media(message), event_id=event_id)


def _media(message: Message) -> tuple[InboundKind, str, str, str, str]:
    """(kind, text, token, command, media_ref) for non-text messages."""
    caption = message.caption or ""
    if message.photo:
        return InboundKind.PHOTO, caption, "", "", message.photo[-1].file_id
    if message.voice is not None:
        return InboundKind.VOICE, "", "", "", message.voice.file_id
    if message.document is not None:
        image = (message.document.mime_type or "").startswith("image/")  # a photo sent "as a file"
        return InboundKind.PHOTO if image else InboundKind.FILE, caption, "", "", message.document.file_id
    if message.location is not None:
        return InboundKind.LOCATION, f"{message.location.latitude},{message.location.longitude}", "", "", ""
    if message.contact is not None:
        return InboundKind.CONTACT, "", "", "", ""
    return InboundKind.OTHER, "", "", "", ""


def to_arrival(update: Update) -> Arrival | None:
    """The event to store for an update (None for updates Jinlin does not take): a button press keeps its query id
    (answered when it is handled) and the pressed message's id (a reply marked edit replaces that message)."""
    inbound = to_inbound(update)
    if inbound is None:
        return None
    query = update.callback_query
    if query is None:
        return Arrival(inbound)
    pressed = str(query.message.message_id) if query.message is not None else ""
    return Arrival(inbound, reply_ref=pressed, extras={QUERY: query.id})


def parse_update(body: bytes, bot: Bot) -> Update | None:
    """The update a webhook body holds, or None if it is not a JSON object PTB can read."""
    try:
        data = json.loads(body)
        return Update.de_json(data, bot) if isinstance(data, dict) else None
    except (ValueError, RecursionError):  # not UTF-8 or JSON (UnicodeDecodeError is one), or nested too deep
        return None
    except Exception:  # an object PTB cannot read as an update (fields of the wrong type)
        log.info("refused a webhook body that is not an update")
        return None


def _withhold_update_contents(record: logging.LogRecord) -> bool:
    """PTB logs a batch of updates it cannot read in full (people's messages, phone numbers among them): keep the
    line, not the updates."""
    if str(record.msg).startswith("Error while parsing updates"):
        record.msg, record.args, record.exc_info = "PTB could not read a batch of updates (contents withheld)", (), None
    return True


class TelegramChannel:
    """Takes updates by long polling (or webhook on the bot's HTTP server) into the inbox, and prepares them for the
    engine when the inbox worker handles them: a button press is answered, photos and voice notes are downloaded
    into `media` (the engine sees their local paths)."""

    def __init__(self, settings: Settings, engine: Engine, media: MediaStore, inbox: InboxWorker,
                 http: HttpServer | None = None) -> None:
        self._settings = settings
        self._engine = engine
        self._media = media
        self._inbox = inbox
        self._token_lock: Any = None
        self._polling: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()  # set when the channel must stop (e.g. another instance polls this token)
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_token)
            .base_url(f"{settings.telegram_api_base_url}/bot")
            .base_file_url(f"{settings.telegram_api_base_url}/file/bot")
            .connection_pool_size(64)
            .get_updates_read_timeout(5)  # on top of the long poll's timeout
            .updater(None)
        )
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        for name in ("telegram.Bot", "telegram.ext.ExtBot"):
            logging.getLogger(name).addFilter(_withhold_update_contents)
        self._sender = TelegramSender(self.application.bot, settings.telegram_max_messages_per_second)
        self.username = ""
        if settings.telegram_webhook_url:
            if http is None:
                raise ValueError("webhook mode needs the bot's HTTP server")
            http.add_route("POST", urlparse(settings.telegram_webhook_url).path or "/", self._on_webhook)

    @property
    def sender(self) -> TelegramSender:
        return self._sender

    async def connect(self) -> None:
        """Take the token's lock, check the token (getMe) and set the commands menu: before the HTTP server starts,
        so that a refused token or an unreachable Bot API is told before anything else. Either raises
        `StartupError`, with what was started stopped again."""
        digest = hashlib.sha256(self._settings.telegram_token.encode()).hexdigest()[:16]
        self._token_lock = hold_lock(Path(tempfile.gettempdir()) / f"jinlin-telegram-{digest}.lock",
                                     "this Telegram bot token")
        async with self._starting():
            await self.application.initialize()
            self.username = self.application.bot.username
            self._engine.set_link(CHANNEL, lambda payload: f"https://t.me/{self.username}?start={payload}")
            await self._set_commands()

    async def start(self) -> None:
        """After `connect`: start polling, or register the webhook (the HTTP server is up); `StartupError` if
        Telegram refuses."""
        app = self.application
        async with self._starting():
            if self._settings.telegram_webhook_url:
                await app.bot.set_webhook(self._settings.telegram_webhook_url,
                                          secret_token=self._settings.telegram_webhook_secret,
                                          allowed_updates=ALLOWED_UPDATES)
            else:
                await app.bot.delete_webhook()
                self._polling = asyncio.create_task(self._poll(), name="telegram-polling")
        log.info("Telegram channel started as @%s (%s)", self.username,
                 "webhook" if self._settings.telegram_webhook_url else "long polling")

    @contextlib.asynccontextmanager
    async def _starting(self) -> AsyncIterator[None]:
        """A Telegram error while starting stops the channel and becomes a `StartupError`."""
        try:
            yield
        except TelegramError as error:
            await self.stop()
            raise StartupError(self._startup_problem(error)) from None

    def _startup_problem(self, error: TelegramError) -> str:
        """One line on why Telegram would not start. PTB's own texts may quote the token, so only a server's
        refusal is quoted, with the token blanked out."""
        if isinstance(error, InvalidToken):
            return "Telegram rejected TELEGRAM_BOT_TOKEN (getMe was refused): check it with @BotFather"
        if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
            return (f"cannot reach the Telegram Bot API at {self._settings.telegram_api_base_url} "
                    f"({type(error).__name__}): check the network or TELEGRAM_API_BASE_URL")
        told = " ".join(error.message.replace(self._settings.telegram_token, "***").split())
        return f"Telegram refused to start the bot: {told[:200]}"

    async def stop(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        await self.application.shutdown()
        release_lock(self._token_lock)
        self._token_lock = None

    async def _set_commands(self) -> None:
        bot = self.application.bot
        for locale in SUPPORTED:  # the command menus the features' flows list (see Catalog.commands)
            names = discover().commands(admin=False)
            commands = [BotCommand(name, translate(locale, f"cmd.{name}")) for name in names]
            language = None if locale == self._settings.locale else locale.split("_")[0]
            await bot.set_my_commands(commands, language_code=language)
        admin_locale = self._settings.locale
        for channel, user_id in self._settings.admins:
            if channel == CHANNEL and user_id.lstrip("-").isdigit():
                names = discover().commands(admin=True)
                commands = [BotCommand(name, translate(admin_locale, f"cmd.{name}")) for name in names]
                try:
                    await bot.set_my_commands(commands, scope=BotCommandScopeChat(int(user_id)))
                except BadRequest:
                    log.warning("could not set admin commands for an admin who has not started the bot yet")

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Store the update, then answer 200 (a body that is not an update: 400, which Telegram does not retry)."""
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(secret.encode(), self._settings.telegram_webhook_secret.encode()):
            return web.Response(status=403)
        update = parse_update(await request.read(), self.application.bot)
        if update is None:
            return web.Response(status=400)
        arrival = to_arrival(update)
        if arrival is not None:
            await self._inbox.accept([arrival])
        return web.Response(status=200)

    async def _poll(self) -> None:
        """Long polling: a batch is stored before the next getUpdates confirms it (by its offset)."""
        offset = 0
        failures = 0
        while True:
            try:
                updates = await self._fetch(offset)
                await self._inbox.accept([a for a in map(to_arrival, updates) if a is not None])
            except Conflict:
                log.critical("another process is polling this Telegram bot token (409 Conflict); stopping this one")
                self.stopped.set()
                return
            except Exception as error:  # the poll goes on; these updates come again
                failures += 1
                log.warning("Telegram polling error: %s", error if isinstance(error, TelegramError) else repr(error))
                await asyncio.sleep(min(2.0 ** failures, MAX_POLL_BACKOFF))
                continue
            failures = 0
            if updates:
                offset = updates[-1].update_id + 1

    async def _fetch(self, offset: int) -> list[Update]:
        """The next batch of updates. If PTB cannot read one of them (a field it does not know the shape of), the
        batch is fetched again as JSON and read one by one: an unreadable update is dropped, told in the log by its
        id only, so that it does not hold back everyone after it."""
        bot = self.application.bot
        try:
            return list(await bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES))
        except TelegramError:
            raise
        except Exception:  # PTB raises whatever reading the JSON raised
            log.warning("Telegram sent an update that could not be read; reading the batch one by one")
        with warnings.catch_warnings(action="ignore", category=PTBUserWarning):  # "use Bot.get_updates"
            raw = await bot.do_api_request("getUpdates", {"offset": offset, "allowed_updates": ALLOWED_UPDATES})
        updates: list[Update] = []
        for data in raw if isinstance(raw, list) else []:
            try:
                update = Update.de_json(data, bot)
            except Exception:  # as above
                log.error("dropped Telegram update %s: it could not be read", data.get("update_id", "?"))
                update = Update(int(data["update_id"]))  # keeps the offset moving past it
            updates.append(update)
        return updates

    async def prepare(self, entry: InboxEntry) -> Inbound | Reply:
        """Answer a button press (stops its spinner) and download a photo or voice note; a download that fails is
        answered kindly instead."""
        inbound = entry.inbound
        query = entry.arrival.extras.get(QUERY)
        if query:
            try:
                await self.application.bot.answer_callback_query(query)
            except TelegramError as error:  # e.g. "query is too old" after downtime: still handle the press
                log.info("could not answer a button press: %s", error)
        if inbound.kind not in (InboundKind.PHOTO, InboundKind.VOICE):
            return inbound
        try:
            return replace(inbound, media_ref=await self._download(inbound))
        except MediaError as error:
            locale = normalize(inbound.sender.language_hint) or self._settings.locale
            return Reply(translate(locale, error.key, **error.params))

    async def handled(self, entry: InboxEntry) -> None:
        """Nothing more to do on Telegram."""

    async def _download(self, inbound: Inbound) -> str:
        """Fetch the photo or voice note `inbound.media_ref` names into the media store; its local path."""
        try:
            file = await self.application.bot.get_file(inbound.media_ref)
            self._media.check_size(file.file_size or 0)
            data = bytes(await file.download_as_bytearray())
        except TelegramError as error:
            log.warning("could not download a %s: %s", inbound.kind.value, error)
            raise MediaError("media.error.download") from error
        if inbound.kind is InboundKind.PHOTO:
            return await self._media.save_photo(data)
        return await self._media.save_voice(data, Path(file.file_path or "").suffix)


async def bot_username(settings: Settings) -> str:
    """The bot's @username, asked of the Bot API (for join links printed by the CLI)."""
    bot = Bot(settings.telegram_token, base_url=f"{settings.telegram_api_base_url}/bot")
    async with bot:
        return bot.username
