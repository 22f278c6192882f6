"""Many processes: PyTorch's own ``torch.distributed``, started by ``torchrun``.

``torchrun --nproc-per-node N -m rnnkit train TASK ...`` runs N copies of the command; each
finds its rank in the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) and joins one
process group (gloo on CPUs, NCCL on GPUs). The training loop then works unchanged:

* ``--batch-size`` is the global batch. Every process draws the same global batch (the
  batchers are seeded alike) and trains on its share (:class:`Shard`): its rows of the
  truncated-BPTT streams, or its slice of each batch's examples. The loss of each share is
  rescaled so that the averaged gradient is the gradient of the global batch's mean loss, so
  one command trains the same model on 1 or N processes (within float rounding).
* The model is wrapped in ``DistributedDataParallel``: gradients are averaged during backward,
  so clipping, the finite check and the optimizer step agree on every process.
* Process 0 alone writes the run folder (config, checkpoints, logs, plots) and evaluates on
  the whole validation set (so it is covered exactly once); the metrics are broadcast, so early
  stopping and the plateau schedule decide alike everywhere. One small all-reduce per step
  shares the wall clock and a stop request (Ctrl-C), so every process stops at the same step.
* A checkpoint holds the global state (the carried hidden state of every stream is gathered
  before saving), so a run saved by N processes resumes on M (1 included).

>>> s = Shard(rank=1, world=2)
>>> import torch
>>> s.rows(torch.arange(8).view(4, 2)).tolist()
[[4, 5], [6, 7]]
>>> s.split([10, 11, 12, 13, 14])
[13, 14]
>>> Shard().split([10, 11]), Shard().rows(None)
([10, 11], None)
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

log = logging.getLogger(__name__)


def _map(fn, state):
    """``fn`` over a state: a tensor, a (named) tuple of tensors, or None."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    items = [_map(fn, s) for s in state]
    return type(state)(*items) if hasattr(state, "_fields") else type(state)(items)


@dataclass(frozen=True)
class Shard:
    """This process's share of a global batch: ``rank`` of ``world`` processes."""

    rank: int = 0
    world: int = 1

    def _bounds(self, n: int) -> tuple[int, int]:
        base, extra = divmod(n, self.world)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (self.rank < extra)

    def rows(self, x, dim: int = 0):
        """This process's rows of ``x`` along ``dim`` (a tensor or a state of tensors); the
        global batch must divide evenly (streams: ``--batch-size`` a multiple of N)."""
        if self.world == 1 or x is None:
            return x

        def take(t: Tensor) -> Tensor:
            n = t.shape[dim]
            if n % self.world:
                raise ValueError(f"a batch of {n} rows cannot be shared evenly by "
                                 f"{self.world} processes: make --batch-size a multiple of "
                                 f"{self.world}")
            k = n // self.world
            return t.narrow(dim, self.rank * k, k)

        return _map(take, x)

    def split(self, items: list) -> list:
        """This process's contiguous slice of a batch of examples (sizes differ by at most
        one; a batch smaller than the world gives every process at least its last item)."""
        if self.world == 1:
            return list(items)
        a, b = self._bounds(len(items))
        return list(items[a:b]) if b > a else list(items[-1:])

    def weight(self, n: int) -> float:
        """The share of a batch of ``n`` examples this process's loss stands for."""
        if self.world == 1:
            return 1.0
        a, b = self._bounds(n)
        return (b - a) / n

    def gather_rows(self, x, dim: int = 0):
        """Every process's rows of ``x`` along ``dim``, in rank order (all processes call)."""
        if self.world == 1 or x is None:
            return x

        def gather(t: Tensor) -> Tensor:
            parts = [torch.empty_like(t) for _ in range(self.world)]
            dist.all_gather(parts, t.contiguous())
            return torch.cat(parts, dim)

        return _map(gather, x)


class Terminated(RuntimeError):
    """SIGTERM in a process of a run of many: what torchrun sends the other processes when one
    of them stops (a scheduler ending the job sends it too)."""


@contextmanager
def sigterm_raises(active: bool):
    """While ``active`` (and on the main thread), the first SIGTERM raises :class:`Terminated`
    where the process is, so that it can say why it stopped and where its last checkpoint is
    instead of vanishing mid-step. Later ones, and any once an error leaves the block, are
    ignored so that the error is reported (torchrun follows with SIGKILL after 30 s)."""
    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_once(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated("SIGTERM")

    previous = signal.signal(signal.SIGTERM, raise_once)
    try:
        yield
    except BaseException:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # on the way out: let the error be said
        raise
    signal.signal(signal.SIGTERM, previous)


class Distributed:
    """The process group of this run (a single process when not started by torchrun)."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0):
        self.rank, self.world, self.local_rank = rank, world, local_rank

    @classmethod
    def from_env(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def shard(self) -> Shard:
        return Shard(self.rank, self.world)

    def start(self, device: torch.device) -> None:
        """Join the process group (gloo for CPUs, NCCL for GPUs), once."""
        if not self.active or dist.is_initialized():
            return
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend)
        log.info("process %d of %d joined the %s group", self.rank, self.world, backend)

    def stop(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()

    def broadcast(self, obj: Any) -> Any:
        """Process 0's ``obj`` on every process."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def max(self, *values: float) -> list[float]:
        """The element-wise maximum of ``values`` over all processes."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.tolist()

    def sum(self, *values: float) -> list[float]:
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model as every process trains it: ``DistributedDataParallel`` when there is
        more than one process (attribute lookups fall through to the model)."""
        if not self.active:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return _DDP(model, device_ids=ids, find_unused_parameters=True)


class _DDP(nn.parallel.DistributedDataParallel):
    """DDP whose unknown attributes are the wrapped model's (tasks read ``model.cfg``)."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)
