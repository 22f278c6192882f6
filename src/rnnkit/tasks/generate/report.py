"""What ``report.json`` holds after training a generator: per-label validation perplexity and
samples (texts), exact match and token accuracy of captions of held-out images (digits)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ...data.digits import Composites, caption
from .data import DIGITS, GenerationData
from .model import Generator, beam_ids, caption_scores, generate_ids, sequence_nll
from .sampling import GeneratorRun, sample


def decode_captions(gen: GeneratorRun, comps: Composites, beam: int = 0,
                    batch_size: int = 256) -> list[list[int]]:
    """Caption token ids of every composite (greedy, or beam search of width ``beam``)."""
    pred: list[list[int]] = []
    for a in range(0, len(comps), batch_size):
        images = comps.images[a:a + batch_size]
        if beam > 0:
            pred += [row[0][0] for row in beam_ids(gen.model, images, gen.end_id, gen.end_id,
                                                   gen.max_len, beam_size=beam)]
        else:
            pred += generate_ids(gen.model, images, gen.end_id, gen.end_id, gen.max_len,
                                 greedy=True)
    return pred


def evaluate_captions(gen: GeneratorRun, split: str = "test", beam: int = 0) -> dict:
    """Exact match and token accuracy (:func:`~rnnkit.tasks.generate.model.caption_scores`) of the
    captions of a digit run's ``test`` (held-out images) or ``dev`` composites, plus the
    exact match by number of digits."""
    if gen.kind != DIGITS:
        raise ValueError("caption scores are for digit-captioning runs")
    comps: Composites = getattr(gen.digits(), split)
    gold = [gen.vocab.encode(c) for c in comps.captions()]
    pred = decode_captions(gen, comps, beam)
    report = caption_scores(pred, gold)
    by_len: dict[int, list[bool]] = {}
    for p, g, d in zip(pred, gold, comps.digits):
        by_len.setdefault(len(d), []).append(p == g)
    report["exact_match_by_digits"] = {str(k): sum(v) / len(v) for k, v in sorted(by_len.items())}
    report["decoding"] = f"beam {beam}" if beam > 0 else "greedy"
    errors = [(caption(d), gen.decode(p)) for p, g, d in zip(pred, gold, comps.digits) if p != g]
    report["errors"] = [{"truth": t, "predicted": p} for t, p in errors[:20]]
    return report


def per_label_perplexity(model: Generator, cond: torch.Tensor, seqs: Sequence[Sequence[int]],
                         label_names: Sequence[str], end_id: int) -> dict:
    """Perplexity per token (end token included) of the validation texts, for all of them and
    per label: ``{"all": {...}, "per_label": {label: {"ppl", "loss", "texts", "tokens"}}}``."""
    nll = sequence_nll(model, cond, seqs, end_id, end_id)
    lengths = torch.tensor([len(s) + 1 for s in seqs], dtype=torch.float)

    def summary(mask: torch.Tensor) -> dict:
        loss = float(nll[mask].sum() / lengths[mask].sum())
        return {"ppl": math.exp(loss), "loss": loss, "texts": int(mask.sum()),
                "tokens": int(lengths[mask].sum())}

    per = {name: summary(cond == c) for c, name in enumerate(label_names) if (cond == c).any()}
    return {"all": summary(torch.ones_like(cond, dtype=torch.bool)), "per_label": per}


def label_unknown_perplexity(model: Generator, seqs: Sequence[Sequence[int]],
                             prior: torch.Tensor, end_id: int) -> float:
    """Perplexity per token when the label is not given: each text's likelihood under the
    mixture ``sum_c prior_c p(text | c)`` of the same model (a baseline: conditioning helps
    when the per-label perplexity is below this)."""
    C = len(prior)
    log_p = torch.stack([-sequence_nll(model, torch.full((len(seqs),), c), seqs, end_id, end_id)
                         for c in range(C)], dim=1)  # (N, C)
    mix = torch.logsumexp(log_p + prior.clamp_min(1e-12).log(), dim=1)
    tokens = sum(len(s) + 1 for s in seqs)
    return math.exp(float(-mix.sum()) / tokens)


def final_report(gen: GeneratorRun, gd: GenerationData, seed: int = 0,
                 samples_per_label: int = 5) -> dict:
    """What ``report.json`` holds (module docstring)."""
    if gd.kind == DIGITS:
        return {"kind": DIGITS, "test": evaluate_captions(gen, "test"),
                "test_beam5": {k: v for k, v in evaluate_captions(gen, "test", beam=5).items()
                               if k != "errors"},
                "dev": {k: v for k, v in evaluate_captions(gen, "dev").items() if k != "errors"},
                "source_images": gd.sizes["source_images"],
                "samples": [{"condition": g.condition.name, "truth": g.condition.truth,
                             "caption": g.texts[0]} for g in sample(gen, num=1)]}
    assert gd.labels is not None
    report = per_label_perplexity(gen.model, gd.dev_cond, gd.dev_seqs, gd.labels.itos,
                                  gd.end_id)
    prior = torch.bincount(gd.train_cond, minlength=len(gd.labels)).float()
    report["label_unknown_ppl"] = label_unknown_perplexity(gen.model, gd.dev_seqs,
                                                           prior / prior.sum(), gd.end_id)
    samples = sample(gen, num=samples_per_label, temperature=0.8, seed=seed)
    for g in samples:
        report["per_label"].setdefault(g.condition.name, {})["samples"] = g.texts
    return {"kind": "texts", "split": "dev", "sizes": gd.sizes, **report}


def format_report_samples(report: dict) -> str:
    """``samples.txt``: one line per condition."""
    if report["kind"] == DIGITS:
        return "".join(f"{s['condition']}\ttruth: {s['truth']}\tcaption: {s['caption']}\n"
                       for s in report["samples"])
    return "".join(f"{label}\t{', '.join(r.get('samples', []))}\n"
                   for label, r in report["per_label"].items())
