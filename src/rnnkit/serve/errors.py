"""Every error the service answers is JSON: ``{"error": CODE, "detail": MESSAGE, ...}``.

:class:`ApiError` is what a route raises; :func:`install` turns it, FastAPI's validation
errors (422), Starlette's HTTP errors (404, 405...) and any other exception (500, logged with
its traceback; the server keeps running) into that form. A ``/v1/...`` endpoint that the
served run's task does not answer is a 404 naming the endpoints it does answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from .gate import Busy, TimedOut
from .limits import LimitExceeded

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
         413: "body_too_large", 422: "validation_error", 429: "too_many_requests",
         500: "internal_error", 503: "busy", 504: "timeout"}


class ApiError(Exception):
    """An answer other than 200: ``status``, a short ``error`` code and a ``detail``
    sentence; ``extra`` goes into the JSON body, ``headers`` into the response."""

    def __init__(self, status: int, detail: str, error: str | None = None,
                 headers: dict[str, str] | None = None, **extra):
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.error = error or CODES.get(status, "error")
        self.headers, self.extra = headers or {}, extra


def error_response(status: int, error: str, detail: str, headers: dict | None = None,
                   **extra) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status,
                        headers=headers)


def as_api_error(e: Exception, retry_after: int = 1) -> ApiError | None:
    """The answer for an exception a model call or a limit check raised (None: a bug)."""
    if isinstance(e, ApiError):
        return e
    if isinstance(e, LimitExceeded):
        return ApiError(422, e.detail, "limit_exceeded", limit=e.limit_name, value=e.limit)
    if isinstance(e, Busy):
        return ApiError(503, str(e), headers={"Retry-After": str(retry_after)})
    if isinstance(e, TimedOut):
        return ApiError(504, str(e))
    if isinstance(e, ValueError):  # DataError, pydantic.ValidationError are ValueErrors
        return ApiError(400, str(e).strip("'\"") or type(e).__name__)
    return None


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            parts.append(f"the body is not valid JSON ({reason}, at character "
                         f"{err.get('loc', ('', '?'))[-1]})")
            continue
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI, unsupported: Callable[[str], str | None], retry_after: int) -> None:
    """JSON error handlers on ``app``; ``unsupported(path)`` says why an endpoint of another
    task is missing here (None: an unknown path)."""

    async def _api(request: Request, exc: Exception):
        e = as_api_error(exc, retry_after)
        assert e is not None
        return error_response(e.status, e.error, e.detail, e.headers, **e.extra)

    for kind in (ApiError, LimitExceeded, Busy, TimedOut, ValueError):
        app.add_exception_handler(kind, _api)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                  for e in exc.errors()[:20]]
        return error_response(422, "validation_error", _validation_detail(exc), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = unsupported(request.url.path) or f"no such endpoint: {request.url.path}"
        elif exc.status_code == 405:
            allowed = (getattr(exc, "headers", None) or {}).get("Allow", "")
            detail = f"{request.method} {request.url.path}: method not allowed (use {allowed})"
        return error_response(exc.status_code, CODES.get(exc.status_code, "error"), detail,
                              getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")
