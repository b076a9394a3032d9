"""The WeCom (企业微信) channel: the street's self-built application, its callbacks on the bot's HTTP server.

WeCom waits 5 s for an answer and then delivers the callback again (up to 3 more times), so a valid callback is
answered at once and handled in the background; the engine acts once per event id (the message's MsgId, or sender,
time and event for events). The channel also drops a redelivery of an event it accepted recently before doing any
work for it: otherwise each delivery of a photo would be downloaded and kept, though the engine uses only one.
Replies go out through `WeComSender`, the same sender the outbox uses for pushes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from aiohttp import web

from bot.clock import Clock
from bot.config import Settings
from bot.conversations.engine import Engine
from bot.delivery.outbox import Sent
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.handlers.http import HttpServer
from bot.handlers.wecom_api import WeComApi, WeComError
from bot.handlers.wecom_callback import CallbackRejected, WeComCallback, to_inbound
from bot.handlers.wecom_send import WeComSender
from bot.i18n import translate
from bot.services.media import MediaError, MediaStore

log = logging.getLogger(__name__)

RECENT_EVENTS = 10_000  # ids of accepted events remembered to drop redeliveries (WeCom's come within a minute)


class WeComChannel:
    """Verifies and decrypts callbacks, feeds the engine, and sends its replies through the WeCom API."""

    def __init__(self, settings: Settings, engine: Engine, media: MediaStore, http: HttpServer,
                 clock: Clock) -> None:
        self._settings = settings
        self._engine = engine
        self._media = media
        self.api = WeComApi(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id,
                            settings.wecom_api_base_url)
        self.sender = WeComSender(self.api, clock)
        self._callback = WeComCallback(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id, clock)
        self._handling: set[asyncio.Task[None]] = set()
        self._recent: dict[str, None] = {}  # event ids accepted, oldest first
        self._stopping = False
        http.add_route("GET", settings.wecom_callback_path, self._on_verify)
        http.add_route("POST", settings.wecom_callback_path, self._on_callback)

    async def stop(self) -> None:
        """Take no more callbacks, finish the ones being handled, close the API client."""
        self._stopping = True
        await asyncio.gather(*self._handling)
        await self.api.close()

    async def _on_verify(self, request: web.Request) -> web.Response:
        """The URL check WeCom makes when the callback is configured: answer the decrypted echostr."""
        try:
            return web.Response(text=self._callback.verify_url(request.query))
        except CallbackRejected as rejected:
            log.warning("WeCom URL verification refused: %s", rejected.reason)
            return web.Response(status=rejected.status)

    async def _on_callback(self, request: web.Request) -> web.Response:
        if self._stopping:
            return web.Response(status=503)  # WeCom delivers it again
        limit = self._callback.max_body
        if request.content_length is not None and request.content_length > limit:
            return web.Response(status=413)
        body = await request.content.read(limit + 1)  # one byte more than allowed shows an oversized body
        try:
            event = self._callback.open(request.query, body)
        except CallbackRejected as rejected:
            log.warning("WeCom callback refused (%d): %s", rejected.status, rejected.reason)
            return web.Response(status=rejected.status)
        if event is not None:
            inbound = to_inbound(event, self._settings.locale)
            if inbound.event_id in self._recent:
                return web.Response(text="")  # delivered again: it is being (or has been) handled
            self._recent[inbound.event_id] = None
            while len(self._recent) > RECENT_EVENTS:
                del self._recent[next(iter(self._recent))]
            task = asyncio.create_task(self._handle(inbound, event.response_code), name="wecom-callback")
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)
        return web.Response(text="")

    async def _handle(self, inbound: Inbound, response_code: str = "") -> None:
        """Run the event through the engine and send the replies; a pressed card then shows it was answered."""
        try:
            if inbound.kind is InboundKind.TEXT:
                token = self.sender.numbered_choice(inbound.sender.user_id, inbound.text)
                if token is not None:  # the number (or label) of a choice in the latest numbered list shown
                    inbound = replace(inbound, kind=InboundKind.BUTTON, token=token, text="")
            if inbound.kind in (InboundKind.PHOTO, InboundKind.VOICE):
                try:
                    inbound = replace(inbound, media_ref=await self._download(inbound))
                except MediaError as error:
                    self._recent.pop(inbound.event_id, None)  # not acted on: a redelivery may try again
                    locale = self._settings.locale
                    await self._reply(inbound, Reply(translate(locale, error.key, **error.params)))
                    return
            for reply in await self._engine.handle(inbound):
                await self._reply(inbound, reply)
            if response_code:
                await self._settle_card(inbound.sender.user_id, response_code)
        except Exception:
            self._recent.pop(inbound.event_id, None)
            log.exception("error while handling a WeCom callback")

    async def _settle_card(self, userid: str, response_code: str) -> None:
        """Turn the pressed card's buttons into one that cannot be pressed again (WeCom cards cannot be edited
        otherwise); a card that cannot be updated stays as it is."""
        try:
            await self.api.update_card([userid], response_code, translate(self._settings.locale, "wecom.card_done"))
        except WeComError as error:
            log.info("could not mark a pressed WeCom card as answered: %s", error)

    async def _download(self, inbound: Inbound) -> str:
        """Fetch the photo or voice note `inbound.media_ref` names into the media store; its local path."""
        try:
            data, suffix = await self.api.download_media(inbound.media_ref)
        except WeComError as error:
            log.warning("could not download a %s: %s", inbound.kind.value, error)
            raise MediaError("media.error.download") from error
        if inbound.kind is InboundKind.PHOTO:
            return await self._media.save_photo(data)
        return await self._media.save_voice(data, suffix)

    async def _reply(self, inbound: Inbound, reply: Reply) -> None:
        result = await self.sender.send(inbound.sender.chat_id, reply)
        if not isinstance(result, Sent):
            log.warning("WeCom reply to %s not delivered: %s", inbound.sender.chat_id, result)
