"""An in-process HTTP server on 127.0.0.1 for the test fakes: bound to a free port, started and stopped by the
test (or `async with`). Subclasses add their routes in `routes`; `stop` may be overridden to settle what is still
waiting before the server goes down (then call `super().stop()`)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackServer:
    """An aiohttp application served on 127.0.0.1 on a port the system picks."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def routes(self, router: web.UrlDispatcher) -> None:
        """Add the server's routes (called by `start`, before the server binds)."""
        raise NotImplementedError

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and start serving."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.routes(app.router)
        # handler_cancellation: a client that gives up (a timeout, polling stopped) cancels its handler.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Shut the server down (again: nothing)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._port
