"""Per-frame labelling of real-valued sequences (synchronous many-to-many): one label per step.

    x (B, T, F), lengths (B,) -> linear input projection (B, T, P)
        -> (bi)directional recurrent encoder (B, T, D*H) -> dropout -> linear (B, T, K)

Cross-entropy over the valid steps only; the CSV long-form reader supplies per-step labels
(``read_series(..., step_label_col=...)``). Training goes through the one loop with
:class:`FrameTagTask`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import derived, section
from ...data.batching import BucketBatcher, eval_batches
from ...train.device import device_of, to_device
from ...train.task import StepOutput, Task
from ..common.encoder import EncoderConfig, build_encoder
from ..common.pooling import step_mask
from .data import pad_series
from .models import _Projection


@dataclass
class FrameTaggerConfig:
    input_size: int = derived(0)  # F, set from the data
    num_labels: int = derived(0)  # K, set from the labels
    proj: int = 32  # P, input projection size (0: feed the F features to the encoder)
    encoder: EncoderConfig = section(lambda: EncoderConfig(hidden=64, bidirectional=True),
                                     prefix="")
    out_dropout: float = 0.1  # dropout on the encoder outputs before the output layer

    def validate(self) -> None:
        if self.input_size < 1 or self.num_labels < 2:
            raise ValueError(f"need input_size >= 1 and num_labels >= 2, got "
                             f"{self.input_size} and {self.num_labels}")


class FrameTagger(nn.Module):
    """``forward(x (B, T, F), lengths (B,)) -> logits (B, T, K)``."""

    def __init__(self, cfg: FrameTaggerConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.proj = _Projection(cfg.input_size, cfg.proj, 0.0)
        self.encoder = build_encoder(cfg.encoder, self.proj.size)
        D = 2 if cfg.encoder.bidirectional else 1
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        self.output = nn.Linear(D * cfg.encoder.hidden, cfg.num_labels)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        out, _ = self.encoder(self.proj(x), lengths=lengths)  # (B, T, D*H)
        return self.output(self.out_dropout(out))  # (B, T, K)


def _pad_labels(labels: Sequence[Sequence[int]], T: int) -> Tensor:
    y = torch.zeros(len(labels), T, dtype=torch.long)
    for b, s in enumerate(labels):
        y[b, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return y


@torch.no_grad()
def predict_frames(model: FrameTagger, seqs: Sequence[np.ndarray],
                   batch_size: int = 128) -> list[list[int]]:
    """The most likely label of every step of every series, in the order of ``seqs``."""
    was_training = model.training
    model.eval()
    out: list[list[int]] = [[] for _ in seqs]
    for idx in eval_batches([len(s) for s in seqs], batch_size):
        x, lengths = pad_series([seqs[i] for i in idx])
        pred = model(*to_device((x, lengths), device_of(model))).argmax(2).cpu()  # (B, T)
        for b, i in enumerate(idx):
            out[i] = pred[b, : int(lengths[b])].tolist()
    model.train(was_training)
    return out


class FrameTagTask(Task):
    """Series with one label per step for :class:`FrameTagger`; per-step cross-entropy."""

    items_name = "steps"

    def __init__(self, train: Sequence[np.ndarray], train_labels: Sequence[Sequence[int]],
                 dev: Sequence[np.ndarray], dev_labels: Sequence[Sequence[int]],
                 batch_size: int = 32, seed: int = 0):
        for xs, ys in ((train, train_labels), (dev, dev_labels)):
            for k, (x, y) in enumerate(zip(xs, ys)):
                if len(x) != len(y):
                    raise ValueError(f"series {k} has {len(x)} steps but {len(y)} labels")
        self.train, self.train_labels = list(train), list(train_labels)
        self.dev, self.dev_labels = list(dev), list(dev_labels)
        self.batcher = BucketBatcher([len(s) for s in self.train], batch_size, seed)

    def _loss(self, model: FrameTagger, xs, ys) -> tuple[Tensor, int]:
        x, lengths = pad_series(xs)
        y = _pad_labels(ys, x.shape[1])
        x, lengths, y = to_device((x, lengths, y), device_of(model))
        logits = model(x, lengths)  # (B, T, K)
        mask = step_mask(lengths, x.shape[1])  # (B, T)
        return F.cross_entropy(logits[mask], y[mask]), int(mask.sum())

    def train_step(self, model: FrameTagger) -> StepOutput:
        batch = next(self.batcher)
        idx = self.shard.split(batch)
        loss, n = self._loss(model, [self.train[i] for i in idx],
                             [self.train_labels[i] for i in idx])
        return StepOutput(loss, n, 1.0, self.batcher.epochs_done,
                          share=self.shard.weight(len(batch)))

    def evaluate(self, model: FrameTagger, max_items: int | None = None) -> dict:
        n = len(self.dev) if max_items is None else min(len(self.dev), max_items)
        total, steps = 0.0, 0
        for idx in eval_batches([len(s) for s in self.dev[:n]], 128):
            loss, k = self._loss(model, [self.dev[i] for i in idx],
                                 [self.dev_labels[i] for i in idx])
            total, steps = total + loss.item() * k, steps + k
        pred = predict_frames(model, self.dev[:n])
        correct = sum(p == g for ps, gs in zip(pred, self.dev_labels[:n])
                      for p, g in zip(ps, gs))
        return {"loss": total / max(steps, 1), "acc": correct / max(steps, 1)}

    def state_dict(self) -> dict:
        return {"batcher": self.batcher.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.batcher.load_state_dict(d["batcher"])
