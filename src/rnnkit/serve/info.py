"""What ``GET /health`` and ``GET /v1/info`` say about the served run (the web page embeds
the same summary): its task, model settings, labels or vocabulary sizes, the endpoints it
answers, the service's limits and the sampling defaults."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .._version import __version__
from ..config import to_dict
from ..tasks import registry
from ..tasks.common.sampling import SampleConfig
from .service import Service, supported


def health(svc: Service) -> dict:
    return {"status": "ok", "task": svc.task, "run": svc.name, **svc.gate.stats()}


def _labels(loaded) -> list[str] | None:
    for attr in ("labels", "tags"):
        vocab = getattr(loaded, attr, None)
        if vocab is not None and hasattr(vocab, "itos"):
            return list(vocab.itos)
    return None


def _vocab_size(loaded) -> int | dict | None:
    if getattr(loaded, "vocab", None) is not None:
        return len(loaded.vocab)
    if getattr(loaded, "src_vocab", None) is not None:
        return {"source": len(loaded.src_vocab), "target": len(loaded.tgt_vocab)}
    encoders = getattr(loaded, "encoders", None)
    return len(encoders.words) if encoders is not None else None


def _task_details(loaded) -> dict[str, Any]:
    cfg, out = loaded.config, {}
    for key in ("features", "targets", "covariates", "kind", "max_len", "horizon"):
        if key in cfg:
            out[key] = cfg[key]
    model = getattr(loaded.model, "cfg", None)
    for key in ("horizon", "context"):
        if model is not None and hasattr(model, key):
            out.setdefault(key, getattr(model, key))
    if getattr(loaded, "feature_columns", None):  # a tagger's input feature columns
        out["feature_columns"] = loaded.feature_columns
    return out


def info(svc: Service) -> dict:
    """The run and the service, as ``GET /v1/info`` answers them."""
    loaded = svc.loaded
    spec = registry.get(svc.task)
    device = next((str(p.device) for p in loaded.model.parameters()), "cpu")
    out = {"task": svc.task, "run": svc.name, "checkpoint": svc.checkpoint, "device": device,
           "rnnkit": __version__, "description": spec.describe(loaded.settings),
           "model": to_dict(loaded.settings.model), "sizes": loaded.config.get("sizes", {}),
           "labels": _labels(loaded), "vocab_size": _vocab_size(loaded),
           "endpoints": ["GET /health", "GET /v1/info", *supported(svc.task)],
           "limits": asdict(svc.limits)}
    out.update(_task_details(loaded))
    if svc.task in ("lm", "generate", "seq2seq"):
        out["sampling_defaults"] = asdict(SampleConfig())
    return out
