"""What one served run may be asked: :class:`Limits`, every bound of the service in one place.

The fields are the options of ``rnnkit serve`` (their comments are the help) and are reported
by ``GET /v1/info``. A request over a limit is refused with a JSON error naming the limit
(:func:`over_limit`): 413 for the body, 422 for a length, a batch or a text, 503 with
``Retry-After`` when every inference slot and queue place is taken, 504 past the time limit.

>>> Limits().validate()
>>> Limits(max_concurrent=0).validate()
Traceback (most recent call last):
...
ValueError: max_concurrent must be >= 1, got 0
>>> over_limit("length", 5000, "max_length", 2000).detail
'length 5000 is over the limit of 2000 (max_length, rnnkit serve --max-length)'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    max_body_bytes: int = 1_048_576  # largest request body (bytes); larger gets 413 unread
    max_length: int = 2000  # most tokens (or forecast steps) one request may generate
    max_batch: int = 64  # most texts, sentences or series per request (and samples: num)
    max_text_chars: int = 20_000  # longest text or prompt (characters)
    max_concurrent: int = 2  # model calls running at once (each in a worker thread)
    max_queue: int = 16  # requests waiting for a free slot; beyond them 503 + Retry-After
    timeout: float = 30.0  # seconds per request, waiting included (sampling stops there)
    retry_after: int = 1  # seconds a refused (503) client is told to wait
    viz_chars: int = 3000  # characters of text the hidden-state viewer (/viz) shows

    def validate(self) -> None:
        """Every limit positive (``max_queue`` may be 0: no waiting, busy is refused)."""
        for name in ("max_body_bytes", "max_length", "max_batch", "max_text_chars",
                     "max_concurrent", "retry_after"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {self.max_queue}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0, got {self.timeout:g}")
        if self.viz_chars < 2:
            raise ValueError(f"viz_chars must be >= 2, got {self.viz_chars}")


@dataclass
class LimitExceeded(Exception):
    """A request asks for more than a limit allows (answered 422, or 413 for the body)."""

    what: str
    value: int
    limit_name: str
    limit: int

    @property
    def detail(self) -> str:
        flag = "--" + self.limit_name.replace("_", "-")
        return (f"{self.what} {self.value} is over the limit of {self.limit} "
                f"({self.limit_name}, rnnkit serve {flag})")

    def __str__(self) -> str:
        return self.detail


def over_limit(what: str, value: int, limit_name: str, limit: int) -> LimitExceeded:
    return LimitExceeded(what, value, limit_name, limit)


def check(what: str, value: int, limits: Limits, name: str) -> None:
    """Raise :class:`LimitExceeded` when ``value`` is over ``limits.<name>``."""
    limit = getattr(limits, name)
    if value > limit:
        raise over_limit(what, value, name, limit)
