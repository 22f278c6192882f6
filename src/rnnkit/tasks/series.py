"""Heads over real-valued sequences (B, T, F): classification, regression, forecasting.

Sequence classifier / regressor (many-to-one)::

    x (B, T, F), lengths (B,) -> linear input projection (B, T, P) -> dropout
        -> (bi)directional recurrent encoder (B, T, D*H) -> pooling over valid steps (B, D*H)
        -> dropout -> linear (B, C)  (C classes, or C regression targets)

Forecaster, direct multi-output (K targets, X known covariates, Q distribution parameters)::

    context (B, C, K+X) -> targets minus their window mean (window_norm) -> projection (B, C, P)
        -> encoder (B, C, D*H) -> last step (B, D*H) ++ future covariates (B, H*X)
        -> linear (B, H*K*Q) -> (B, H, K, Q) + one shared linear map of each future step's
        covariates (B, H, X) -> (B, H, K, Q); location + mean

Forecaster, autoregressive (one step ahead, rolled out through :func:`rnnkit.decode.rollout`)::

    rows (B, L, K+X) -> step t reads its targets and the covariates of step t+1
        -> projection -> encoder (B, L, H) -> linear per step (B, L, K, Q): step t+1

Training runs through the one loop (:class:`rnnkit.train.loop.Trainer`) with
:class:`SeriesClassifyTask`, :class:`SeriesRegressTask` and :class:`ForecastTask`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.batching import BucketBatcher, eval_batches
from ..decode import rollout
from ..train.task import StepOutput, Task
from .encoder import EncoderConfig, build_encoder
from .metrics import classification_report
from .pooling import POOLINGS, Pooling, last_outputs


def pad_series(seqs: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """``(x (B, T, F) float32, lengths (B,))``, zero past each length."""
    if len(seqs) == 0 or min(len(s) for s in seqs) < 1:
        raise ValueError("pad_series() needs at least one series, each of length >= 1")
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    x = torch.zeros(len(seqs), int(lengths.max()), seqs[0].shape[1])
    for b, s in enumerate(seqs):
        x[b, : len(s)] = torch.as_tensor(np.asarray(s, dtype=np.float32))
    return x, lengths


def _encoder_defaults() -> EncoderConfig:
    return EncoderConfig(hidden=64, bidirectional=True)


@dataclass
class SeriesModelConfig:
    input_size: int = 0  # F, set from the data
    num_outputs: int = 0  # C, classes (or regression targets), set from the data
    proj: int = 32  # P, input projection size (0: feed the F features to the encoder)
    encoder: EncoderConfig = field(default_factory=_encoder_defaults)
    pooling: str = "max"  # last | mean | max | attention (over the valid steps only)
    attention_size: int = 32  # hidden size of the attention scorer
    in_dropout: float = 0.0  # dropout on the projected inputs
    out_dropout: float = 0.2  # dropout on the pooled vector before the output layer

    def validate(self) -> None:
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
    for idx in eval_batches([len(s) for s in seqs], batch_size):
        y = model(*pad_series([seqs[i] for i in idx])).float()
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
        idx = next(self.batcher)
        logits = model(*pad_series([self.train[i] for i in idx]))  # (B, C)
        loss = F.cross_entropy(logits, self.train_labels[idx])
        return StepOutput(loss, len(idx), 1.0, self.batcher.epochs_done)

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
        idx = next(self.batcher)
        y = model(*pad_series([self.train[i] for i in idx]))  # (B, C)
        return StepOutput(F.mse_loss(y, self.train_y[idx]), len(idx), 1.0,
                          self.batcher.epochs_done)

    def evaluate(self, model: SeriesClassifier, max_items: int | None = None) -> dict:
        n = len(self.dev) if max_items is None else min(len(self.dev), max_items)
        y = predict_series(model, self.dev[:n], softmax=False)
        gold = self.dev_y[:n]
        return {"loss": F.mse_loss(y, gold).item(), "mae": (y - gold).abs().mean().item()}


# Forecasting ---------------------------------------------------------------------------------

STRATEGIES = ("direct", "autoregressive")
OUTPUTS = ("point", "gaussian", "quantile")
MIN_STD = 1e-3  # floor of the gaussian output's scale (normalised units)


def quantile_levels(spec: str) -> list[float]:
    """The quantile levels of ``spec`` ("0.1,0.9"), sorted, with 0.5 (the point forecast)
    added when missing; each must lie strictly between 0 and 1."""
    levels = set()
    for tok in str(spec).split(","):
        tok = tok.strip()
        if not tok:
            continue
        try:
            q = float(tok)
        except ValueError:
            raise ValueError(f"quantiles must be numbers separated by commas, got {tok!r}") \
                from None
        if not 0 < q < 1:
            raise ValueError(f"quantiles must lie strictly between 0 and 1, got {tok}")
        levels.add(q)
    levels.add(0.5)
    if len(levels) < 2:
        raise ValueError("give at least one quantile besides 0.5 (e.g. --quantiles 0.1,0.5,0.9)")
    return sorted(levels)


def gaussian_nll(y: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Mean negative log-likelihood of ``y`` under N(mean, std^2):
    :math:`\\frac12\\log 2\\pi + \\log\\sigma + (y - \\mu)^2 / 2\\sigma^2`, averaged."""
    return (0.5 * math.log(2 * math.pi) + std.log() + 0.5 * ((y - mean) / std) ** 2).mean()


