"""Long time-lag problems: the adding problem and the copy (memory) task.

Both are synthetic: every batch is drawn fresh from a seeded ``torch.Generator``, and the test
set is drawn once from a generator of its own. They measure one thing, how far back a recurrent
net can carry information, and the memoryless baselines say what "learned nothing" looks like.

**Adding problem** (Hochreiter & Schmidhuber 1997; the form of Le, Jaitly & Hinton 2015): the
input is (B, T, 2); channel 0 holds values drawn uniformly from [0, 1], channel 1 is a marker
with exactly two ones, one in each half of the sequence (positions ``[0, T//2)`` and
``[T//2, T)``). The target is the sum of the two marked values. Predicting 1.0 always gives a
mean squared error of Var(u1 + u2) = 2/12 ~= 0.167.

**Copy task** (Arjovsky, Shah & Bengio 2016): symbols 1..8, blank 0, delimiter 9. The input
(length T + 20) is 10 random symbols, T - 1 blanks, the delimiter, 10 blanks; the target is
T + 10 blanks followed by the 10 symbols. Predicting blanks, then a uniform guess over the 8
symbols for the last 10 steps, gives a cross-entropy (averaged over all T + 20 steps) of
``10 log(8) / (T + 20)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import section
from ...train.device import device_of, to_device
from ...train.task import StepOutput, Task
from ..common.encoder import EncoderConfig, build_encoder

KINDS = ("adding", "copy")
COPY_LEN = 10  # symbols to remember
COPY_SYMBOLS = 8  # alphabet size
BLANK, DELIM = 0, COPY_SYMBOLS + 1
COPY_CLASSES = COPY_SYMBOLS + 2  # blank, 8 symbols, delimiter


def adding_problem(batch: int, T: int, generator: torch.Generator | None = None
                   ) -> tuple[Tensor, Tensor]:
    """``(x (B, T, 2), y (B,))``: values and a two-marker channel; the sum of the marked."""
    if T < 2:
        raise ValueError(f"the adding problem needs T >= 2, got {T}")
    values = torch.rand(batch, T, generator=generator)  # (B, T)
    half = T // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, T, (batch,), generator=generator)
    rows = torch.arange(batch)
    marker = torch.zeros(batch, T)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return torch.stack([values, marker], 2), y


def adding_baseline() -> float:
    """MSE of always predicting 1.0: the variance of the sum of two U(0, 1) values, 1/6."""
    return 2 / 12


def copy_task(batch: int, T: int, generator: torch.Generator | None = None
              ) -> tuple[Tensor, Tensor]:
    """``(x (B, T+20), y (B, T+20))`` of token ids (blank 0, symbols 1..8, delimiter 9)."""
    if T < 1:
        raise ValueError(f"the copy task needs a lag T >= 1, got {T}")
    n = COPY_LEN
    seq = torch.randint(1, COPY_SYMBOLS + 1, (batch, n), generator=generator)
    x = torch.full((batch, T + 2 * n), BLANK, dtype=torch.long)
    x[:, :n] = seq
    x[:, n + T - 1] = DELIM
    y = torch.full_like(x, BLANK)
    y[:, T + n :] = seq
    return x, y


def copy_baseline(T: int) -> float:
    """Cross-entropy of the memoryless strategy: blanks, then uniform over the 8 symbols."""
    return COPY_LEN * math.log(COPY_SYMBOLS) / (T + 2 * COPY_LEN)


def make_batch(kind: str, batch: int, T: int, generator: torch.Generator | None = None):
    if kind == "adding":
        return adding_problem(batch, T, generator)
    if kind == "copy":
        return copy_task(batch, T, generator)
    raise ValueError(f"task must be one of {KINDS}, got {kind!r}")


def baseline(kind: str, T: int) -> float:
    return adding_baseline() if kind == "adding" else copy_baseline(T)


@dataclass
class LongLagConfig:
    task: Literal["adding", "copy"] = "adding"  # the problem
    T: int = 100  # adding: sequence length; copy: blanks between the symbols and their recall
    batch_size: int = 64  # B, sequences per training step (drawn fresh every step)
    eval_size: int = 1000  # sequences in the fixed test set
    encoder: EncoderConfig = section(lambda: EncoderConfig(hidden=128), prefix="")

    def validate(self) -> None:
        if self.task not in KINDS:
            raise ValueError(f"task must be one of {KINDS}, got {self.task!r}")
        if self.T < (2 if self.task == "adding" else 1):
            raise ValueError(f"T is too small for the {self.task} task: {self.T}")
        if self.batch_size < 1 or self.eval_size < 1:
            raise ValueError("batch_size and eval_size must be >= 1")
        if self.encoder.bidirectional:
            raise ValueError("long-lag tasks read left to right: bidirectional is not allowed")
        self.encoder.validate()


class LongLagModel(nn.Module):
    """Recurrent encoder + linear head.

    adding: ``x (B, T, 2) -> prediction (B,)`` read from the last step's output;
    copy: ``x (B, T+20) ids -> logits (B, T+20, 10)`` at every step (inputs one-hot).
    """

    def __init__(self, kind: str, encoder: EncoderConfig):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"task must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        inputs, outputs = (2, 1) if kind == "adding" else (COPY_CLASSES, COPY_CLASSES)
        self.encoder = build_encoder(encoder, inputs)
        self.head = nn.Linear(encoder.hidden, outputs)

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "adding":
            out, _ = self.encoder(x)  # (B, T, H)
            return self.head(out[:, -1]).squeeze(1)  # (B,)
        one_hot = F.one_hot(x, COPY_CLASSES).to(self.head.weight.dtype)  # (B, T, 10)
        out, _ = self.encoder(one_hot)
        return self.head(out)  # (B, T, 10)


def longlag_loss(kind: str, out: Tensor, y: Tensor) -> Tensor:
    """MSE (adding) or cross-entropy averaged over all steps (copy)."""
    if kind == "adding":
        return F.mse_loss(out, y)
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


class LongLagTask(Task):
    """The training loop's view of a long-lag problem: fresh batches, a fixed test set.

    Metrics: ``loss`` (test MSE or cross-entropy), ``baseline`` (the memoryless strategy's),
    and for the copy task ``acc``, the fraction of the 10 recalled symbols predicted right.
    The data are unlimited, so epochs are not defined: budget by steps or minutes.
    """

    items_name = "sequences"

    def __init__(self, cfg: LongLagConfig, seed: int = 0):
        cfg.validate()
        self.cfg = cfg
        self.gen = torch.Generator().manual_seed(seed)
        # A separate stream for the test set: it never overlaps the training batches' draws.
        test_gen = torch.Generator().manual_seed(seed + 1_000_003)
        self.test = make_batch(cfg.task, cfg.eval_size, cfg.T, test_gen)
        self.drawn = 0

    def train_step(self, model: nn.Module) -> StepOutput:
        x, y = make_batch(self.cfg.task, self.cfg.batch_size, self.cfg.T, self.gen)
        self.drawn += 1
        x, y = to_device((self.shard.rows(x), self.shard.rows(y)), device_of(model))
        return StepOutput(longlag_loss(self.cfg.task, model(x), y), len(x),
                          share=1 / self.shard.world)

    def check_shard(self, shard) -> None:
        if self.cfg.batch_size % shard.world:
            raise ValueError(f"--batch-size {self.cfg.batch_size} cannot be shared by "
                             f"{shard.world} processes: make it a multiple of {shard.world}")

    def held_batch(self, n: int = 64) -> tuple[Tensor, Tensor]:
        """The first ``n`` test sequences (for diagnostics)."""
        x, y = self.test
        return x[:n], y[:n]

    @torch.no_grad()
    def evaluate(self, model: nn.Module, max_items: int | None = None) -> dict[str, float]:
        x, y = self.test
        n = len(x) if max_items is None else max(1, min(len(x), max_items))
        total, correct = 0.0, 0
        dev = device_of(model)
        for a in range(0, n, 500):
            out = model(x[a : min(n, a + 500)].to(dev)).cpu()
            t = y[a : min(n, a + 500)]
            total += float(longlag_loss(self.cfg.task, out, t)) * len(t)
            if self.cfg.task == "copy":
                pred = out[:, -COPY_LEN:].argmax(-1)
                correct += int((pred == t[:, -COPY_LEN:]).sum())
        metrics = {"loss": total / n, "baseline": baseline(self.cfg.task, self.cfg.T)}
        if self.cfg.task == "copy":
            metrics["acc"] = correct / (n * COPY_LEN)
        return metrics

    def state_dict(self) -> dict:
        return {"generator": self.gen.get_state(), "drawn": self.drawn}

    def load_state_dict(self, d: dict) -> None:
        self.gen.set_state(d["generator"])
        self.drawn = int(d["drawn"])
