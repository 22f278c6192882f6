"""``rnnkit serve RUN``: an HTTP service and a web page over any trained run.

    from rnnkit.serve import create_app, serve, Limits, BackgroundServer
    app = create_app("runs/lm-...", Limits(max_length=500))   # a FastAPI app
    serve("runs/lm-...", port=8000)                           # uvicorn, until Ctrl-C

The endpoints, limits and security notes: ``docs/serve.md``. Needs the ``serve`` extra
(``pip install 'rnnkit[serve]'``: FastAPI and uvicorn); :class:`Limits` does not, the rest is
imported on first use.
"""

from __future__ import annotations

from typing import Any

from .limits import Limits

__all__ = ["BackgroundServer", "Limits", "create_app", "loopback_warning", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name in ("serve", "BackgroundServer", "loopback_warning"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