def pinball_loss(y: Tensor, pred: Tensor, levels: Sequence[float]) -> Tensor:
    """Quantile (pinball) loss of predictions ``pred`` (..., Q) of the ``levels`` (Q,) for
    ``y`` (...): :math:`\\max(q u, (q - 1) u)` with :math:`u = y - \\hat y_q`, averaged over
    every element and level."""
    q = torch.as_tensor(list(levels), dtype=pred.dtype, device=pred.device)
    u = y.unsqueeze(-1) - pred
    return torch.maximum(q * u, (q - 1) * u).mean()


@dataclass
class ForecasterConfig:
    num_targets: int = 0  # K, series forecast jointly, set from the data
    num_covariates: int = 0  # X, known future covariates, set from the data
    context: int = 24  # C, steps the forecaster reads
    horizon: int = 12  # H, steps predicted at once (direct); the validation window either way
    strategy: str = "direct"  # direct (H steps at once) | autoregressive (next step, rolled out)
    output: str = "point"  # point | gaussian (mean and scale, NLL) | quantile (pinball loss)
    quantiles: str = "0.1,0.5,0.9"  # output quantile: levels in (0, 1); 0.5 is added if missing
    samples: int = 200  # autoregressive gaussian/quantile: sample paths (0: feed the point back)
    proj: int = 16  # P, input projection size (0: feed the values to the encoder)
    window_norm: bool = True  # subtract each context window's own mean (handles trends/levels)
    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(hidden=64))
    out_dropout: float = 0.0  # dropout on the last encoder output

    def check_options(self) -> None:
        """The options alone (before the data set the sizes)."""
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.output == "quantile":
            quantile_levels(self.quantiles)
        if self.samples < 0:
            raise ValueError(f"samples must be >= 0, got {self.samples}")
        if self.strategy == "autoregressive" and self.encoder.bidirectional:
            raise ValueError("an autoregressive forecaster reads the past only: it cannot be "
                             "bidirectional")
        if self.context < 1 or self.horizon < 1:
            raise ValueError(f"need context and horizon >= 1, got {self.context} and "
                             f"{self.horizon}")

    def validate(self) -> None:
        self.check_options()
        if self.num_targets < 1 or self.num_covariates < 0:
            raise ValueError(f"need num_targets >= 1 and num_covariates >= 0, got "
                             f"{self.num_targets} and {self.num_covariates}")


