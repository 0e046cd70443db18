"""The gunicorn worker: uvicorn's, told when a graceful shutdown starts.

uvicorn first waits for open connections and only then runs the lifespan shutdown; an
answer's stream is an open connection. Starting the answers' grace period (TurnService.
begin_shutdown) at the first moment of the shutdown bounds the whole stop: answers get
SHUTDOWN_GRACE_SECONDS to finish, then are saved as interrupted and their streams end,
well inside gunicorn's graceful_timeout (app/gunicorn_conf.py).

It also answers the requests of connections accepted just before the stop. uvicorn closes
every connection that has no request in progress when it shuts down, including one accepted
a moment ago whose request it has not read yet; nginx, which opens a connection per request
and sent that request already, answers it 502. Behind a socket systemd holds, the kernel
queues what comes after the stop for the next process; only those few in between were lost."""

from __future__ import annotations

import asyncio
import socket
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from app.core.config import get_settings

# After the grace period, streams that still don't end (a client following an answer
# written on another host) are cut this much later.
CONNECTION_MARGIN_SECONDS = 3
# How long a connection accepted before the stop has to send its request. nginx sends it
# with the connection; only a client that connects and says nothing waits this long.
FIRST_REQUEST_WAIT_SECONDS = 2.0


class _Server(Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        services = getattr(getattr(self.config.app, "state", None), "services", None)
        if services is not None:
            services.turns.begin_shutdown()
        for server in self.servers:
            server.close()  # no new connections; uvicorn's shutdown closes them again, harmlessly
        await self._wait_for_first_requests()
        await super().shutdown(sockets)

    async def _wait_for_first_requests(self) -> None:
        """Until every open connection has begun a request (or the wait is over). Polled:
        uvicorn signals nothing when a connection's request starts."""
        for _ in range(int(FIRST_REQUEST_WAIT_SECONDS / 0.01)):
            if self.force_exit or not any(
                # `cycle` is uvicorn's request in progress on an HTTP connection (httptools
                # and h11 alike): None until a first request's headers are read.
                getattr(connection, "cycle", False) is None
                for connection in self.server_state.connections
            ):
                return
            await asyncio.sleep(0.01)


class GracefulUvicornWorker(UvicornWorker):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        grace = get_settings().shutdown_grace_seconds
        self.config.timeout_graceful_shutdown = int(grace) + CONNECTION_MARGIN_SECONDS

    async def _serve(self) -> None:
        # UvicornWorker._serve with our Server subclass.
        self.config.app = self.wsgi
        server = _Server(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
