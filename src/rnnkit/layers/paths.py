"""The paths a layer runs one cell over a sequence on (see :mod:`rnnkit.layers.recurrent`)."""

from __future__ import annotations

from ..kernels.common import gather_last
from ..kernels.reference import reference_sequence
from ..kernels.scan import scan_sequence
from ..kernels.traced import Unsupported, traced_sequence
from .fallback import traced_fallback


def run_cell(cell, x, state, lengths, backend, step_hook=None, strict=False):
    """Run ``cell`` over x (T, B, I) on ``backend``'s path: ``(outputs, final state)``."""
    if backend == "traced":
        try:
            outputs, states_all = traced_sequence(cell, x, state)
            return outputs, gather_last(states_all, lengths)
        except Unsupported as e:
            if strict:
                raise ValueError(f"backend='traced': {type(cell).__name__}'s step cannot be "
                                 f"compiled ({e})") from None
            traced_fallback(cell, str(e))
    if backend == "kernel":
        outputs, states_all = cell.kernel()(cell, x, state)
        return outputs, gather_last(states_all, lengths)
    if backend == "scan" and not isinstance(x.shape[0], int):  # a static time axis unrolls
        return scan_sequence(cell, x, state, lengths)
    return reference_sequence(cell, x, state, lengths, step_hook)
