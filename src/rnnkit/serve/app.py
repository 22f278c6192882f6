"""The FastAPI application over one trained run: :func:`create_app`.

Routes: ``GET /`` (the web page), ``GET /health``, ``GET /v1/info``, and the task's endpoints
(:data:`.service.ENDPOINTS`): ``POST /v1/sample`` (lm, generate), ``POST /v1/predict``
(classify, tag, series-classify, series-tag), ``POST /v1/translate`` (seq2seq), ``POST
/v1/forecast`` (forecast), ``GET /viz`` (lm). FastAPI's OpenAPI schema is at
``/openapi.json`` and its docs page at ``/docs``. Request bodies are bounded before they are
parsed (:class:`.body.BodyLimit`); model calls run in worker threads under the gate
(:class:`.gate.Gate`); every error is JSON (:mod:`.errors`).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import HTMLResponse

from .._version import __version__
from ..tasks import registry
from ..tasks.spec import LoadedRun
from . import errors, generation, predict, translation, viz
from .body import BodyLimit
from .gate import Gate
from .info import health, info
from .limits import Limits
from .page import render_page
from .service import Service, unsupported

log = logging.getLogger(__name__)


def create_app(run: str | Path | LoadedRun, limits: Limits | None = None, *,
               checkpoint: str = "best", device: str = "auto") -> FastAPI:
    """The service of ``run``: a run folder (loaded with its ``checkpoint``, best or last, on
    ``device``: ``auto`` is a GPU when there is one) or a run already loaded
    (``rnnkit.load``). ``limits``: default :class:`Limits`."""
    loaded = run if isinstance(run, LoadedRun) else registry.load(run, checkpoint, device)
    limits = limits or Limits()
    limits.validate()
    svc = Service(loaded, limits, Gate(limits.max_concurrent, limits.max_queue), checkpoint)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        svc.gate.close()

    about = registry.get(svc.task).describe(loaded.settings)
    app = FastAPI(title=f"rnnkit serve: {svc.name}", version=__version__, lifespan=lifespan,
                  description=f"A {svc.task!r} run of rnnkit: {about}. Every error is JSON, "
                  '{"error": CODE, "detail": MESSAGE}.')
    app.state.service = svc
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    errors.install(app, lambda path: unsupported(svc.task, path), limits.retry_after)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse(render_page(svc))

    @app.get("/health", tags=["service"], summary="The service is up: task, run, load")
    async def get_health():
        return health(svc)

    @app.get("/v1/info", tags=["service"], summary="The run, its settings and the limits")
    async def get_info():
        return info(svc)

    for module in (generation, predict, translation, viz):
        module.register(app, svc)
    log.info("serving %s run %s (%s checkpoint)", svc.task, loaded.run, checkpoint)
    return app
