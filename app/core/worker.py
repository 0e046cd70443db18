"""The gunicorn worker: uvicorn's, told when a graceful shutdown starts.

uvicorn first waits for open connections and only then runs the lifespan shutdown; an
answer's stream is an open connection. Starting the answers' grace period (TurnService.
begin_shutdown) at the first moment of the shutdown bounds the whole stop: answers get
SHUTDOWN_GRACE_SECONDS to finish, then are saved as interrupted and their streams end,
well inside gunicorn's graceful_timeout (app/gunicorn_conf.py)."""

from __future__ import annotations

import socket
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from app.core.config import get_settings

# After the grace period, streams that still don't end (a client following an answer
# written on another host) are cut this much later.
CONNECTION_MARGIN_SECONDS = 3


class _Server(Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        services = getattr(getattr(self.config.app, "state", None), "services", None)
        if services is not None:
            services.turns.begin_shutdown()
        await super().shutdown(sockets)


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
