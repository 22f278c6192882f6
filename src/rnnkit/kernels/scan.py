"""The loop ``torch.export`` can trace over a dynamic time axis: a cell's ``step`` inside torch's
``scan`` operator (one traced step, whatever T), with the reference path's padding rule.

:func:`tracing_mode` says which tracer, if any, is running the model: ``"export"``
(``torch.export``, also under ``torch.onnx.export(dynamo=True)``), ``"trace"`` (the TorchScript
tracer of ``torch.jit.trace`` and ``torch.onnx.export(dynamo=False)``) or None (eager). The
layer picks its backend from it (:meth:`rnnkit.Recurrent.resolve_backend`): the hand-written
kernels are opaque to both tracers. (``tests/layers/test_tracing.py`` exports layers both ways
and compares them with the eager ones.)

>>> tracing_mode() is None
True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .common import map_state, state_leaves


def tracing_mode() -> str | None:
    """``"export"`` under ``torch.export``, ``"trace"`` under the TorchScript tracer, else None."""
    exporting = getattr(torch.compiler, "is_exporting", None)
    if exporting is not None and exporting():
        return "export"
    if torch.jit.is_tracing():
        return "trace"
    return None


def _scan():
    try:
        from torch._higher_order_ops.scan import scan
    except ImportError:  # pragma: no cover - torch before 2.6
        raise RuntimeError("torch.export of a recurrent layer over a dynamic time axis needs "
                           f"torch's scan operator (torch >= 2.6; this is {torch.__version__})"
                           ) from None
    return scan


def _rebuild(template: Any, leaves: tuple) -> Any:
    """A state shaped like ``template`` (a Tensor or a named tuple of them) from its leaves."""
    if isinstance(template, Tensor):
        return leaves[0]
    return type(template)(*leaves)


def scan_sequence(cell, x: Tensor, state: Any, lengths: Tensor | None = None):
    """Unroll ``cell`` over x (T, B, I) from ``state`` as :func:`.reference.reference_sequence`
    does (a row's state stops changing after its last valid step), through ``scan``.

    Returns ``(outputs (T, B, H), final_state)``."""
    scan = _scan()
    T = x.shape[0]
    if lengths is None:
        valid = torch.ones(T, x.shape[1], dtype=torch.bool, device=x.device)
    else:
        valid = torch.arange(T, device=x.device).unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)

    def step(carry: tuple, inputs: tuple):
        x_t, keep = inputs
        prev = _rebuild(state, carry)
        y, new = cell.step(x_t, prev)
        new = map_state(lambda n, o: torch.where(keep.view(-1, *([1] * (n.dim() - 1))), n, o),
                        new, prev)
        # scan's body must not return an input or alias one output by another (h is y).
        return tuple(s.clone() for s in state_leaves(new)), y.clone()

    final, outputs = scan(step, tuple(state_leaves(state)), (x, valid))
    return outputs, _rebuild(state, tuple(final))
