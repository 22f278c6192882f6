"""Many-to-one: turn a recurrent layer's per-step outputs into one vector per sequence.

Every pooling respects ``lengths``: padded steps never contribute, so a sequence gives the same
vector however much padding its batch adds.

* ``last``: the output at each row's own last step for the forward direction, and the reverse
  direction's output at step 0 (its own last step, having read the sequence backwards). These
  are the top layer's final hidden states.
* ``mean``: the average over the valid steps.
* ``max``: the element-wise maximum over the valid steps.
* ``attention``: :math:`a_t = \\text{softmax}_t(v^\\top \\tanh(W o_t + b))` over the valid
  steps, :math:`\\sum_t a_t o_t`.

Shapes: outputs (B, T, D*H), lengths (B,) -> (B, D*H).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

POOLINGS = ("last", "mean", "max", "attention")


def step_mask(lengths: Tensor, T: int) -> Tensor:
    """(B, T) bool, True at the valid steps."""
    return torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def last_outputs(outputs: Tensor, lengths: Tensor, num_directions: int) -> Tensor:
    """Each row's final output in every direction (see the module docstring), (B, D*H)."""
    B = outputs.shape[0]
    rows = torch.arange(B, device=outputs.device)
    fwd = outputs[rows, lengths - 1]  # (B, D*H)
    if num_directions == 1:
        return fwd
    H = outputs.shape[2] // 2
    return torch.cat([fwd[:, :H], outputs[:, 0, H:]], dim=1)


class Pooling(nn.Module):
    """``forward(outputs (B, T, D*H), lengths (B,)) -> (B, D*H)``."""

    def __init__(self, mode: str, size: int, num_directions: int, attention_size: int = 64):
        super().__init__()
        if mode not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {mode!r}")
        self.mode, self.num_directions = mode, num_directions
        if mode == "attention":
            self.attn = nn.Sequential(nn.Linear(size, attention_size), nn.Tanh(),
                                      nn.Linear(attention_size, 1, bias=False))

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"

    def weights(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        """Attention weights (B, T), zero past each length (``attention`` pooling only)."""
        mask = step_mask(lengths, outputs.shape[1])
        scores = self.attn(outputs).squeeze(2).masked_fill(~mask, float("-inf"))  # (B, T)
        return torch.softmax(scores, dim=1)

    def forward(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        lengths = lengths.to(outputs.device)
        if self.mode == "last":
            return last_outputs(outputs, lengths, self.num_directions)
        mask = step_mask(lengths, outputs.shape[1]).unsqueeze(2)  # (B, T, 1)
        if self.mode == "mean":
            total = outputs.masked_fill(~mask, 0.0).sum(1)
            return total / lengths.unsqueeze(1).to(outputs.dtype)
        if self.mode == "max":
            return outputs.masked_fill(~mask, float("-inf")).max(1).values
        a = self.weights(outputs, lengths)  # (B, T)
        return torch.bmm(a.unsqueeze(1), outputs).squeeze(1)
