"""The forecaster (numeric series -> the next H steps): direct multi-output or
autoregressive, point, gaussian or quantile outputs, optional known future covariates.

Direct multi-output (K targets, X known covariates, Q distribution parameters)::

    context (B, C, K+X) -> targets minus their window mean (window_norm) -> projection (B, C, P)
        -> encoder (B, C, D*H) -> last step (B, D*H) ++ future covariates (B, H*X)
        -> linear (B, H*K*Q) -> (B, H, K, Q) + one shared linear map of each future step's
        covariates (B, H, X) -> (B, H, K, Q); location + mean

Autoregressive (one step ahead, rolled out through :func:`rnnkit.decode.rollout`)::

    rows (B, L, K+X) -> step t reads its targets and the covariates of step t+1
        -> projection -> encoder (B, L, H) -> linear per step (B, L, K, Q): step t+1

Training runs through the one loop with :class:`.windows.ForecastTask`.
"""


from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import derived, section
from ...decode import rollout
from ...train.device import device_of
from ..common.encoder import EncoderConfig, build_encoder
from ..common.pooling import last_outputs
from .models import _Projection

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
    num_targets: int = derived(0)  # K, series forecast jointly, set from the data
    num_covariates: int = derived(0)  # X, known future covariates, set from the data
    context: int = 24  # C, steps the forecaster reads
    horizon: int = 12  # H, steps predicted at once (direct); the validation window either way
    strategy: Literal["direct", "autoregressive"] = "direct"  # H steps at once, or rolled out
    output: Literal["point", "gaussian", "quantile"] = "point"  # value, mean+scale, quantiles
    quantiles: str = "0.1,0.5,0.9"  # output quantile: levels in (0, 1); 0.5 is added if missing
    samples: int = 200  # autoregressive gaussian/quantile: sample paths (0: feed the point back)
    proj: int = 16  # P, input projection size (0: feed the values to the encoder)
    window_norm: bool = True  # subtract each context window's own mean (handles trends/levels)
    encoder: EncoderConfig = section(lambda: EncoderConfig(hidden=64), prefix="")
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
    dev = device_of(model)
    x = torch.as_tensor(np.asarray(context, dtype=np.float32))
    single = x.dim() == 2
    x = (x[None] if single else x).to(dev)
    steps = cfg.horizon if steps is None else steps
    fut = None
    if X:
        if future is None:
            raise ValueError(f"the forecaster needs the {X} covariates of the {steps} steps "
                             "it forecasts")
        fut = torch.as_tensor(np.asarray(future, dtype=np.float32))
        fut = (fut[None] if single else fut).to(dev)
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
    out = out.cpu()
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
