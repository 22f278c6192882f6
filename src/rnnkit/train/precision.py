"""Mixed precision: ``torch.autocast`` over the forward pass and the loss, float32 master
weights (the optimizer always updates float32 parameters).

* ``fp32``: no autocast.
* ``bf16``: ``torch.autocast(device, torch.bfloat16)`` on a CPU or a GPU. No loss scaling is
  needed (bfloat16 has float32's exponent range).
* ``fp16``: CUDA only, with a ``torch.amp.GradScaler`` (float16 underflows without scaling).
* ``auto``: bf16 where it wins: on a CUDA GPU that supports it, and on a CPU with native
  bfloat16 instructions (AVX-512-BF16 or AMX-BF16, :func:`cpu_native_bf16`); else fp32. On a
  CPU the recurrent layers keep their float32 kernels either way (the native loop has no bf16
  path), so bf16 speeds up only the other matrix products (output layers, projections).
  Measured with ``benchmarks/scaling.py`` (docs/benchmarks.md, "Scaling"): the default LM
  trained 1.06-1.15x faster in bf16 on an AVX-512-BF16 CPU, and 0.70-0.79x as fast on the
  same CPU capped to AVX2, with the same validation loss after 100 steps.

>>> resolve_precision("auto", torch.device("cpu")) == ("bf16" if cpu_native_bf16() else "fp32")
True
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
import functools
import os
from pathlib import Path

import torch

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


# Capping oneDNN or PyTorch's kernels below AVX-512 (these variables) takes the bf16
# instructions away even where the CPU has them.
_CAPS = {"ONEDNN_MAX_CPU_ISA": ("AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10", "ALL"),
         "ATEN_CPU_CAPABILITY": ("avx512",)}


@functools.cache
def cpu_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (the ``avx512_bf16`` or ``amx_bf16``
    flag of Linux's /proc/cpuinfo) and nothing caps the kernels below it."""
    for var, allowed in _CAPS.items():
        value = os.environ.get(var)
        if value and not value.upper().startswith(tuple(a.upper() for a in allowed)):
            return False
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:  # not Linux: no way to tell, so no
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_precision(name: str, device: torch.device) -> str:
    """The precision ``name`` means on ``device`` (``auto`` resolved; impossible ones an
    error saying what to use)."""
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {name!r}")
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        return "bf16" if device.type == "cpu" and cpu_native_bf16() else "fp32"
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
