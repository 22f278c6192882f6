"""The request body limit, before anything parses the body (pure ASGI middleware).

A ``Content-Length`` over the limit is answered 413 at once, without reading the body; a
body sent without one (chunked) is read up to the limit and answered 413 as soon as it
exceeds it. Within the limit, the body is buffered and handed to the app unchanged (what
comes after it, e.g. the client's disconnect, is passed through).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response


def _too_large(limit: int, got: str) -> object:
    return error_response(413, "body_too_large",
                          f"the request body ({got}) is over the limit of {limit} bytes "
                          f"(max_body_bytes, rnnkit serve --max-body-bytes)",
                          limit="max_body_bytes", value=limit)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with a JSON 413."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await error_response(400, "bad_request", "Content-Length is not a number")(
                    scope, receive, send)
                return
            if n > self.max_bytes:
                await _too_large(self.max_bytes, f"{n} bytes")(scope, receive, send)
                return
        if length is None and b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)  # no body
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                got = f"at least {size} bytes, sent without Content-Length"
                await _too_large(self.max_bytes, got)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
