"""Devices: choosing one, and putting batches where the model is.

The rule every task follows: a batch goes to the device of the model it is given
(:func:`device_of`), moved once by :func:`to_device`. The generic train path
(:mod:`rnnkit.tasks.lifecycle`) places the model once; prediction code reads the device off
the loaded model. So a run trained on a GPU evaluates on a CPU and the other way round:
checkpoints are saved from CPU copies and loaded onto whatever device the model is on.

>>> resolve_device("cpu")
device(type='cpu')
>>> import torch
>>> lin = torch.nn.Linear(2, 3)
>>> device_of(lin)
device(type='cpu')
>>> x, (y, z) = to_device((torch.ones(2), (torch.zeros(1), 5)), device_of(lin))
>>> x.device.type, z
('cpu', 5)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor, nn

DEVICE_HELP = "auto (a GPU when there is one) | cpu | cuda | cuda:N"


class DeviceError(ValueError):
    """A device that does not exist on this machine."""


def resolve_device(spec: str | torch.device | None = "auto", local_rank: int = 0
                   ) -> torch.device:
    """``auto``: CUDA when present (``cuda:local_rank`` under torchrun), else the CPU;
    ``cpu``; ``cuda`` / ``cuda:N`` (an error naming what exists when it does not)."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise DeviceError(f"unknown device {spec!r}; use {DEVICE_HELP}") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec!r}: no CUDA GPU is available here (torch "
                              f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                              "use --device cpu")
        n = torch.cuda.device_count()
        index = local_rank % n if dev.index is None else dev.index
        if index >= n:
            raise DeviceError(f"device {spec!r}: this machine has {n} CUDA device(s), "
                              f"cuda:0..cuda:{n - 1}")
        return torch.device("cuda", index)
    if dev.type == "meta":
        return dev  # shapes only: for tests of placement
    raise DeviceError(f"device {spec!r} is not supported; use {DEVICE_HELP}")


def device_of(module: nn.Module) -> torch.device:
    """The device of a module's first parameter (or buffer); the CPU for one without."""
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")


def to_device(obj: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """``obj`` with every tensor moved to ``device``: tensors, (named) tuples, lists, dicts
    and dataclass instances (a :class:`~rnnkit.tasks.common.words.WordBatch`), recursively;
    anything else as it is."""
    if isinstance(obj, Tensor):
        return obj if obj.device == device else obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_device(v, device, non_blocking) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, device, non_blocking) for v in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device, non_blocking) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: to_device(getattr(obj, f.name), device, non_blocking)
                   for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    return obj
