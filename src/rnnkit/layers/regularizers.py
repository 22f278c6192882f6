"""Regularisers for recurrent networks, as modules (AWD-LSTM's set, Merity et al. 2017).

* :class:`~rnnkit.layers.dropouts.LockedDropout` (``dropout``): one dropout mask per sequence,
  shared over time (variational dropout).
* :class:`~rnnkit.layers.dropouts.EmbeddingDropout` (``embed_dropout``): drops whole words.
* :class:`~rnnkit.layers.weight_drop.WeightDrop` (``weight_dropout``): DropConnect on
  ``weight_hh``, on every backend.
* :class:`~rnnkit.layers.zoneout.Zoneout` (``zoneout_h``, ``zoneout_c``): units keep their
  previous value (reference path).
* :func:`ar_tar_penalty`: activation and temporal activation regularisation (AR/TAR).

Every module is the identity (Zoneout: its expectation) in eval mode and validates its
probabilities in [0, 1). See docs/regularizers.md.
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor

from .dropouts import EmbeddingDropout, LockedDropout, check_dropout
from .weight_drop import WeightDrop
from .zoneout import Zoneout

__all__ = ["LockedDropout", "EmbeddingDropout", "WeightDrop", "Zoneout", "ar_tar_penalty",
           "check_dropout"]


def ar_tar_penalty(outputs: Tensor, dropped_outputs: Tensor, alpha: float, beta: float, *,
                   lengths: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
    """AR + TAR (Merity et al. 2017, "Revisiting activation regularization for language
    RNNs"), a scalar to add to the training loss:

    * AR = ``alpha * mean(dropped_outputs ** 2)``: small activations (of the dropped outputs),
    * TAR = ``beta * mean((outputs[:, t] - outputs[:, t-1]) ** 2)``: slowly changing ones
      (of the outputs before dropout).

    ``outputs``, ``dropped_outputs``: (B, T, H), the last layer's outputs, batch first. The
    means run over the valid positions only: ``lengths`` (B,) (a row is valid up to its length)
    or ``mask`` (B, T) (True where valid); TAR counts a pair (t-1, t) when both are valid. With
    no valid position (or pair) a term is 0. AWD-LSTM's defaults are alpha=2, beta=1.

    >>> h = torch.tensor([[[1.0], [3.0], [0.0]]])  # B=1, T=3, H=1
    >>> ar_tar_penalty(h, h, alpha=1.0, beta=1.0)  # (1+9+0)/3 + ((3-1)^2 + (0-3)^2)/2
    tensor(9.8333)
    >>> ar_tar_penalty(h, h, 1.0, 1.0, lengths=torch.tensor([2]))  # (1+9)/2 + 4/1
    tensor(9.)
    """
    alpha, beta = _check_coefficient("alpha", alpha), _check_coefficient("beta", beta)
    if outputs.dim() != 3 or dropped_outputs.shape != outputs.shape:
        raise ValueError(
            f"outputs and dropped_outputs must both be (B, T, H); got {tuple(outputs.shape)} "
            f"and {tuple(dropped_outputs.shape)}"
        )
    valid = _valid(outputs, lengths, mask)  # (B, T) or None
    ar = _masked_mean(dropped_outputs.pow(2), valid)
    diff = (outputs[:, 1:] - outputs[:, :-1]).pow(2)  # (B, T-1, H)
    pairs = None if valid is None else valid[:, 1:] * valid[:, :-1]
    tar = _masked_mean(diff, pairs)
    return alpha * ar + beta * tar


def _check_coefficient(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _valid(x: Tensor, lengths: Tensor | None, mask: Tensor | None) -> Tensor | None:
    B, T = x.shape[:2]
    if lengths is not None and mask is not None:
        raise ValueError("give lengths or mask, not both")
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=x.device)
        if lengths.shape != (B,):
            raise ValueError(f"lengths must have shape ({B},), got {tuple(lengths.shape)}")
        mask = torch.arange(T, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
    if mask is None:
        return None
    if mask.shape != (B, T):
        raise ValueError(f"mask must have shape ({B}, {T}), got {tuple(mask.shape)}")
    return mask.to(device=x.device, dtype=x.dtype)


def _masked_mean(v: Tensor, valid: Tensor | None) -> Tensor:
    """Mean of v (B, T', H) over the positions where valid (B, T') is 1; 0 when there are none."""
    if valid is None:
        return v.mean() if v.numel() else v.sum()
    count = valid.sum() * v.shape[2]
    return (v * valid.unsqueeze(2)).sum() / count.clamp_min(1)
