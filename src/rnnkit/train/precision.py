"""Mixed precision: ``torch.autocast`` over the forward pass and the loss, float32 master
weights (the optimizer always updates float32 parameters).

* ``fp32``: no autocast.
* ``bf16``: ``torch.autocast(device, torch.bfloat16)`` on a CPU or a GPU. No loss scaling is
  needed (bfloat16 has float32's exponent range).
* ``fp16``: CUDA only, with a ``torch.amp.GradScaler`` (float16 underflows without scaling).
* ``auto``: bf16 on a CUDA GPU that supports it, else fp32. On a CPU the recurrent layers keep
  their float32 kernels either way (the native loop has no bf16 path), so bf16 only speeds up
  the other matrix products; measured on a CPU with AVX-512-BF16 it did not win
  (docs/benchmarks.md), so ``auto`` does not choose it there.

>>> resolve_precision("auto", torch.device("cpu"))
'fp32'
>>> resolve_precision("fp16", torch.device("cpu"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: precision fp16 needs a CUDA GPU (float16 on a CPU is slow ...; use bf16 or fp32 ...
>>> with autocast("fp32", torch.device("cpu")):
...     torch.is_autocast_enabled("cpu")
False
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(name: str, device: torch.device) -> str:
    """The precision ``name`` means on ``device`` (``auto`` resolved; impossible ones an
    error saying what to use)."""
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"
    if name == "fp16" and device.type != "cuda":
        raise ValueError("precision fp16 needs a CUDA GPU (float16 on a CPU is slow and needs "
                         "loss scaling); use bf16 or fp32 on a CPU")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"precision bf16: {torch.cuda.get_device_name(device)} does not "
                         "support bfloat16; use fp16 or fp32")
    return name


def autocast(precision: str, device: torch.device):
    """The autocast context of a resolved precision (a no-op for fp32)."""
    if precision == "fp32" or device.type not in ("cpu", "cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device):
    """A gradient scaler for fp16 on CUDA, else None."""
    if precision == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
