"""The traced fast path: a cell's own ``step``, compiled into a whole-sequence kernel.

A cell that defines only ``initial_state`` and ``step`` has no hand-written kernel. On a CPU,
``Recurrent``'s ``"auto"`` backend traces its step once per configuration (:mod:`.lower`:
ATen operations at two batch sizes), hoists the products of ``x_t`` into one product over all
steps, and generates C++ for the rest of the loop (:mod:`.codegen`): the per-step products
through PyTorch's BLAS, the elementwise operations fused into one vectorised loop per width,
and their derivatives by reverse mode over that loop; the products' weight gradients are one
product over all steps. The library is compiled once per machine and cached
(:mod:`.runtime`); a step outside what the path compiles runs on the reference loop, with one
log line saying why.

>>> import torch
>>> from rnnkit.cells import RecurrentCell
>>> class Tiny(RecurrentCell):
...     def __init__(self):
...         super().__init__()
...         self.input_size, self.hidden_size = 2, 3
...         self.w = torch.nn.Parameter(torch.randn(3, 2))
...         self.u = torch.nn.Parameter(torch.randn(3))
...     def step(self, x_t, h):
...         h = torch.tanh(x_t @ self.w.t() + self.u * h)
...         return h, h
>>> cell = Tiny()
>>> x = torch.randn(4, 2, 2)  # (T, B, I)
>>> out, h = traced_sequence(cell, x, cell.initial_state(2))
>>> from rnnkit.kernels import reference_sequence
>>> ref, _ = reference_sequence(cell, x, cell.initial_state(2))
>>> torch.allclose(out, ref, atol=1e-6), tuple(h.shape)  # h: every step's state
(True, (4, 2, 3))
"""

from .function import traced_enabled, traced_sequence
from .graph import Unsupported
from .runtime import kernel_for

__all__ = ["Unsupported", "kernel_for", "traced_enabled", "traced_sequence"]
