"""Diagnostics of a trained language-model run: gradient decay and gate statistics, as PNGs
and a JSON summary (``rnnkit diagnose RUN`` is a thin layer over :func:`diagnose_lm`)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data.errors import DataError
from ..train.run import write_json
from .gates import gate_statistics
from .gradients import gradient_flow
from .plots import plot_gate_stats, plot_gradient_decay

log = logging.getLogger(__name__)


def text_windows(ids: list[int], batch: int, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` windows of ``steps`` tokens (fewer when the text is short), spread evenly over
    the text: inputs (B, T) and next-token targets (B, T)."""
    if len(ids) < 3:
        raise DataError(f"the text needs at least 3 tokens, found {len(ids)}")
    T = min(steps, len(ids) - 1)
    room = len(ids) - 1 - T
    B = max(1, min(batch, room + 1))
    starts = torch.linspace(0, room, B).round().long().tolist()
    t = torch.tensor(ids)
    x = torch.stack([t[s : s + T] for s in starts])
    y = torch.stack([t[s + 1 : s + T + 1] for s in starts])
    return x, y


def diagnose_lm(run: str | Path, text: str | None = None, out: str | Path | None = None, *,
                batch: int = 16, steps: int = 200, checkpoint: str = "best",
                jacobian_samples: int = 4) -> dict:
    """Gradient decay and gate statistics of a trained language model.

    On ``batch`` windows of ``steps`` tokens of ``text`` (default: the run's validation text):
    ``gradient_decay.png`` plots ||dL/dh_t|| for the loss of the *last* step's prediction
    against the distance from it, and the Jacobian's RMS singular value, one curve per layer;
    ``gates.png`` plots gate saturation and the mean forget (update) gate per step (LSTM and
    GRU only); ``diagnostics.json`` summarises both. Written to ``out`` (default
    ``RUN/diagnostics``). Returns the summary with the paths of the files written.
    """
    from ..tasks import lifecycle
    from ..tasks.lm import TASK
    from .viewer import validation_text

    lm = lifecycle.load(TASK, run, checkpoint)
    model, vocab, cfg = lm.model, lm.vocab, lm.config
    if text is None:
        text = validation_text(cfg, 200_000)
    x, y = text_windows(vocab.encode(text), batch, steps)
    out = Path(out) if out is not None else Path(run) / "diagnostics"
    out.mkdir(parents=True, exist_ok=True)
    cell = cfg["model"]["encoder"]["cell"]

    def last_step_loss(m):
        logits, _ = m(x)  # (B, T, V)
        return F.cross_entropy(logits[:, -1], y[:, -1])

    flow = gradient_flow(model, last_step_loss, jacobian_samples=jacobian_samples)
    curves = [(name, flow.cell(k), {}) for k, name in enumerate(flow.names)]
    T = x.shape[1]
    grad_png = plot_gradient_decay(
        {f"{cell}, {x.shape[0]} windows of {T} tokens": curves}, out / "gradient_decay.png",
        title="loss of the last prediction: gradient reaching step t")
    distances = [d for d in (1, 10, 50, 100, 200) if d < T]
    summary = {"run": str(run), "cell": cell, "windows": x.shape[0], "steps": T,
               "loss_last_step": flow.loss,
               "grad_ratio": {name: {d: flow.ratio(d, k) for d in distances}
                              for k, name in enumerate(flow.names)},
               "gradient_flow": flow.to_dict(), "files": [str(grad_png)] if grad_png else []}
    try:
        stats = gate_statistics(model, lambda m: m(x))
    except ValueError as e:  # a vanilla RNN has no gates
        log.info("no gate statistics: %s", e)
        summary["gates"] = None
    else:
        gates_png = plot_gate_stats(stats, out / "gates.png", k=len(stats.names) - 1,
                                    title=f"{cell} gates ({stats.names[-1]}), "
                                    f"{x.shape[0]} windows of {T} tokens")
        summary["gates"] = stats.summary()
        if gates_png is not None:
            summary["files"].append(str(gates_png))
    write_json(out / "diagnostics.json", summary)
    summary["files"].append(str(out / "diagnostics.json"))
    return summary
