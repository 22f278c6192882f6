"""A linear-chain conditional random field over per-step emission scores, masked by lengths.

For tags :math:`y_1..y_n` of a sentence of n words with emissions :math:`e_t` (K scores):

.. math::
    s(y) = \\text{start}_{y_1} + \\sum_{t=1}^{n} e_t[y_t]
           + \\sum_{t=2}^{n} A[y_{t-1}, y_t] + \\text{end}_{y_n},
    \\qquad p(y) = \\exp(s(y)) / Z, \\quad Z = \\sum_{y'} \\exp(s(y'))

``log Z`` comes from the forward algorithm
(:math:`\\alpha_t = \\text{logsumexp}_i(\\alpha_{t-1}[i] + A[i, :]) + e_t`), the best path from
Viterbi (the same recursion with max, and back-pointers). Steps past a row's length leave
:math:`\\alpha` unchanged, so padding never contributes.

The loops over time here are over tag scores, not a recurrent layer: the encoder's single time
loop stays in :class:`rnnkit.Recurrent`.

Shapes: emissions (B, T, K), tags (B, T), lengths (B,) with 1 <= length <= T.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CRF(nn.Module):
    """Transition scores ``transitions[i, j]`` (from tag i to tag j), ``start`` and ``end``
    scores; all (K, K) / (K,) parameters initialised uniform in [-0.1, 0.1]."""

    def __init__(self, num_tags: int):
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        self.start = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))

    def _check(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        if emissions.dim() != 3 or emissions.shape[2] != self.num_tags:
            raise ValueError(f"emissions must be (B, T, K={self.num_tags}), got "
                             f"{tuple(emissions.shape)}")
        lengths = torch.as_tensor(lengths, device=emissions.device)
        if lengths.shape != (emissions.shape[0],) or int(lengths.min()) < 1 or int(
                lengths.max()) > emissions.shape[1]:
            raise ValueError(f"lengths must be (B,) in [1, T={emissions.shape[1]}], got "
                             f"{lengths.tolist()}")
        return lengths

    def log_partition(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """log Z per sentence, (B,)."""
        lengths = self._check(emissions, lengths)
        alpha = self.start + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha = torch.where((t < lengths).unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def score(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """s(y) of the given tag sequences, (B,)."""
        lengths = self._check(emissions, lengths)
        B, T, _ = emissions.shape
        mask = (torch.arange(T, device=emissions.device) < lengths.unsqueeze(1)).to(
            emissions.dtype)  # (B, T)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return (self.start[tags[:, 0]] + (emit * mask).sum(1) + (trans * mask[:, 1:]).sum(1)
                + self.end[last])

    def nll(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """Negative log-likelihood ``log Z - s(y)`` per sentence, (B,)."""
        return self.log_partition(emissions, lengths) - self.score(emissions, tags, lengths)

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """The Viterbi path, (B, T) tag ids (0 past each row's length)."""
        lengths = self._check(emissions, lengths)
        B, T, K = emissions.shape
        score = self.start + emissions[:, 0]  # (B, K)
        keep = torch.arange(K, device=emissions.device).expand(B, K)
        pointers = []
        for t in range(1, T):
            best, idx = (score.unsqueeze(2) + self.transitions).max(dim=1)  # (B, K)
            live = (t < lengths).unsqueeze(1)
            score = torch.where(live, best + emissions[:, t], score)
            pointers.append(torch.where(live, idx, keep))  # padded steps point to themselves
        tag = (score + self.end).argmax(1)  # (B,)
        path = [tag]
        for idx in reversed(pointers):
            tag = idx.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        out = torch.stack(path[::-1], dim=1)  # (B, T)
        return out * (torch.arange(T, device=out.device) < lengths.unsqueeze(1))
