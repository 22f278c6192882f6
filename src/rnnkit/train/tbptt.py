"""Truncated backpropagation through time: the one place the carried state is detached."""

from __future__ import annotations

from typing import Any

from ..kernels.common import map_state


def detach_state(state: Any) -> Any:
    """Cut the graph behind a carried hidden state.

    Between truncated-BPTT chunks the state's *value* is carried (the next chunk continues the
    stream from it) but its *history* is dropped: otherwise every backward pass would run back
    to the start of the text, and memory and time would grow with every chunk.
    """
    if state is None:
        return None
    return map_state(lambda s: s.detach(), state)
