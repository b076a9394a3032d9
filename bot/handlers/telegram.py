"""Telegram channel: python-telegram-bot v22 Application ⇄ neutral inbound events and replies. Translation only."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import Bot, BotCommand, BotCommandScopeChat, Message, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.config import Settings, StartupError
from bot.conversations.engine import Engine
from bot.domain.messages import Inbound, InboundKind, Reply, Sender, text_inbound
from bot.handlers.http import HttpServer
from bot.handlers.telegram_send import TelegramSender, markup, send_reply
from bot.i18n import SUPPORTED, normalize, translate
from bot.services.media import MediaError, MediaStore
from bot.storage.db import hold_lock, release_lock

log = logging.getLogger(__name__)

CHANNEL = "telegram"
COMMANDS = ("start", "menu", "help", "language", "cancel")
ADMIN_COMMANDS = ("invite",)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


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


class TelegramChannel:
    """Runs the PTB Application (long polling, or webhook on the bot's HTTP server) and feeds the engine.

    Photos and voice notes are downloaded into `media` first; the engine sees their local paths.
    """

    def __init__(self, settings: Settings, engine: Engine, media: MediaStore, http: HttpServer | None = None) -> None:
        self._settings = settings
        self._engine = engine
        self._media = media
        self._token_lock: Any = None
        self.stopped = asyncio.Event()  # set when the channel must stop (e.g. another instance polls this token)
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_token)
            .base_url(f"{settings.telegram_api_base_url}/bot")
            .base_file_url(f"{settings.telegram_api_base_url}/file/bot")
            .concurrent_updates(256)
            .connection_pool_size(64)
            .get_updates_read_timeout(35)
        )
        if settings.telegram_webhook_url:
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self.sender = TelegramSender(self.application.bot, settings.telegram_max_messages_per_second)
        self.username = ""
        if settings.telegram_webhook_url:
            if http is None:
                raise ValueError("webhook mode needs the bot's HTTP server")
            http.add_route("POST", urlparse(settings.telegram_webhook_url).path or "/", self._on_webhook)

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
            await app.start()
            if self._settings.telegram_webhook_url:
                await app.bot.set_webhook(self._settings.telegram_webhook_url,
                                          secret_token=self._settings.telegram_webhook_secret,
                                          allowed_updates=ALLOWED_UPDATES)
            else:
                assert app.updater is not None
                await app.bot.delete_webhook()
                await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES,
                                                error_callback=self._on_polling_error, timeout=30, poll_interval=0)
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
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        release_lock(self._token_lock)
        self._token_lock = None

    async def _set_commands(self) -> None:
        bot = self.application.bot
        for locale in SUPPORTED:
            commands = [BotCommand(name, translate(locale, f"cmd.{name}")) for name in COMMANDS]
            language = None if locale == self._settings.locale else locale.split("_")[0]
            await bot.set_my_commands(commands, language_code=language)
        admin_locale = self._settings.locale
        for channel, user_id in self._settings.admins:
            if channel == CHANNEL and user_id.lstrip("-").isdigit():
                names = COMMANDS + ADMIN_COMMANDS
                commands = [BotCommand(name, translate(admin_locale, f"cmd.{name}")) for name in names]
                try:
                    await bot.set_my_commands(commands, scope=BotCommandScopeChat(int(user_id)))
                except BadRequest:
                    log.warning("could not set admin commands for an admin who has not started the bot yet")

    async def _on_webhook(self, request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(secret.encode(), self._settings.telegram_webhook_secret.encode()):
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self.application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400)
        await self.application.update_queue.put(update)
        return web.Response(status=200)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        inbound = to_inbound(update)
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()  # stops the spinner on the person's button
            except TelegramError as error:  # e.g. "query is too old" after downtime: still handle the press
                log.info("could not answer a button press: %s", error)
        if inbound is None:
            return
        chat_id = int(inbound.sender.chat_id)
        if inbound.kind in (InboundKind.PHOTO, InboundKind.VOICE):
            try:
                inbound = replace(inbound, media_ref=await self._download(inbound))
            except MediaError as error:
                locale = normalize(inbound.sender.language_hint) or self._settings.locale
                await self._reply(chat_id, Reply(translate(locale, error.key, **error.params)), None)
                return
        replies = await self._engine.handle(inbound)
        origin = update.callback_query.message if update.callback_query is not None else None
        for reply in replies:
            await self._reply(chat_id, reply, origin if isinstance(origin, Message) else None)

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

    async def _reply(self, chat_id: int, reply: Reply, origin: Message | None) -> None:
        """Send a reply; a reply marked `edit` replaces the prompt whose button was pressed."""
        if reply.edit and origin is not None and not reply.photo and not reply.voice:
            try:
                await origin.edit_text(reply.text, reply_markup=markup(reply))
                return
            except BadRequest as error:
                if "not modified" in error.message.lower():
                    return  # it already says this (e.g. the same button pressed twice)
                # too old to edit, or deleted: send it as a new message
        await send_reply(self.application.bot, chat_id, reply)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a Telegram update: %r", context.error, exc_info=context.error)

    def _on_polling_error(self, error: TelegramError) -> None:
        if isinstance(error, Conflict):
            log.critical("another process is polling this Telegram bot token (409 Conflict); stopping this one")
            self.stopped.set()
        else:
            log.warning("Telegram polling error: %s", error)


async def bot_username(settings: Settings) -> str:
    """The bot's @username, asked of the Bot API (for join links printed by the CLI)."""
    bot = Bot(settings.telegram_token, base_url=f"{settings.telegram_api_base_url}/bot")
    async with bot:
        return bot.username
