"""Heads over real-valued sequences (B, T, F): classification and regression.

Sequence classifier / regressor (many-to-one)::

    x (B, T, F), lengths (B,) -> linear input projection (B, T, P) -> dropout
        -> (bi)directional recurrent encoder (B, T, D*H) -> pooling over valid steps (B, D*H)
        -> dropout -> linear (B, C)  (C classes, or C regression targets)

Training runs through the one loop (:class:`rnnkit.train.loop.Trainer`) with
:class:`SeriesClassifyTask` and :class:`SeriesRegressTask`; the forecaster is in
:mod:`.forecaster`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import derived, section
from ...data.batching import BucketBatcher, eval_batches
from ...train.device import device_of, to_device
from ...train.task import StepOutput, Task
from ..common.encoder import EncoderConfig, build_encoder
from ..common.metrics import classification_report
from ..common.pooling import POOLINGS, Pooling
from .data import pad_series
from .rocket import RocketConfig


def _encoder_defaults() -> EncoderConfig:
    return EncoderConfig(hidden=64, bidirectional=True)


@dataclass
class SeriesModelConfig:
    input_size: int = derived(0)  # F, set from the data
    num_outputs: int = derived(0)  # C, classes (or regression targets), set from the data
    proj: int = 32  # P, input projection size (0: feed the F features to the encoder)
    encoder: EncoderConfig = section(_encoder_defaults, prefix="")
    pooling: Literal["last", "mean", "max", "attention"] = "max"  # over the valid steps only
    attention_size: int = 32  # hidden size of the attention scorer
    in_dropout: float = 0.0  # dropout on the projected inputs
    out_dropout: float = 0.2  # dropout on the pooled vector before the output layer
    rocket: RocketConfig = section(RocketConfig, prefix="rocket")  # the random-feature branch

    def validate(self) -> None:
        self.rocket.validate()
        if self.input_size < 1 or self.num_outputs < 1:
            raise ValueError(f"need input_size and num_outputs >= 1, got {self.input_size} "
                             f"and {self.num_outputs}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")


class _Projection(nn.Module):
    def __init__(self, input_size: int, proj: int, dropout: float):
        super().__init__()
        self.size = proj or input_size
        self.linear = nn.Linear(input_size, proj) if proj else nn.Identity()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.linear(x))  # (B, T, P)


class SeriesClassifier(nn.Module):
    """``forward(x (B, T, F), lengths (B,)) -> (B, C)``: logits, or regression outputs."""

    def __init__(self, cfg: SeriesModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.proj = _Projection(cfg.input_size, cfg.proj, cfg.in_dropout)
        self.encoder = build_encoder(cfg.encoder, self.proj.size)
        D = 2 if cfg.encoder.bidirectional else 1
        self.pooling = Pooling(cfg.pooling, D * cfg.encoder.hidden, D, cfg.attention_size)
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        self.output = nn.Linear(D * cfg.encoder.hidden, cfg.num_outputs)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        out, _ = self.encoder(self.proj(x), lengths=lengths)  # (B, T, D*H)
        return self.output(self.out_dropout(self.pooling(out, lengths)))  # (B, C)


@torch.no_grad()
def predict_series(model: nn.Module, seqs: Sequence[np.ndarray], batch_size: int = 128,
                   softmax: bool = True) -> Tensor:
    """Outputs (N, C) in the order of ``seqs``: class probabilities, or raw regression values."""
    was_training = model.training
    model.eval()
    out = torch.empty(len(seqs), model.cfg.num_outputs)
    dev = device_of(model)
    for idx in eval_batches([len(s) for s in seqs], batch_size):
        y = model(*to_device(pad_series([seqs[i] for i in idx]), dev)).float().cpu()
        out[idx] = torch.softmax(y, dim=1) if softmax else y
    model.train(was_training)
    return out


class SeriesClassifyTask(Task):
    """Labelled series for :class:`SeriesClassifier`, cross-entropy, through the one loop."""

    items_name = "series"

    def __init__(self, train: Sequence[np.ndarray], train_labels: Sequence[int],
                 dev: Sequence[np.ndarray], dev_labels: Sequence[int],
                 label_names: Sequence[str], batch_size: int = 32, seed: int = 0):
        self.train, self.train_labels = list(train), torch.as_tensor(list(train_labels))
        self.dev, self.dev_labels = list(dev), list(dev_labels)
        self.label_names = list(label_names)
        self.batcher = BucketBatcher([len(s) for s in self.train], batch_size, seed)

    def train_step(self, model: SeriesClassifier) -> StepOutput:
        batch = next(self.batcher)
        idx = self.shard.split(batch)
        dev = device_of(model)
        logits = model(*to_device(pad_series([self.train[i] for i in idx]), dev))  # (B, C)
        loss = F.cross_entropy(logits, self.train_labels[idx].to(dev))
        return StepOutput(loss, len(idx), 1.0, self.batcher.epochs_done,
                          share=self.shard.weight(len(batch)))

    def evaluate(self, model: SeriesClassifier, max_items: int | None = None) -> dict:
        n = len(self.dev) if max_items is None else min(len(self.dev), max_items)
        probs = predict_series(model, self.dev[:n])
        gold = torch.as_tensor(self.dev_labels[:n])
        loss = F.nll_loss(probs.clamp_min(1e-12).log(), gold).item()
        report = classification_report(gold.tolist(), probs.argmax(1).tolist(), self.label_names)
        return {"loss": loss, "acc": report["accuracy"], "macro_f1": report["macro_f1"]}

    def state_dict(self) -> dict:
        return {"batcher": self.batcher.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.batcher.load_state_dict(d["batcher"])


class SeriesRegressTask(SeriesClassifyTask):
    """Series with real-valued targets (N, C) for :class:`SeriesClassifier`; mean squared
    error (reported with MAE)."""

    def __init__(self, train: Sequence[np.ndarray], train_y: np.ndarray,
                 dev: Sequence[np.ndarray], dev_y: np.ndarray, batch_size: int = 32,
                 seed: int = 0):
        self.train, self.dev = list(train), list(dev)
        self.train_y = torch.as_tensor(np.asarray(train_y, dtype=np.float32)).view(len(train), -1)
        self.dev_y = torch.as_tensor(np.asarray(dev_y, dtype=np.float32)).view(len(dev), -1)
        self.batcher = BucketBatcher([len(s) for s in self.train], batch_size, seed)

    def train_step(self, model: SeriesClassifier) -> StepOutput:
        batch = next(self.batcher)
        idx = self.shard.split(batch)
        dev = device_of(model)
        y = model(*to_device(pad_series([self.train[i] for i in idx]), dev))  # (B, C)
        return StepOutput(F.mse_loss(y, self.train_y[idx].to(dev)), len(idx), 1.0,
                          self.batcher.epochs_done, share=self.shard.weight(len(batch)))

    def evaluate(self, model: SeriesClassifier, max_items: int | None = None) -> dict:
        n = len(self.dev) if max_items is None else min(len(self.dev), max_items)
        y = predict_series(model, self.dev[:n], softmax=False)
        gold = self.dev_y[:n]
        return {"loss": F.mse_loss(y, gold).item(), "mae": (y - gold).abs().mean().item()}
