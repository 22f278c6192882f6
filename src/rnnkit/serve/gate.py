"""Admission and execution of model calls: a bounded number run at once, in worker threads
(never on the event loop), a bounded queue waits for a slot, and the rest are refused.

:class:`Gate` holds ``max_concurrent`` slots and ``max_queue`` waiting places, first come first
served. :meth:`Gate.enter` takes a slot or waits for one until the request's deadline; with
every slot and place taken it raises :class:`Busy` at once (the service answers 503 with
``Retry-After``). A slot is held until the worker thread returns, even when the request gave
up waiting for it (time limit, client gone): the number of model calls in flight never exceeds
the limit. A :class:`Job` tells long calls (sampling) when to stop: at the deadline, or when
the request is cancelled.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Every inference slot and queue place is taken (answered 503 with Retry-After)."""


class TimedOut(Exception):
    """The request's time limit passed (waiting for a slot, or during the call)."""


class Job:
    """One request's deadline and cancellation, read by the worker thread."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self._cancelled = threading.Event()

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def stopped(self) -> str | None:
        """Why the call should stop now: ``"time_limit"``, ``"cancelled"``, or None."""
        if self._cancelled.is_set():
            return "cancelled"
        if time.monotonic() >= self.deadline:
            return "time_limit"
        return None


class Gate:
    """At most ``max_concurrent`` model calls at once, ``max_queue`` requests waiting."""

    def __init__(self, max_concurrent: int, max_queue: int):
        self.max_concurrent, self.max_queue = max_concurrent, max_queue
        self.active = 0  # slots held (calls running, or handed to a waiter)
        self._waiters: deque[asyncio.Future] = deque()
        self.executor = ThreadPoolExecutor(max_workers=max_concurrent,
                                           thread_name_prefix="rnnkit-serve")

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    def stats(self) -> dict[str, int]:
        return {"active": self.active, "waiting": self.waiting,
                "max_concurrent": self.max_concurrent, "max_queue": self.max_queue}

    async def enter(self, job: Job) -> None:
        """Take a slot (waiting at most until ``job``'s deadline): raises :class:`Busy` when
        the queue is full, :class:`TimedOut` when the deadline passes first."""
        if self.active < self.max_concurrent and not self.waiting:
            self.active += 1
            return
        if self.waiting >= self.max_queue:
            raise Busy(f"the server is busy: {self.active} model calls running and "
                       f"{self.waiting} waiting (max_concurrent {self.max_concurrent}, "
                       f"max_queue {self.max_queue}); retry later")
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, job.remaining())
        except (asyncio.TimeoutError, asyncio.CancelledError) as e:
            if fut.done() and not fut.cancelled():
                self.leave()  # the slot was handed over just as we gave up: pass it on
            if fut in self._waiters:
                self._waiters.remove(fut)
            if isinstance(e, asyncio.TimeoutError):
                raise TimedOut(f"no free inference slot within the time limit of "
                               f"{job.timeout:g} s") from None
            raise

    def leave(self) -> None:
        """Give a slot back: to the first waiter, else free it."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot passes on; active is unchanged
                return
        self.active -= 1

    def start(self, fn: Callable[[], T]) -> asyncio.Future:
        """Run ``fn`` in a worker thread, in a slot already taken by :meth:`enter`; the slot
        is given back when ``fn`` returns."""
        fut = asyncio.get_running_loop().run_in_executor(self.executor, fn)
        fut.add_done_callback(lambda _: self.leave())
        return fut

    async def run(self, job: Job, fn: Callable[[], T], grace: float = 0.0) -> T:
        """:meth:`enter`, then ``fn()`` in a worker thread until ``job``'s deadline plus
        ``grace`` (for calls that stop themselves at the deadline, e.g. sampling); then
        :class:`TimedOut`: the job is cancelled and the thread keeps its slot until it
        returns."""
        await self.enter(job)
        fut = self.start(fn)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), job.remaining() + grace)
        except asyncio.TimeoutError:
            job.cancel()
            raise TimedOut(f"the request took longer than the time limit of "
                           f"{job.timeout:g} s") from None
        except asyncio.CancelledError:
            job.cancel()
            raise

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

