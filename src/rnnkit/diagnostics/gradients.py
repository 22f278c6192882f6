"""Gradients through time: how much of the loss's gradient reaches each step, and how fast the
recurrence forgets (vanishing and exploding gradients made visible).

:func:`gradient_flow` runs a model once on the reference path (autograd over each cell's
``step``, see :meth:`rnnkit.Recurrent.observe_steps`) and measures, for every cell ``k`` of the
recurrent layer (``layer * D + direction``) and every step ``t``:

* ``grad_h[k, t] = ||dL/dh_t||``: the norm (over the whole (B, H) tensor) of the *total*
  gradient of the loss reaching the step's hidden output ``h_t``, through the outputs that read
  it and through the recurrence, i.e. what backpropagation through time delivers there.
  ``grad_state["c"]`` is the same for the LSTM's cell state ``c_t``.
* ``jacobian[k, t]``: the size of ``dh_{T-1}/dh_t``, the Jacobian from step t to the last step,
  as a function of the distance ``T-1-t``. It is the root-mean-square singular value
  ``||J||_F / sqrt(H)`` of each sequence's (H, H) Jacobian (1 for the identity, so a value far
  below 1 means the recurrence forgets, far above means it explodes), root-mean-squared over the
  batch. The Frobenius norm is estimated with Gaussian probes (Hutchinson):
  ``E ||J^T v||^2 = ||J||_F^2`` for ``v ~ N(0, I)``; ``jacobian_samples`` probes per sequence.
  For the LSTM it is the derivative through ``h_t`` only (the cell state ``c_t`` is held fixed).

Time ``t`` is each cell's own step order: the reverse direction's step 0 reads the last input.
Distances are ``T-1-t``; :meth:`GradientFlow.by_distance` flips a (K, T) table into that order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from ..layers.recurrent import Recurrent
from ..train.watch import GradNormWatch  # noqa: F401  (re-exported)
from .common import cell_names, eval_mode, find_recurrent
from .flow import GradientFlow
from .plots import plot_flow_over_training

log = logging.getLogger(__name__)

LossFn = Callable[[nn.Module], Tensor]


def gradient_flow(model: nn.Module, loss_fn: LossFn, *, layer: str | Recurrent | None = None,
                  jacobian_samples: int = 4, seed: int = 0) -> GradientFlow:
    """Measure gradients through time for one batch.

    Args:
        model: any module holding an :class:`rnnkit.Recurrent` layer.
        loss_fn: ``loss_fn(model) -> scalar loss``: runs the model on a fixed batch (e.g.
            ``lambda m: F.cross_entropy(m(x)[0].flatten(0, 1), y.flatten())``). It runs once,
            in evaluation mode (no dropout), with the recurrent layer on its reference path.
        layer: which recurrent layer, when the model holds several (a name or the layer).
        jacobian_samples: Gaussian probes per sequence for the Jacobian estimate (0: skip it).
        seed: seeds the probes' own generator; the global random stream is not touched.

    Parameter gradients are neither computed nor touched (``torch.autograd.grad`` is taken with
    respect to the per-step tensors only), so it is safe to call in the middle of training.

    >>> import rnnkit
    >>> _ = torch.manual_seed(0)
    >>> lstm = rnnkit.LSTM(2, 3, num_layers=2)
    >>> x = torch.randn(4, 6, 2)
    >>> flow = gradient_flow(lstm, lambda m: m(x)[0][:, -1].sum())  # loss at the last step
    >>> flow.names, tuple(flow.grad_h.shape), list(flow.grad_state), flow.ratio(0)
    (['layer0', 'layer1'], (2, 6), ['c'], 1.0)
    >>> tuple(flow.jacobian.shape), lstm.training, lstm.cells[0].weight_hh.grad is None
    ((2, 6), True, True)
    """
    if jacobian_samples < 0:
        raise ValueError(f"jacobian_samples must be >= 0, got {jacobian_samples}")
    rec = find_recurrent(model, layer)
    outs: dict[int, list[Tensor]] = {}
    extra: dict[int, dict[str, list[Tensor]]] = {}

    def hook(k, t, x_t, prev, h, new):
        outs.setdefault(k, []).append(h)
        for name, leaf in _named_leaves(new):
            if leaf is not h and name != "h":
                extra.setdefault(k, {}).setdefault(name, []).append(leaf)

    with eval_mode(model), torch.enable_grad(), rec.observe_steps(hook):
        loss = loss_fn(model)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError(f"loss_fn must return a scalar tensor, got {_describe(loss)}")
    K = len(rec.cells)
    if sorted(outs) != list(range(K)):
        raise ValueError("loss_fn did not run the recurrent layer (no steps were observed)")
    if not loss.requires_grad:
        raise ValueError("the loss does not depend on the recurrent layer through autograd "
                         "(was it computed under torch.no_grad()?)")
    flat = [h for k in range(K) for h in outs[k]]
    state_names = sorted({n for k in extra for n in extra[k]})
    for k in range(K):
        for n in state_names:
            flat += extra[k][n]
    grads = torch.autograd.grad(loss, flat, retain_graph=jacobian_samples > 0, allow_unused=True)
    norms = torch.tensor([0.0 if g is None else float(g.norm()) for g in grads])
    T = len(outs[0])
    n_h = sum(len(outs[k]) for k in range(K))
    if n_h != K * T:
        raise ValueError("every cell must run the same number of steps")
    grad_h = norms[:n_h].view(K, T)
    rest = norms[n_h:].view(K, len(state_names), T) if state_names else None
    grad_state = {n: rest[:, i].clone() for i, n in enumerate(state_names)}
    jac = _jacobian(outs, K, jacobian_samples, seed) if jacobian_samples else None
    return GradientFlow(cell_names(rec), grad_h, grad_state, jac, float(loss.detach()))


def _jacobian(outs: dict[int, list[Tensor]], K: int, samples: int, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    T = len(outs[0])
    result = torch.zeros(K, T)
    for k in range(K):
        hs = outs[k]
        last = hs[-1]  # (B, H)
        B, H = last.shape
        sq = torch.zeros(T)
        for s in range(samples):
            v = torch.randn(B, H, generator=gen, dtype=last.dtype).to(last.device)
            keep = s < samples - 1 or k < K - 1
            gs = torch.autograd.grad(last, hs, grad_outputs=v, retain_graph=keep,
                                     allow_unused=True)
            sq += torch.tensor([0.0 if g is None else float(g.pow(2).sum()) for g in gs])
        result[k] = (sq / (samples * B * H)).sqrt()  # RMS over batch of ||J||_F / sqrt(H)
    return result


def _named_leaves(state, prefix: str = "state"):
    if isinstance(state, Tensor):
        yield prefix, state
    elif isinstance(state, tuple):
        names = getattr(state, "_fields", None) or [f"{prefix}{i}" for i in range(len(state))]
        for n, part in zip(names, state):
            yield from _named_leaves(part, n)


def _describe(x) -> str:
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    return type(x).__name__


# Training callbacks ----------------------------------------------------------------------------

class GradientFlowCallback:
    """Trainer callback: :func:`gradient_flow` on a held batch every ``every`` steps (at the
    first ``log`` row, then at the first row past each multiple of ``every``, and at the end).

    Each measurement is appended to ``RUN/gradient_flow.jsonl`` (one JSON object per line with
    ``step`` and :meth:`GradientFlow.to_dict`) and kept in ``records``; at the end of training
    ``RUN/gradient_flow.png`` plots ||dL/dh_t|| and the Jacobian against distance, one curve per
    measurement. (The Trainer itself warns on exploding gradient norms: see
    :class:`~rnnkit.train.watch.GradNormWatch`.)

    The measurement runs in evaluation mode with its own random generator, so adding the
    callback does not change the training run (same losses, same weights).
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, run_dir: str | Path | None = None,
                 every: int = 100, jacobian_samples: int = 2, layer: str | None = None,
                 seed: int = 0):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.model, self.loss_fn, self.every = model, loss_fn, every
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.jacobian_samples, self.layer, self.seed = jacobian_samples, layer, seed
        self.records: list[tuple[int, GradientFlow]] = []
        self._bucket = -1

    def measure(self, step: int) -> GradientFlow:
        flow = gradient_flow(self.model, self.loss_fn, layer=self.layer,
                             jacobian_samples=self.jacobian_samples, seed=self.seed)
        self.records.append((step, flow))
        if self.run_dir is not None:
            with open(self.run_dir / "gradient_flow.jsonl", "a") as f:
                f.write(json.dumps({"step": step} | flow.to_dict()) + "\n")
        d = min(flow.steps - 1, 50)
        log.info("step %d: gradient flow: ||dL/dh|| at distance %d / at the end = %.3g",
                 step, d, flow.ratio(d))
        return flow

    def __call__(self, event: str, row: dict) -> None:
        step = int(row.get("step", 0))
        if event == "log":
            if step // self.every > self._bucket:
                self._bucket = step // self.every
                self.measure(step)
        elif event == "end":
            if not self.records or self.records[-1][0] != step:
                self.measure(step)
            if self.run_dir is not None:
                plot_flow_over_training(self.records, self.run_dir / "gradient_flow.png")
