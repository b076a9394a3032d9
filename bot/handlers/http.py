"""The bot's own HTTP server (aiohttp): health check, Telegram webhook, later the WeCom callback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # 1 MiB: larger bodies are refused before they are read

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    """Routes are added by the channels before `start()`."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._app = web.Application(client_max_size=MAX_BODY)
        self._app.router.add_get("/healthz", self._health)
        self._runner: web.AppRunner | None = None
        self.port = port

    def add_route(self, method: str, path: str, handler: RouteHandler) -> None:
        """Add a route (before `start()`)."""
        self._app.router.add_route(method, path, handler)

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.port = self._runner.addresses[0][1]
        log.info("HTTP server listening on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})
