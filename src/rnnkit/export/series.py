"""The graphs of the numeric-series tasks: the series classifier, the per-frame tagger and the
forecaster. Their inputs are normalised values (``preprocessing.normalizer`` of the manifest:
``(x - mean) / std`` per feature, as in training)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..tasks.common.mixing import combine
from .graph import CHECKS, Graph, Port


def _series_ports(features: int) -> list[Port]:
    return [Port("x", "float32", ("batch", "time", features),
                 doc="normalised values, zero past each length"),
            Port("lengths", "int64", ("batch",), ("lengths", "time"), "valid steps of each row")]


class SeriesClassifyGraph(nn.Module):
    """``(x, lengths) -> (logits, probs)``; with a rocket branch, ``probs`` mixes the
    recurrent softmax with the branch's probabilities, as rnnkit's prediction does."""

    def __init__(self, model, rocket=None):
        super().__init__()
        self.model, self.rocket = model, rocket
        self.features = None if rocket is None else rocket.features  # its buffers

    def forward(self, x: Tensor, lengths: Tensor):
        logits = self.model(x, lengths)
        probs = torch.softmax(logits, dim=1)
        if self.rocket is not None:
            probs = combine(probs, self.rocket.proba_padded(x, lengths), self.rocket.mix_weight)
        return logits, probs


def series_classify_graphs(loaded) -> list[Graph]:
    cfg = loaded.model.cfg
    C = cfg.num_outputs
    rocket = getattr(loaded, "rocket", None)
    doc = "softmax of the logits"
    if rocket is not None:
        w = rocket.mix_weight
        doc = (f"(1 - {w:g}) * softmax of the logits + {w:g} * the random-convolution "
               "branch's probabilities: rnnkit's prediction")
    return [Graph("forward", SeriesClassifyGraph(loaded.model, rocket),
                  _series_ports(cfg.input_size),
                  [Port("logits", "float32", ("batch", C), doc="the recurrent model's"),
                   Port("probs", "float32", ("batch", C), doc=doc)],
                  doc="class scores of each series")]


def series_tag_graphs(loaded) -> list[Graph]:
    cfg = loaded.model.cfg
    return [Graph("forward", loaded.model, _series_ports(cfg.input_size),
                  [Port("logits", "float32", ("batch", "time", cfg.num_labels))],
                  doc="label scores of every step; argmax is the label")]


class ForecastGraph(nn.Module):
    """``(context, [future]) -> (params, point)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, context: Tensor, *future: Tensor):
        params = self.model(context, future[0] if future else None)
        return params, self.model.point(params)


def forecast_graphs(loaded) -> list[Graph]:
    model = loaded.model
    cfg = model.cfg
    K, X, H, C, Q = (cfg.num_targets, cfg.num_covariates, cfg.horizon, cfg.context,
                     model.num_params)
    steps = 1 if model.autoregressive else H
    ins = [Port("context", "float32", ("batch", "time", K + X),
                doc=f"the last rows (at least {C}): K normalised targets, then X covariates")]
    if X:
        ins.append(Port("future", "float32", ("batch", steps, X),
                        doc="normalised covariates of the steps forecast"))
    out_steps = "time" if model.autoregressive else H
    what = {"point": "value", "gaussian": "mean, standard deviation"}.get(
        cfg.output, "quantiles at preprocessing.levels")
    doc = (f"the next {H} steps at once" if not model.autoregressive else
           "output t: the distribution of step t+1 (the last one: the next step)")
    checks = [dict(s, time=C + i * 7) for i, s in enumerate(CHECKS)]
    return [Graph("forward", ForecastGraph(model), ins,
                  [Port("params", "float32", ("batch", out_steps, K, Q), doc=what),
                   Port("point", "float32", ("batch", out_steps, K), doc="the point forecast")],
                  doc=doc + " (normalised units)", checks=checks,
                  trace=dict(CHECKS[0], batch=2, time=C + 2), min_sizes={"time": C})]
