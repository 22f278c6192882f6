"""The reference path: autograd over a cell's ``step``, one step at a time.

This is the ground truth every kernel is tested against, and the path for cells that have no
kernel (cells users write).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .common import map_state


def reference_sequence(cell, x: Tensor, state, lengths: Tensor | None = None,
                       step_hook: Callable | None = None):
    """Unroll ``cell`` over x (T, B, I) from ``state``.

    Returns ``(outputs (T, B, H), final_state)``. With ``lengths`` (B,), a row's state stops
    changing after its last valid step, so the final state is each row's own last state.

    ``step_hook(t, x_t, prev_state, h_t, state)``, when given, is called after every step with
    the step's input (B, I), the state it started from, its output h_t (B, H) and the new state:
    the tensors of the autograd graph themselves, so a diagnostic can take gradients with respect
    to them (see :mod:`rnnkit.diagnostics`). Its return value is ignored.

    >>> from rnnkit.cells import LSTMCell
    >>> _ = torch.manual_seed(0)
    >>> cell = LSTMCell(3, 4)
    >>> x = torch.randn(5, 2, 3)  # (T, B, I)
    >>> out, (h, c) = reference_sequence(cell, x, cell.initial_state(2))
    >>> tuple(out.shape), torch.equal(out[-1], h)
    ((5, 2, 4), True)

    With ``lengths`` the second row (length 3) keeps its state from step 2 on:

    >>> out, (h, c) = reference_sequence(cell, x, cell.initial_state(2), torch.tensor([5, 3]))
    >>> torch.equal(h[1], out[2, 1]), torch.equal(h[0], out[4, 0])
    (True, True)
    >>> seen = []
    >>> _ = reference_sequence(cell, x, cell.initial_state(2),
    ...                        step_hook=lambda t, x_t, prev, h_t, new: seen.append(t))
    >>> seen
    [0, 1, 2, 3, 4]
    """
    T = x.shape[0]
    valid = None
    if lengths is not None:
        valid = (torch.arange(T, device=x.device).unsqueeze(1) < lengths.unsqueeze(0)).unbind(0)
    outputs = []
    for t, x_t in enumerate(x.unbind(0)):  # unbind once: x[t] per step costs O(T^2) in backward
        y, new = cell.step(x_t, state)
        if valid is not None:
            keep = valid[t]
            new = map_state(lambda n, o, k=keep: torch.where(_rows(k, n), n, o), new, state)
        if step_hook is not None:
            step_hook(t, x_t, state, y, new)
        state = new
        outputs.append(y)
    return torch.stack(outputs, 0), state


def _rows(mask: Tensor, like: Tensor) -> Tensor:
    """A (B,) mask shaped to broadcast over a (B, ...) state leaf."""
    return mask.view(-1, *([1] * (like.dim() - 1)))
