"""The traced loop driven from Python, for steps with large recurrent weights.

Above about 2^18 weight elements (a 1024 x 256 LSTM weight fits L2; 2048 x 512 does not)
oneDNN's packed product streams the weight 1.2-2x faster than MKL's packed sgemm, which the
generated loop calls (measured for the built-in loop, docs/design/native-loop.md). There, as
the built-in kernels do, Python runs the steps: the generated code of each segment between two
products (:mod:`.segments`), and each product through oneDNN on views of the loop's own
buffers, which ``rnnkit_traced_place`` locates.
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from ..common import linear_product

MIN_WEIGHT = 1 << 18  # weight elements above which Python drives the loop (float32, B > 1)


def python_drives(k, x: Tensor, mats) -> bool:
    return (x.dtype == torch.float32 and x.shape[1] > 1 and bool(k.layout.prods)
            and any(mats[n.index].numel() > MIN_WEIGHT for n in k.layout.prods)
            and torch.backends.mkldnn.is_available())


def _rows(address: int, ld: int, width: int, batch: int) -> Tensor:
    """The (batch, width) float32 rows at ``address`` with row stride ``ld``, as a view."""
    n = (batch - 1) * ld + width
    buf = (ctypes.c_float * n).from_address(address)
    return torch.frombuffer(buf, dtype=torch.float32).as_strided((batch, width), (ld, 1))


def forward(k, mats, ptrs, T: int, B: int) -> None:
    lib, prods = k.lib, k.layout.prods
    products = [linear_product(mats[n.index].t(), B) for n in prods]  # A @ M = A @ (M^T)^T
    out = (ctypes.c_longlong * 4)()
    for t in range(T):
        for s in range(len(prods) + 1):
            lib.rnnkit_traced_forward_segment(s, t, B, ptrs)
            if s < len(prods):
                lib.rnnkit_traced_place(s, t, B, ptrs, 0, out)
                m = mats[prods[s].index]
                a = _rows(out[0], out[1], m.shape[0], B)
                _rows(out[2], out[3], m.shape[1], B).copy_(products[s](a))


def backward(k, mats, ptrs, T: int, B: int) -> None:
    lib, prods = k.lib, k.layout.prods
    products = [linear_product(mats[n.index], B) for n in prods]  # dA += dOut @ M^T
    out = (ctypes.c_longlong * 4)()
    for t in range(T - 1, -1, -1):
        lib.rnnkit_traced_backward_segment(-1, t, B, ptrs)  # zero the step, seed it
        for s in range(len(prods), -1, -1):
            lib.rnnkit_traced_backward_segment(s, t, B, ptrs)
            if s > 0:
                lib.rnnkit_traced_place(s - 1, t, B, ptrs, 1, out)
                m = mats[prods[s - 1].index]
                d = _rows(out[0], out[1], m.shape[1], B)
                _rows(out[2], out[3], m.shape[0], B).add_(products[s - 1](d))
