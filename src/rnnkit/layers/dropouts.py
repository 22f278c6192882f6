"""Dropout around a recurrent layer: locked (variational) dropout and embedding dropout.

Both are modules with one probability each (``dropout``, ``embed_dropout``), checked to lie in
[0, 1); in eval mode, or with probability 0, both return exactly their input (the embedding's
own lookup). In training, what is kept is rescaled by ``1 / (1 - p)`` so that the expectation is
the input. They act outside the recurrence, so the layer keeps its fast backends.
"""

from __future__ import annotations

import math
import numbers

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["LockedDropout", "EmbeddingDropout", "check_dropout"]


def check_dropout(name: str, p) -> float:
    """``p`` as a float in [0, 1), or a ValueError that names the argument."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} must be a probability in [0, 1), got {p!r}")
    p = float(p)
    if not (0.0 <= p < 1.0) or math.isnan(p):
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return p


def keep_mask(like: Tensor, shape, p: float) -> Tensor:
    """A Bernoulli(1 - p) mask of ``shape`` scaled by 1 / (1 - p), in ``like``'s dtype."""
    q = 1.0 - p
    return like.new_empty(shape).bernoulli_(q).div_(q)


class LockedDropout(nn.Module):
    """Variational ("locked") dropout (Gal & Ghahramani 2016; Merity et al. 2017): one mask per
    sequence and feature, the same at every time step.

    ``forward(x (B, T, F)) -> (B, T, F)``: in training ``x * m`` with ``m`` of shape (B, 1, F),
    each entry 0 with probability ``dropout`` and ``1 / (1 - dropout)`` otherwise; in eval mode
    ``x`` itself. A new mask is drawn at every call.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> drop = LockedDropout(0.5)
    >>> y = drop(torch.ones(2, 4, 3))
    >>> bool((y == y[:, :1]).all()), sorted(set(y.flatten().tolist()))  # constant over time
    (True, [0.0, 2.0])
    >>> x = torch.randn(2, 4, 3)
    >>> drop.eval()(x) is x
    True
    """

    def __init__(self, dropout: float = 0.5):
        super().__init__()
        self.dropout = check_dropout("dropout", dropout)

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}"

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"LockedDropout expects x of shape (B, T, F), got {shape}")
        if not self.training or self.dropout == 0.0:
            return x
        return x * keep_mask(x, (x.shape[0], 1, x.shape[2]), self.dropout)


class EmbeddingDropout(nn.Module):
    """Embedding dropout (Gal & Ghahramani 2016, as used by Merity et al. 2017): drop whole
    words, i.e. rows of the embedding matrix, the same rows for every occurrence in the batch.

    Wraps an ``nn.Embedding``: ``forward(tokens (B, T)) -> (B, T, E)``. In training each row of
    the matrix is zeroed with probability ``embed_dropout`` (one mask per call) and the kept
    rows are scaled by ``1 / (1 - embed_dropout)``; in eval mode it is the embedding itself.
    The embedding's ``padding_idx``, ``max_norm``... are honoured. ``weight`` is the wrapped
    embedding's parameter (tie a decoder to it).

    State dict: the keys are the embedding's own (``weight``, not ``embedding.weight``), so a
    model that wraps its embedding loads the checkpoints of one that does not, and back.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> emb = nn.Embedding(10, 3)
    >>> drop = EmbeddingDropout(emb, embed_dropout=0.5)
    >>> tokens = torch.tensor([[1, 1, 2, 2]])
    >>> y = drop(tokens)
    >>> torch.equal(y[0, 0], y[0, 1]), list(drop.state_dict())  # one word, one fate
    (True, ['weight'])
    >>> torch.equal(drop.eval()(tokens), emb(tokens))
    True
    """

    def __init__(self, embedding: nn.Embedding, embed_dropout: float = 0.1):
        super().__init__()
        if not isinstance(embedding, nn.Embedding):
            raise TypeError(f"EmbeddingDropout wraps an nn.Embedding, got {type(embedding)!r}")
        self.embedding = embedding
        self.embed_dropout = check_dropout("embed_dropout", embed_dropout)
        hide_child_in_state_dict(self, "embedding")

    @property
    def weight(self) -> nn.Parameter:
        return self.embedding.weight

    def extra_repr(self) -> str:
        return f"embed_dropout={self.embed_dropout}"

    def forward(self, tokens: Tensor) -> Tensor:
        e = self.embedding
        if not self.training or self.embed_dropout == 0.0:
            return e(tokens)
        weight = e.weight * keep_mask(e.weight, (e.weight.shape[0], 1), self.embed_dropout)
        return F.embedding(tokens, weight, e.padding_idx, e.max_norm, e.norm_type,
                           e.scale_grad_by_freq, e.sparse)


# State dicts that do not show the wrapper ----------------------------------------------------
def hide_child_in_state_dict(module: nn.Module, child: str) -> None:
    """Save ``module``'s state dict under ``child``'s own keys (``weight``, not
    ``child.weight``) and load either form: a wrapper is then invisible in checkpoints."""
    object.__setattr__(module, "_state_child", child)
    module.register_state_dict_post_hook(_strip_child)
    module.register_load_state_dict_pre_hook(_add_child)


def _strip_child(module, state_dict, prefix, local_metadata):
    inner = prefix + module._state_child + "."
    # The module's keys are the last ones saved: re-inserting them keeps their order.
    for key in [k for k in state_dict if k.startswith(inner)]:
        state_dict[prefix + key[len(inner) :]] = state_dict.pop(key)


def _add_child(module, state_dict, prefix, *args):
    inner = prefix + module._state_child + "."
    for key in [k for k in state_dict if k.startswith(prefix) and not k.startswith(inner)]:
        state_dict[inner + key[len(prefix) :]] = state_dict.pop(key)
