"""The forecaster's training data: sliding (context, horizon) windows of the series, and the
training task over them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from ...data.batching import BucketBatcher
from ...train.device import device_of, to_device
from ...train.task import StepOutput, Task
from .forecaster import Forecaster


def windows(series: Sequence[np.ndarray], context: int, horizon: int,
            target_from: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Every (context (C, F), next horizon (H, F)) pair of every series whose first target
    step is at index >= ``target_from``; returns (N, C, F), (N, H, F)."""
    xs, ys = [], []
    for s in series:
        for t in range(max(context, target_from), len(s) - horizon + 1):
            xs.append(s[t - context : t])
            ys.append(s[t : t + horizon])
    K = series[0].shape[1] if len(series) else 1
    if not xs:
        return np.zeros((0, context, K), np.float32), np.zeros((0, horizon, K), np.float32)
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)


class ForecastTask(Task):
    """Windows ``x (N, C, K+X)`` and the next H rows ``y (N, H, K+X)`` for
    :class:`Forecaster` (K targets, then X known covariates). Direct: the H steps from the
    context and the future covariates. Autoregressive: the C+H rows teacher-forced, scored on
    the one-step-ahead predictions of the last H steps (their window-mean level comes from
    the first C rows, as when forecasting). Loss: ``loss`` (mse | mae) on the normalised
    values for a point output, else the Gaussian NLL or the pinball loss; the validation also
    reports the MAE of the point forecast."""

    items_name = "windows"

    def __init__(self, x: np.ndarray, y: np.ndarray, dev_x: np.ndarray, dev_y: np.ndarray,
                 batch_size: int = 32, seed: int = 0, loss: str = "mse"):
        if len(x) == 0:
            raise ValueError("no training windows: the series are shorter than context + "
                             "horizon")
        if loss not in ("mse", "mae"):
            raise ValueError(f"loss must be mse or mae, got {loss!r}")
        self.x, self.y = torch.as_tensor(x), torch.as_tensor(y)
        self.dev_x, self.dev_y = torch.as_tensor(dev_x), torch.as_tensor(dev_y)
        self.loss = loss
        self.batcher = BucketBatcher([1] * len(x), batch_size, seed)

    @staticmethod
    def predict(model: Forecaster, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(parameters (N, H, K, Q), targets (N, H, K)) of windows ``x``, ``y``."""
        K = model.cfg.num_targets
        if not model.autoregressive:
            return model(x, y[..., K:] if model.cfg.num_covariates else None), y[..., :K]
        rows = torch.cat([x, y], 1)  # (N, C+H, K+X)
        fut = rows[:, -1:, K:] if model.cfg.num_covariates else None
        return model(rows[:, :-1], fut)[:, x.size(1) - 1 :], y[..., :K]

    def train_step(self, model: Forecaster) -> StepOutput:
        batch = next(self.batcher)
        idx = torch.as_tensor(self.shard.split(batch))
        x, y = to_device((self.x[idx], self.y[idx]), device_of(model))
        params, y = self.predict(model, x, y)
        return StepOutput(model.criterion(params, y, self.loss), len(idx), 1.0,
                          self.batcher.epochs_done, share=self.shard.weight(len(batch)))

    def evaluate(self, model: Forecaster, max_items: int | None = None) -> dict:
        if len(self.dev_x) == 0:  # nothing held out: score the training windows
            x, y = self.x, self.y
        else:
            x, y = self.dev_x, self.dev_y
        n = len(x) if max_items is None else min(len(x), max_items)
        params, y = self.predict(model, *to_device((x[:n], y[:n]), device_of(model)))
        return {"loss": model.criterion(params, y, self.loss).item(),
                "mae": (model.point(params) - y).abs().mean().item()}

    def state_dict(self) -> dict:
        return {"batcher": self.batcher.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.batcher.load_state_dict(d["batcher"])
