"""``POST /v1/sample``: text from a language model (``prompt``, ``length``) or samples from a
conditioned generator (``condition``, ``num``, ``beam``), with SampleConfig's options.

Language model: the answer is ``{"text", "prompt", "tokens", "stopped", "seconds"}``; the
text is what :meth:`LoadedLM.sample` returns (the tokens after the prompt). With
``"stream": true`` it is ``text/event-stream``: one ``token`` event per token
(``{"text": piece}``, as ``on_text`` receives it) and a final ``done`` event with the whole
answer (or an ``error`` event). Generation stops at the time limit (``stopped:
"time_limit"``, the text so far) and when a streaming client goes away.

Generator: ``{"samples": [{"condition", "texts", "scores", "truth"}], "seconds"}``; with
``stream`` one ``sample`` event per condition then ``done``, sent when the call returns (the
generator has no per-token hook).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.responses import StreamingResponse

from .errors import ApiError
from .gate import Job
from .limits import check
from .schemas import SampleRequest
from .service import Service, internal

DEFAULT_LENGTH = 200  # language model tokens when the request gives no length
STOP_GRACE = 0.5  # seconds past the deadline for a sampling call to stop itself


class _Stop(Exception):
    """Raised inside ``on_text`` to end a sampling call (time limit, client gone)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def sse(event: str, data: dict) -> bytes:
    """One server-sent event (the data as one line of JSON)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def register(app: FastAPI, svc: Service) -> None:
    if svc.task not in ("lm", "generate"):
        return

    @app.post("/v1/sample", summary="Generate text (lm) or samples (generate)",
              tags=["generation"])
    async def sample(req: SampleRequest):
        if svc.task == "lm":
            args = lm_args(svc, req)
            if req.stream:
                return await stream_lm(svc, *args)
            return await svc.call(lambda job: sample_lm(svc, job, *args), grace=STOP_GRACE)
        args = generator_args(svc, req)
        if req.stream:
            return await stream_generator(svc, args)
        return await svc.call(lambda job: sample_generator(svc, args))


def lm_args(svc: Service, req: SampleRequest) -> tuple:
    if req.condition is not None or req.beam or req.num != 1:
        raise ApiError(400, "condition, num and beam are for generator runs; a language model "
                       "takes prompt and length")
    length = req.length or min(DEFAULT_LENGTH, svc.limits.max_length)
    check("length", length, svc.limits, "max_length")
    check("prompt length (characters)", len(req.prompt), svc.limits, "max_text_chars")
    return req.prompt, length, req.sampling()


def sample_lm(svc: Service, job: Job, prompt: str, length: int, sampling) -> dict:
    """Sample in this (worker) thread, stopping when ``job`` says so."""
    start, pieces = time.monotonic(), []

    def on_text(piece: str) -> None:
        reason = job.stopped
        if reason:
            raise _Stop(reason)
        pieces.append(piece)

    stopped = None
    try:
        text = svc.loaded.sample(prompt, length, sampling, on_text=on_text)
    except _Stop as e:
        text, stopped = "".join(pieces), e.reason
    return {"text": text, "prompt": prompt, "tokens": len(pieces), "stopped": stopped,
            "seconds": round(time.monotonic() - start, 4)}


async def stream_lm(svc: Service, prompt: str, length: int, sampling) -> StreamingResponse:
    """Take a slot now (busy: 503 before any byte is sent), sample in a worker thread and
    stream its tokens as they come."""
    job = svc.job()
    await svc.gate.enter(job)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def put(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (shutdown)
            job.cancel()
            raise _Stop("cancelled") from None

    def on_text(piece: str) -> None:
        reason = job.stopped
        if reason:
            raise _Stop(reason)
        put(("token", piece))

    def work() -> None:
        try:
            put(("done", svc.loaded.sample(prompt, length, sampling, on_text=on_text)))
        except _Stop as e:
            if e.reason != "cancelled":
                put(("stopped", e.reason))
        except Exception as e:  # reported to the client as an error event
            put(("error", e))

    svc.gate.start(work)
    return StreamingResponse(_events(svc, job, queue), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(svc: Service, job: Job, queue: asyncio.Queue) -> AsyncIterator[bytes]:
    start, pieces = time.monotonic(), []

    def done(text: str, stopped: str | None) -> bytes:
        return sse("done", {"text": text, "tokens": len(pieces), "stopped": stopped,
                            "seconds": round(time.monotonic() - start, 4)})

    try:
        while True:
            try:  # the worker stops itself at the deadline; this wait is the backstop
                kind, value = await asyncio.wait_for(queue.get(), job.remaining() + STOP_GRACE)
            except asyncio.TimeoutError:
                job.cancel()
                yield done("".join(pieces), "time_limit")
                return
            if kind == "token":
                pieces.append(value)
                yield sse("token", {"text": value})
            elif kind == "done":
                yield done(value, None)
                return
            elif kind == "stopped":
                yield done("".join(pieces), value)
                return
            else:
                e = internal(value, svc.limits.retry_after)
                yield sse("error", {"error": e.error, "detail": e.detail})
                return
    finally:
        job.cancel()  # the client went away, or the stream ended: stop the worker


def generator_args(svc: Service, req: SampleRequest) -> dict:
    if req.prompt:
        raise ApiError(400, "prompt is for language models; a generator run takes condition "
                       "(a label, or digits), num and beam")
    conditions = [req.condition] if isinstance(req.condition, str) else req.condition
    check("conditions", len(conditions or ()), svc.limits, "max_batch")
    check("num", req.num, svc.limits, "max_batch")
    check("beam", req.beam, svc.limits, "max_batch")
    if req.length is not None:
        check("length", req.length, svc.limits, "max_length")
    sampling = req.sampling()
    if "greedy" not in req.model_fields_set and svc.loaded.kind == "digits":
        sampling.greedy = True  # captions: greedy unless asked otherwise (as rnnkit sample)
    return {"conditions": conditions or None, "num": req.num, "sampling": sampling,
            "max_len": req.length, "beam": req.beam}


def sample_generator(svc: Service, args: dict) -> dict:
    start = time.monotonic()
    items = svc.loaded.sample(**args)
    samples = [{"condition": g.condition.name, "texts": g.texts, "scores": g.scores,
                "truth": g.condition.truth} for g in items]
    return {"samples": samples, "seconds": round(time.monotonic() - start, 4)}


async def stream_generator(svc: Service, args: dict) -> StreamingResponse:
    out = await svc.call(lambda job: sample_generator(svc, args))

    async def events() -> AsyncIterator[bytes]:
        for s in out["samples"]:
            yield sse("sample", s)
        yield sse("done", out)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
