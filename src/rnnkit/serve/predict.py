"""``POST /v1/predict``: labels with probabilities (``classify``, ``series-classify``), a
tag per word (``tag``) or a label per step (``series-tag``), computed by the loaded run's own
methods (``proba``, ``tag``, ``predict``), so the answers are the library's.

Classifiers answer ``{"predictions": [{"label", "probability", "top": [{"label",
"probability"}...]}], "labels": [...]}``, ``top`` holding the ``top_k`` likeliest classes
(default 5); taggers ``{"predictions": [{"words", "tags"}]}`` (a run with feature columns
needs each word's values of them, ``features``); frame taggers
``{"predictions": [{"labels": [...]}]}``.
"""

from __future__ import annotations

import numpy as np
from fastapi import FastAPI

from .errors import ApiError
from .limits import check
from .schemas import ClassifyRequest, SeriesRequest, TagRequest
from .service import Service

TOP_K = 5  # classes listed per text when the request gives no top_k


def ranked(probs, labels: list[str], top_k: int | None) -> list[dict]:
    """One prediction per row of ``probs`` (N, C): the likeliest label and the ``top_k``."""
    k = min(top_k or TOP_K, len(labels))
    p, idx = probs.topk(k, dim=1)
    out = []
    for row_p, row_i in zip(p.tolist(), idx.tolist()):
        top = [{"label": labels[i], "probability": q} for i, q in zip(row_i, row_p)]
        out.append({"label": top[0]["label"], "probability": top[0]["probability"],
                    "top": top})
    return out


def series_arrays(series: list, features: list[str]) -> list[np.ndarray]:
    """JSON series as (T, F) float32 arrays, each checked against the trained features."""
    out = []
    for n, s in enumerate(series):
        x = np.asarray(s, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"series {n}: expected (T, F) rows of numbers, got shape "
                             f"{tuple(x.shape)}")
        if x.shape[1] != len(features):
            raise ValueError(f"series {n}: {x.shape[1]} features per step, but the model was "
                             f"trained on {len(features)} ({', '.join(features)})")
        if not np.isfinite(x).all():
            raise ValueError(f"series {n}: values must be finite numbers")
        out.append(x)
    return out


def register(app: FastAPI, svc: Service) -> None:
    task = svc.task
    limits = svc.limits
    summary = "Label texts (classify), tag words (tag), label series or frames"
    if task == "classify":
        @app.post("/v1/predict", summary=summary, tags=["prediction"])
        async def classify(req: ClassifyRequest):
            check("texts", len(req.texts), limits, "max_batch")
            for t in req.texts:
                check("text length (characters)", len(t), limits, "max_text_chars")
            return await svc.call(lambda job: classify_texts(svc, req))
    elif task == "tag":
        @app.post("/v1/predict", summary=summary, tags=["prediction"])
        async def tag(req: TagRequest):
            sentences = tag_input(svc, req)
            return await svc.call(lambda job: tag_sentences(svc, sentences, req.features))
    elif task in ("series-classify", "series-tag"):
        @app.post("/v1/predict", summary=summary, tags=["prediction"])
        async def series(req: SeriesRequest):
            check("series", len(req.series), limits, "max_batch")
            return await svc.call(lambda job: predict_series(svc, req))


def classify_texts(svc: Service, req: ClassifyRequest) -> dict:
    loaded = svc.loaded
    labels = list(loaded.labels.itos)
    return {"predictions": ranked(loaded.proba(req.texts), labels, req.top_k),
            "labels": labels}


def tag_input(svc: Service, req: TagRequest) -> list[list[str]]:
    if (req.sentences is None) == (req.texts is None):
        raise ApiError(422, "give sentences (lists of words) or texts (split at whitespace)",
                       "validation_error")
    sentences = req.sentences if req.sentences is not None else [t.split() for t in req.texts]
    check("sentences", len(sentences), svc.limits, "max_batch")
    feats = req.features if req.features is not None else [[] for _ in sentences]
    for s, f in zip(sentences, feats):
        n = sum(len(w) + 1 for w in s) + sum(len(v) + 1 for row in f for v in row)
        check("sentence length (characters)", n, svc.limits, "max_text_chars")
    return sentences


def tag_sentences(svc: Service, sentences: list[list[str]], features=None) -> dict:
    """Tags of each sentence; ``features``: per sentence, per word, the value of each of the
    run's feature columns (a ValueError, answered 400, when they do not fit the run)."""
    tags = svc.loaded.tag(sentences, features=features)
    return {"predictions": [{"words": list(s), "tags": t} for s, t in zip(sentences, tags)]}


def predict_series(svc: Service, req: SeriesRequest) -> dict:
    from ..data.series import SeriesData

    loaded = svc.loaded
    features = list(loaded.config["features"])
    arrays = series_arrays(req.series, features)
    d = SeriesData(arrays, features=features, ids=[str(i) for i in range(len(arrays))],
                   lines=[0] * len(arrays), path="request")
    if svc.task == "series-tag":
        return {"predictions": [{"labels": x} for x in loaded.predict(d)]}
    labels = list(loaded.labels.itos)
    return {"predictions": ranked(loaded.predict_proba(d), labels, req.top_k),
            "labels": labels}
