"""The WeCom (企业微信) channel: the street's self-built application, its callbacks on the bot's HTTP server.

WeCom waits 5 s for an answer and then delivers the callback again (up to 3 more times), so a valid callback is
stored in the inbox and answered at once; the inbox worker handles it in the background. The inbox keeps one event
per event id (the message's MsgId, or sender, time and event for events), so a redelivery is acted on once and its
photo downloaded once. Replies go out through `WeComSender`, the same sender the outbox uses for pushes.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from aiohttp import web

from bot.clock import Clock
from bot.config import Settings
from bot.conversations.engine import Engine
from bot.delivery.inbox import InboxWorker
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.handlers.http import HttpServer
from bot.handlers.wecom_api import WeComApi, WeComError
from bot.handlers.wecom_callback import CallbackRejected, WeComCallback, to_inbound
from bot.handlers.wecom_send import WeComSender
from bot.i18n import translate
from bot.services.media import MediaError, MediaStore
from bot.storage.inbox import Arrival, InboxEntry

log = logging.getLogger(__name__)

CARD = "response_code"  # extras key: the pressed card's code, to settle the card once the press is handled


class WeComChannel:
    """Verifies and decrypts callbacks into the inbox, prepares them for the engine when the inbox worker handles
    them, and sends replies through the WeCom API."""

    def __init__(self, settings: Settings, engine: Engine, media: MediaStore, http: HttpServer,
                 clock: Clock, inbox: InboxWorker) -> None:
        self._settings = settings
        self._engine = engine
        self._media = media
        self._inbox = inbox
        self.api = WeComApi(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id,
                            settings.wecom_api_base_url)
        self._sender = WeComSender(self.api, clock)
        self._callback = WeComCallback(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id, clock)
        http.add_route("GET", settings.wecom_callback_path, self._on_verify)
        http.add_route("POST", settings.wecom_callback_path, self._on_callback)

    @property
    def sender(self) -> WeComSender:
        return self._sender

    async def stop(self) -> None:
        """Close the API client (the inbox worker has stopped using it)."""
        await self.api.close()

    async def _on_verify(self, request: web.Request) -> web.Response:
        """The URL check WeCom makes when the callback is configured: answer the decrypted echostr."""
        try:
            return web.Response(text=self._callback.verify_url(request.query))
        except CallbackRejected as rejected:
            log.warning("WeCom URL verification refused: %s", rejected.reason)
            return web.Response(status=rejected.status)

    async def _on_callback(self, request: web.Request) -> web.Response:
        """Store a valid callback's event, then answer (a redelivery is stored once)."""
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
            extras = {CARD: event.response_code} if event.response_code else {}
            await self._inbox.accept([Arrival(to_inbound(event, self._settings.locale), extras=extras)])
        return web.Response(text="")

    async def prepare(self, entry: InboxEntry) -> Inbound | Reply:
        """A number (or label) typed in answer to the latest numbered list becomes that choice; a photo or voice
        note is downloaded (a download that fails is answered kindly instead)."""
        inbound = entry.inbound
        if inbound.kind is InboundKind.TEXT:
            token = self._sender.numbered_choice(inbound.sender.user_id, inbound.text)
            if token is not None:
                return replace(inbound, kind=InboundKind.BUTTON, token=token, text="")
        if inbound.kind not in (InboundKind.PHOTO, InboundKind.VOICE):
            return inbound
        try:
            return replace(inbound, media_ref=await self._download(inbound))
        except MediaError as error:
            return Reply(translate(self._settings.locale, error.key, **error.params))

    async def handled(self, entry: InboxEntry) -> None:
        """A pressed card's buttons turn into one that cannot be pressed again (WeCom cards cannot be edited
        otherwise); a card that cannot be updated stays as it is."""
        response_code = entry.arrival.extras.get(CARD)
        if not response_code:
            return
        try:
            await self.api.update_card([entry.inbound.sender.user_id], response_code,
                                       translate(self._settings.locale, "wecom.card_done"))
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