class Forecaster(nn.Module):
    """Rows ``x (B, L, K+X)``: K target values then X covariates per step. Returns the
    parameters ``(B, h, K, Q)`` of the forecast distribution of each step, in the data's
    (normalised) units: point (Q=1: the value), gaussian (Q=2: mean, standard deviation) or
    quantile (Q levels, ordered by construction: the lowest, then positive increments).

    * ``direct``: ``forward(context (B, C, K+X), future (B, H, X)) -> (B, H, K, Q)``, the next
      H steps at once; the H future covariate rows, flattened, join the last encoder output,
      and each step also adds one shared linear map of its own covariates.
    * ``autoregressive``: ``forward(rows (B, L, K+X), future (B, 1, X)) -> (B, L, K, Q)``:
      output t is the next step's (t+1) distribution; step t reads its targets and the
      covariates of step t+1 (``future`` holds those of the step after the last row).

    With ``window_norm`` the mean of the targets of the first C rows is subtracted from the
    targets and added back to the location (point, mean, quantiles).
    """

    def __init__(self, cfg: ForecasterConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        K, X, H = cfg.num_targets, cfg.num_covariates, cfg.horizon
        self.levels = quantile_levels(cfg.quantiles) if cfg.output == "quantile" else []
        self.num_params = {"point": 1, "gaussian": 2}.get(cfg.output, len(self.levels))
        self.proj = _Projection(K + X, cfg.proj, 0.0)
        self.encoder = build_encoder(cfg.encoder, self.proj.size)
        self.D = 2 if cfg.encoder.bidirectional else 1
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        size = self.D * cfg.encoder.hidden
        if cfg.strategy == "direct":
            self.output = nn.Linear(size + H * X, H * K * self.num_params)
            if X:  # the same map from each future step's covariates to that step
                self.cov_step = nn.Linear(X, K * self.num_params, bias=False)
        else:
            self.output = nn.Linear(size, K * self.num_params)

    @property
    def autoregressive(self) -> bool:
        return self.cfg.strategy == "autoregressive"

    @property
    def steps_per_call(self) -> int:
        """Steps one forward pass forecasts: H (direct) or 1 (autoregressive)."""
        return 1 if self.autoregressive else self.cfg.horizon

    def forward(self, x: Tensor, future: Tensor | None = None) -> Tensor:
        cfg = self.cfg
        B, L, F_ = x.shape
        K, X, H = cfg.num_targets, cfg.num_covariates, cfg.horizon
        if F_ != K + X:
            raise ValueError(f"the forecaster reads {K} targets and {X} covariates per step, "
                             f"got {F_} values")
        if X and future is None:
            raise ValueError(f"the forecaster needs the {X} future covariates of the steps "
                             "it forecasts")
        y = x[..., :K]
        level = (y[:, : cfg.context].mean(1, keepdim=True) if cfg.window_norm
                 else y.new_zeros(B, 1, K))
        lengths = torch.full((B,), L, dtype=torch.long, device=x.device)
        if self.autoregressive:
            cov = torch.cat([x[:, 1:, K:], future[:, :1]], 1) if X else x[..., K:]
            out, _ = self.encoder(self.proj(torch.cat([y - level, cov], -1)), lengths=lengths)
            raw = self.output(self.out_dropout(out)).view(B, L, K, self.num_params)
        else:
            out, _ = self.encoder(self.proj(torch.cat([y - level, x[..., K:]], -1)),
                                  lengths=lengths)  # (B, C, D*H)
            s = last_outputs(out, lengths, self.D)
            if X:
                if future.shape[1:] != (H, X):
                    raise ValueError(f"future covariates must be (B, {H}, {X}), got "
                                     f"{tuple(future.shape)}")
                s = torch.cat([s, future.reshape(B, H * X)], 1)
            raw = self.output(self.out_dropout(s)).view(B, H, K, self.num_params)
            if X:
                raw = raw + self.cov_step(future).view(B, H, K, self.num_params)
        return self._constrain(raw, level)

    def _constrain(self, raw: Tensor, level: Tensor) -> Tensor:
        if self.cfg.output == "point":
            return raw + level.unsqueeze(-1)
        if self.cfg.output == "gaussian":
            return torch.stack([raw[..., 0] + level, F.softplus(raw[..., 1]) + MIN_STD], -1)
        base = raw[..., :1]
        up = base + F.softplus(raw[..., 1:]).cumsum(-1)  # increments > 0: no crossing
        return torch.cat([base, up], -1) + level.unsqueeze(-1)

    def point(self, params: Tensor) -> Tensor:
        """The point forecast (..., K) of parameters (..., K, Q): the value, the mean, or the
        0.5 quantile."""
        j = self.levels.index(0.5) if self.cfg.output == "quantile" else 0
        return params[..., j]

    def criterion(self, params: Tensor, y: Tensor, point_loss: str = "mse") -> Tensor:
        """Training loss of parameters (..., K, Q) for values ``y`` (..., K): MSE or MAE
        (point), Gaussian negative log-likelihood, or the pinball loss over the levels."""
        if self.cfg.output == "point":
            return (F.mse_loss if point_loss == "mse" else F.l1_loss)(params[..., 0], y)
        if self.cfg.output == "gaussian":
            return gaussian_nll(y, params[..., 0], params[..., 1])
        return pinball_loss(y, params, self.levels)

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One draw (..., K) from the distribution ``params`` (..., K, Q): gaussian, or the
        piecewise-linear quantile function at a uniform level (flat beyond the outer levels);
        a point output returns its value."""
        if self.cfg.output == "point":
            return params[..., 0]
        shape = params.shape[:-1]
        if self.cfg.output == "gaussian":
            eps = torch.randn(shape, generator=generator).to(params)
            return params[..., 0] + params[..., 1] * eps
        lv = torch.as_tensor(self.levels, dtype=params.dtype, device=params.device)
        u = torch.rand(shape, generator=generator).to(params)
        j = torch.searchsorted(lv, u.contiguous()).clamp(1, len(self.levels) - 1)
        lo, hi = params.gather(-1, (j - 1).unsqueeze(-1))[..., 0], params.gather(
            -1, j.unsqueeze(-1))[..., 0]
        w = ((u - lv[j - 1]) / (lv[j] - lv[j - 1])).clamp(0, 1)
        return lo + w * (hi - lo)


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


def _future_rows(future: Tensor | None, start: int, h: int) -> Tensor | None:
    """Covariate rows ``start .. start+h`` of ``future`` (B, S, X); past its end the last row
    repeats (the direct head reads H rows; what they give beyond S is discarded)."""
    if future is None:
        return None
    rows = future[:, start : start + h]
    if rows.size(1) < h:
        rows = torch.cat([rows, future[:, -1:].expand(-1, h - rows.size(1), -1)], 1)
    return rows


@torch.no_grad()
def forecast(model: Forecaster, context: np.ndarray | Tensor, steps: int | None = None,
             future: np.ndarray | Tensor | None = None, samples: int | None = None,
             seed: int = 0) -> Tensor:
    """Distribution parameters ``(N, steps, K, Q)`` of the ``steps`` (default: the horizon)
    steps after contexts ``(N, C, K+X)`` (or one ``(C, K+X)`` -> ``(steps, K, Q)``), in the
    model's units. ``future`` ``(N, >= steps, X)``: the covariates of the steps forecast.

    The forecasts go through :func:`rnnkit.decode.rollout`: each forward pass gives H
    (direct) or 1 (autoregressive) steps, which are appended to the window with their
    covariates. The point forecast is fed back, except for an autoregressive gaussian or
    quantile model with ``samples`` (default ``model.cfg.samples``) > 0: then that many
    sample paths are drawn (seeded by ``seed``; each step samples the predicted distribution
    and feeds the draw back), and summarised per step as mean and standard deviation
    (gaussian) or the empirical quantiles at the model's levels.
    """
    cfg = model.cfg
    X = cfg.num_covariates
    x = torch.as_tensor(np.asarray(context, dtype=np.float32))
    single = x.dim() == 2
    x = x[None] if single else x
    steps = cfg.horizon if steps is None else steps
    fut = None
    if X:
        if future is None:
            raise ValueError(f"the forecaster needs the {X} covariates of the {steps} steps "
                             "it forecasts")
        fut = torch.as_tensor(np.asarray(future, dtype=np.float32))
        fut = fut[None] if single else fut
        if fut.size(1) < steps:
            raise ValueError(f"{steps} steps to forecast, but future covariates for "
                             f"{fut.size(1)}")
    samples = cfg.samples if samples is None else samples
    was_training = model.training
    model.eval()
    try:
        if model.autoregressive and cfg.output != "point" and samples > 0 and steps > 0:
            out = _sample_paths(model, x, steps, fut, samples, seed)
        else:
            out = _point_rollout(model, x, steps, fut)
    finally:
        model.train(was_training)
    return out[0] if single else out


def _point_rollout(model: Forecaster, x: Tensor, steps: int, fut: Tensor | None) -> Tensor:
    h, stash, done = model.steps_per_call, [], 0

    def predict(window: Tensor) -> Tensor:
        nonlocal done
        f = _future_rows(fut, done, h)
        p = model(window, f)
        p = p[:, -1:] if model.autoregressive else p  # (B, h, K, Q)
        stash.append(p)
        done += h
        v = model.point(p)
        return v if f is None else torch.cat([v, f], -1)

    rollout(predict, x, steps)
    if not stash:
        return x.new_zeros(x.size(0), 0, model.cfg.num_targets, model.num_params)
    return torch.cat(stash, 1)[:, :steps]


def _sample_paths(model: Forecaster, x: Tensor, steps: int, fut: Tensor | None, samples: int,
                  seed: int) -> Tensor:
    B, K = x.size(0), model.cfg.num_targets
    gen = torch.Generator().manual_seed(seed)
    xs = x.repeat_interleave(samples, 0)
    fs = None if fut is None else fut.repeat_interleave(samples, 0)
    done = 0

    def predict(window: Tensor) -> Tensor:
        nonlocal done
        f = _future_rows(fs, done, 1)
        v = model.sample(model(window, f)[:, -1:], gen)  # (B*S, 1, K)
        done += 1
        return v if f is None else torch.cat([v, f], -1)

    paths = rollout(predict, xs, steps)[..., :K].reshape(B, samples, steps, K)
    if model.cfg.output == "gaussian":
        return torch.stack([paths.mean(1), paths.std(1, unbiased=False)], -1)
    lv = torch.as_tensor(model.levels, dtype=paths.dtype)
    return torch.quantile(paths, lv, dim=1).permute(1, 2, 3, 0)  # (B, steps, K, Q)


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
        idx = torch.as_tensor(next(self.batcher))
        params, y = self.predict(model, self.x[idx], self.y[idx])
        return StepOutput(model.criterion(params, y, self.loss), len(idx), 1.0,
                          self.batcher.epochs_done)

    def evaluate(self, model: Forecaster, max_items: int | None = None) -> dict:
        if len(self.dev_x) == 0:  # nothing held out: score the training windows
            x, y = self.x, self.y
        else:
            x, y = self.dev_x, self.dev_y
        n = len(x) if max_items is None else min(len(x), max_items)
        params, y = self.predict(model, x[:n], y[:n])
        return {"loss": model.criterion(params, y, self.loss).item(),
                "mae": (model.point(params) - y).abs().mean().item()}

    def state_dict(self) -> dict:
        return {"batcher": self.batcher.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.batcher.load_state_dict(d["batcher"])
