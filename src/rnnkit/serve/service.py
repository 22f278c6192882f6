"""What every route shares: the served run, its limits, the inference gate, and the table
of endpoints per task (what a run of another task is told it can use instead).

>>> supported("classify")
['POST /v1/predict']
>>> unsupported("lm", "/v1/predict")  # doctest: +NORMALIZE_WHITESPACE
"a 'lm' run does not answer POST /v1/predict (it is for classify, tag, series-classify and
series-tag runs); this run answers: POST /v1/sample, GET /viz"
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import ApiError, as_api_error
from .gate import Gate, Job
from .limits import Limits

log = logging.getLogger(__name__)

T = TypeVar("T")

# Task endpoints: (method, path) -> the tasks whose runs answer it.
ENDPOINTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/v1/sample"): ("lm", "generate"),
    ("POST", "/v1/predict"): ("classify", "tag", "series-classify", "series-tag"),
    ("POST", "/v1/translate"): ("seq2seq",),
    ("POST", "/v1/forecast"): ("forecast",),
    ("GET", "/viz"): ("lm",),
}


def supported(task: str) -> list[str]:
    """The task endpoints a run of ``task`` answers ("POST /v1/sample"...)."""
    return [f"{m} {p}" for (m, p), tasks in ENDPOINTS.items() if task in tasks]


def _listed(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def unsupported(task: str, path: str) -> str | None:
    """Why ``path`` is not served for a ``task`` run (None: not a task endpoint at all)."""
    for (method, p), tasks in ENDPOINTS.items():
        if p == path.rstrip("/") and task not in tasks:
            here = ", ".join(supported(task)) or "only GET /health and GET /v1/info"
            return (f"a {task!r} run does not answer {method} {p} (it is for "
                    f"{_listed(tasks)} runs); this run answers: {here}")
    return None


@dataclass
class Service:
    """One served run: the loaded run (``rnnkit.load``), its limits and inference gate."""

    loaded: Any  # a LoadedRun
    limits: Limits
    gate: Gate
    checkpoint: str = "best"

    @property
    def task(self) -> str:
        return self.loaded.task

    @property
    def name(self) -> str:
        return self.loaded.run.name

    def job(self) -> Job:
        """A new request's deadline (``limits.timeout`` from now)."""
        return Job(self.limits.timeout)

    async def call(self, fn: Callable[[Job], T], grace: float = 0.0) -> T:
        """``fn(job)`` in a worker thread under the gate (``grace``: see
        :meth:`Gate.run`); its errors as :class:`ApiError` (a ValueError is the client's:
        400; anything else is logged and answered 500)."""
        job = self.job()
        try:
            return await self.gate.run(job, lambda: fn(job), grace)
        except Exception as e:
            raise internal(e, self.limits.retry_after) from None


def internal(e: Exception, retry_after: int) -> ApiError:
    """``e`` as an answer: the mapped one, else a logged 500 with its message."""
    mapped = as_api_error(e, retry_after)
    if mapped is not None:
        return mapped
    log.error("model call failed", exc_info=e)
    return ApiError(500, f"{type(e).__name__}: {e}")
