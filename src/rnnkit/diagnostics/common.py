"""Shared pieces of the diagnostics: finding the recurrent layer of a model, eval mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from ..layers.recurrent import Recurrent


def find_recurrent(model: nn.Module, layer: str | Recurrent | None = None) -> Recurrent:
    """The :class:`~rnnkit.Recurrent` layer of ``model`` to watch.

    ``layer`` is the layer itself, its name in ``model.named_modules()`` (e.g. ``"encoder"``),
    or None when the model holds exactly one recurrent layer.

    >>> import rnnkit
    >>> model = nn.Sequential()
    >>> model.encoder = rnnkit.GRU(2, 3, bidirectional=True)
    >>> find_recurrent(model) is model.encoder, find_recurrent(model, "encoder") is model.encoder
    (True, True)
    >>> cell_names(model.encoder)
    ['layer0', 'layer0_reverse']
    """
    if isinstance(layer, Recurrent):
        return layer
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, Recurrent)]
    if layer is not None:
        for n, m in found:
            if n == layer:
                return m
        names = ", ".join(repr(n) for n, _ in found) or "none"
        raise ValueError(f"no recurrent layer named {layer!r} in {type(model).__name__} "
                         f"(its recurrent layers: {names})")
    if len(found) != 1:
        names = ", ".join(repr(n or "<the model>") for n, _ in found)
        raise ValueError(
            f"{type(model).__name__} has {len(found)} rnnkit.Recurrent layers"
            + (f" ({names}); pass layer=NAME to choose one" if found else
               "; the diagnostics watch an rnnkit.Recurrent layer (rnnkit.LSTM, GRU, RNN...)"))
    return found[0][1]


def cell_names(rec: Recurrent) -> list[str]:
    """``layer0``, ``layer0_reverse``, ``layer1``...: one name per cell index ``k``."""
    D = rec.num_directions
    return [f"layer{k // D}" + ("_reverse" if k % D else "") for k in range(len(rec.cells))]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluation mode inside the block (no dropout: diagnostics must not draw random numbers,
    which would also change a training run's random stream), the previous mode after it."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)
