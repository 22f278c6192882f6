"""Running the service with uvicorn: :func:`serve` (what ``rnnkit serve`` calls; blocks until
Ctrl-C) and :class:`BackgroundServer` (a real server in a thread, e.g. for tests, notebooks
and load tests; ``with BackgroundServer(app) as s: httpx.get(s.url + "/health")``).

The service has no authentication: it binds the loopback address (127.0.0.1) unless told
otherwise, and :func:`loopback_warning` says what binding another address exposes.

>>> loopback_warning("127.0.0.1") is None, loopback_warning("localhost") is None
(True, True)
>>> loopback_warning("0.0.0.0")[:48]
'binding 0.0.0.0 exposes the service (no authenti'
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable

import uvicorn

from .app import create_app
from .limits import Limits

log = logging.getLogger(__name__)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


def loopback_warning(host: str) -> str | None:
    """None for a loopback address, else a warning that binding ``host`` exposes the service
    (to the network, no authentication) to anyone who can reach it."""
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve to anything
    return (f"binding {host} exposes the service (no authentication, no TLS) to every "
            "machine that can reach this address; bind 127.0.0.1 unless that is what you "
            "want")


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_ready(host, port)`` once it listens."""

    def __init__(self, config: uvicorn.Config,
                 on_ready: Callable[[str, int], None] | None = None):
        super().__init__(config)
        self.on_ready = on_ready

    def address(self) -> tuple[str, int]:
        """The (host, port) the first socket is bound to (the real port for port 0)."""
        sock = self.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return host, port

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started and self.on_ready is not None:
            self.on_ready(*self.address())


def serve(run, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          limits: Limits | None = None, *, checkpoint: str = "best", log_level: str = "info",
          access_log: bool = True, warn: bool = True, device: str = "auto",
          on_ready: Callable[[str, int], None] | None = None) -> None:
    """Serve ``run`` (a run folder or a loaded run) on ``host:port`` until interrupted.

    ``port`` 0 picks a free port; ``on_ready(host, port)`` is called once the server listens.
    A non-loopback ``host`` logs :func:`loopback_warning` (``warn=False``: the caller has
    told the user already)."""
    message = loopback_warning(host)
    if message and warn:
        log.warning("%s", message)
    app = create_app(run, limits, checkpoint=checkpoint, device=device)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            access_log=access_log, timeout_graceful_shutdown=5,
                            server_header=False)
    _Server(config, on_ready).run()


class BackgroundServer:
    """A uvicorn server for ``app`` in a daemon thread, on ``host`` and a free port (or
    ``port``): ``start()`` returns once it listens, ``stop()`` shuts it down; a context
    manager. ``url`` is ``http://host:port`` and ``address`` the bound socket's (host, port).
    """

    def __init__(self, app, host: str = DEFAULT_HOST, port: int = 0, log_level: str = "warning"):
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                access_log=False, log_config=None, timeout_graceful_shutdown=2)
        self.server = _Server(config)
        self.thread = threading.Thread(target=self.server.run, name="rnnkit-serve-bg",
                                       daemon=True)
        self.address: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        assert self.address is not None, "the server is not started"
        return f"http://{self.address[0]}:{self.address[1]}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self.thread.start()
        end = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > end:
                raise RuntimeError("the server did not start (see the log)")
            time.sleep(0.01)
        self.address = self.server.address()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

