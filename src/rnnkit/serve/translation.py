"""``POST /v1/translate`` (seq2seq runs) and ``POST /v1/forecast`` (forecast runs).

Translation: beam search of width ``beam`` (1: greedy), ``n_best`` hypotheses with their
scores, or with ``"sample": true`` one sampled translation per text (beam 1, SampleConfig's
options through ``decode_kwargs``): ``{"translations": [...]}`` (text, or with ``n_best > 1``
a list of ``{"text", "score"}``).

Forecast: the forecast after each ``history`` (T, K+X) in the data's units, ``steps`` long
(default: the model's horizon): ``{"forecasts": [{"point": (steps, K), "lower", "upper",
"interval", "nominal"}], "targets": [...]}``; ``lower``/``upper`` for gaussian and quantile
outputs only.
"""

from __future__ import annotations

from fastapi import FastAPI

from .errors import ApiError
from .limits import check
from .predict import series_arrays
from .schemas import ForecastRequest, TranslateRequest
from .service import Service


def register(app: FastAPI, svc: Service) -> None:
    limits = svc.limits
    if svc.task == "seq2seq":
        @app.post("/v1/translate", summary="Translate texts (seq2seq)", tags=["translation"])
        async def translate(req: TranslateRequest):
            check("texts", len(req.texts), limits, "max_batch")
            for t in req.texts:
                check("text length (characters)", len(t), limits, "max_text_chars")
            if req.max_len is not None:
                check("max_len", req.max_len, limits, "max_length")
            if req.n_best > req.beam:
                raise ApiError(422, f"n_best {req.n_best} needs beam >= {req.n_best}",
                               "validation_error")
            if req.sample and (req.beam != 1 or req.n_best != 1):
                raise ApiError(422, "sample draws one translation per text: give beam 1 "
                               "and n_best 1", "validation_error")
            return await svc.call(lambda job: translate_texts(svc, req))
    elif svc.task == "forecast":
        @app.post("/v1/forecast", summary="Forecast series (forecast)", tags=["forecast"])
        async def forecast(req: ForecastRequest):
            check("series", len(req.history), limits, "max_batch")
            if req.steps is not None:
                check("steps", req.steps, limits, "max_length")
            return await svc.call(lambda job: forecast_series(svc, req))


def translate_texts(svc: Service, req: TranslateRequest) -> dict:
    if req.sample:
        kw = req.sampling().decode_kwargs() | {"greedy": False}
        out = svc.loaded.translate(req.texts, 1, 1, max_len=req.max_len, **kw)
        return {"translations": out}
    out = svc.loaded.translate(req.texts, req.beam, req.n_best, req.length_penalty,
                               max_len=req.max_len)
    if req.n_best > 1:
        out = [[{"text": t, "score": s} for t, s in row] for row in out]
    return {"translations": out}


def _listed(a) -> list | None:
    return None if a is None else a.tolist()


def forecast_series(svc: Service, req: ForecastRequest) -> dict:
    loaded = svc.loaded
    targets = list(loaded.config.get("targets") or [])
    covariates = list(loaded.config.get("covariates") or [])
    features = targets + covariates
    history = series_arrays(req.history, features)
    future = None
    if req.future is not None:
        if len(req.future) != len(history):
            raise ValueError(f"{len(req.future)} future covariate blocks for "
                             f"{len(history)} series")
        future = series_arrays(req.future, covariates)
    out = []
    for i, x in enumerate(history):
        f = loaded.predict_dist(x, req.steps, None if future is None else future[i])
        out.append({"point": f.point.tolist(), "lower": _listed(f.lower),
                    "upper": _listed(f.upper), "interval": f.interval or None,
                    "nominal": f.nominal})
    return {"forecasts": out, "targets": targets}
