"""Decoding: greedy, sampling (temperature, top-k, top-p) and beam search, for every generator.

The one implementation used by language-model sampling, seq2seq and captioning. It knows no
model: it drives a *step* callable

    ``step(tokens, state) -> (logits, state)``,  tokens ``(B,)`` long, logits ``(B, V)``,

that consumes one token per row and returns next-token logits and the new state. The state is
``None``, a tensor, or a (possibly nested) tuple / named tuple of tensors whose batch dimension
is ``batch_dim`` (1 by default, as rnnkit layers keep states as ``(L*D, B, H)``). Decoding is
stateful: each produced token is fed back once and no prefix is ever recomputed.

A step that looks up the next-token logits of the previous token (``table[prev]``, V = 3);
greedy decoding follows the largest entries:

>>> import torch
>>> table = torch.tensor([[0.0, 2.0, 1.0], [0.0, 0.0, 3.0], [5.0, 0.0, 0.0]])  # next | prev
>>> step = lambda tok, state: (table[tok], state)
>>> generate(step, None, torch.tensor([0]), 4, greedy=True)[0]
tensor([[1, 2, 0, 1]])

A row that produced ``eos_id`` (here 0) keeps emitting it; generation stops when every row has:

>>> generate(step, None, torch.tensor([0, 1]), 5, greedy=True, eos_id=0)[0].tolist()
[[1, 2, 0], [2, 0, 0]]

Sampling draws from a generator, so a seed reproduces a sample; ``top_k=1`` leaves only the
greedy choice:

>>> def sample(seed, **kw):
...     g = torch.Generator().manual_seed(seed)
...     return generate(step, None, torch.tensor([0, 0]), 6, generator=g, **kw)[0]
>>> tuple(sample(0).shape), torch.equal(sample(0, top_p=0.9), sample(0, top_p=0.9))
((2, 6), True)
>>> sample(1, top_k=1, temperature=2.0).tolist()
[[1, 2, 0, 1, 2, 0], [1, 2, 0, 1, 2, 0]]

Beam search keeps the ``n_best`` best hypotheses of each row, scored by mean log-probability
per token; with ``beam_size=1`` it is greedy decoding:

>>> rows = beam_search(step, None, torch.tensor([0, 1]), 4, beam_size=2, eos_id=0, n_best=2)
>>> [[(tokens, round(score, 2)) for tokens, score in row] for row in rows]
[[([1, 2, 0], -0.17), ([2, 0], -0.71)], [([2, 0], -0.05), ([1, 2, 0], -1.07)]]
>>> beam_search(step, None, torch.tensor([0]), 4, beam_size=1)[0][0][0]
[1, 2, 0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .kernels.common import map_state

__all__ = ["beam_search", "filter_logits", "generate", "map_state", "rollout", "select_state"]

State = Any  # None | Tensor | tuple / NamedTuple / list of State
Step = Callable[[Tensor, State], tuple[Tensor, State]]


def select_state(state: State, index: Tensor, batch_dim: int = 1) -> State:
    """Rows ``index`` of every tensor in ``state`` along ``batch_dim`` (``index_select``).

    Used to reorder (beam search) or repeat states; named tuples keep their type.

    >>> select_state(torch.arange(6).view(1, 3, 2), torch.tensor([2, 0]))[0].tolist()
    [[4, 5], [0, 1]]
    """
    def pick(t: Tensor) -> Tensor:
        return t.index_select(batch_dim, index.to(t.device))

    return map_state(pick, state)


def _check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    number = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if not (number and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be None or an int >= 1, got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be None or satisfy 0 < top_p <= 1, got {top_p!r}")


def filter_logits(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Tensor:
    """Scale logits ``(..., V)`` by ``1 / temperature`` and mask tokens outside top-k / top-p.

    Top-k keeps the ``top_k`` largest logits (exactly ``top_k``; ties broken by ``topk``). Top-p
    (nucleus) keeps the smallest set of most likely tokens whose probability sums to at least
    ``top_p``, and always the most likely token. Masked entries become ``-inf``; both filters
    apply after the temperature, top-k before top-p. Returns a new tensor, same shape.

    >>> filter_logits(torch.tensor([[1.0, 3.0, 2.0]]), top_k=2)
    tensor([[-inf, 3., 2.]])
    >>> filter_logits(torch.tensor([0.5, 0.3, 0.2]).log(), top_p=0.7).isinf().tolist()
    [False, False, True]
    >>> filter_logits(torch.tensor([1.0, 2.0]), temperature=0.5).tolist()
    [2.0, 4.0]
    """
    _check_sampling(temperature, top_k, top_p)
    logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        keep = torch.zeros_like(logits, dtype=torch.bool)
        keep.scatter_(-1, logits.topk(top_k, dim=-1).indices, True)
        logits = logits.masked_fill(~keep, -math.inf)
    if top_p is not None and top_p < 1:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        mass_before = probs.cumsum(dim=-1) - probs  # probability of the more likely tokens
        drop_sorted = mass_before >= top_p  # the first token has mass_before 0 < top_p: kept
        drop = torch.zeros_like(drop_sorted).scatter_(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, -math.inf)
    return logits


def _check_first(first: Tensor) -> None:
    if not isinstance(first, Tensor) or first.dim() != 1 or first.dtype != torch.long:
        what = (
            f"shape {tuple(first.shape)}, dtype {first.dtype}"
            if isinstance(first, Tensor)
            else type(first).__name__
        )
        raise ValueError(f"first must be a LongTensor of shape (B,), found {what}")


def _check_logits(logits: Tensor, rows: int) -> None:
    if not isinstance(logits, Tensor) or logits.dim() != 2 or logits.size(0) != rows:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"step must return logits of shape ({rows}, V), found {shape}")


@torch.no_grad()
def generate(
    step: Step,
    state: State,
    first: Tensor,
    max_new: int,
    *,
    greedy: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
    on_token: Callable[[int, Tensor], None] | None = None,
) -> tuple[Tensor, State]:
    """Produce up to ``max_new`` tokens per row, feeding each one back as the next input.

    Args:
        step: ``(tokens (B,), state) -> (logits (B, V), state)``.
        state: the state before ``first`` (e.g. after reading a prompt), or ``None``.
        first: ``(B,)`` long, the first input token of every row.
        greedy: take the argmax; otherwise sample from ``filter_logits(logits, temperature,
            top_k, top_p)`` with ``torch.multinomial(..., generator=generator)``, so a seeded
            generator reproduces a sample.
        eos_id: a row that produced it keeps emitting it; generation stops when all rows have.
        on_token: called as ``on_token(i, tokens (B,))`` right after the i-th token is chosen,
            e.g. to stream text.

    Returns:
        ``(tokens (B, n), state)`` with ``n <= max_new`` (``n < max_new`` only after eos). The
        state has consumed ``first`` and every produced token but the last; to go on, call
        again with ``first=tokens[:, -1]`` and this state.

    Examples: the module docstring (greedy, eos, seeded sampling).
    """
    _check_first(first)
    if max_new < 0:
        raise ValueError(f"max_new must be >= 0, got {max_new}")
    if not greedy:
        _check_sampling(temperature, top_k, top_p)
    rows = first.size(0)
    finished = torch.zeros(rows, dtype=torch.bool, device=first.device)
    produced: list[Tensor] = []
    tokens = first
    for i in range(max_new):
        logits, state = step(tokens, state)  # (B, V)
        _check_logits(logits, rows)
        if greedy:
            tokens = logits.argmax(dim=-1)
        else:
            probs = filter_logits(logits.float(), temperature, top_k, top_p).softmax(dim=-1)
            tokens = _draw(probs, generator)  # (B,)
        if eos_id is not None:
            tokens = tokens.masked_fill(finished, eos_id)
            finished |= tokens == eos_id
        produced.append(tokens)
        if on_token is not None:
            on_token(i, tokens)
        if eos_id is not None and bool(finished.all()):
            break
    if not produced:
        return first.new_empty(rows, 0), state
    return torch.stack(produced, dim=1), state  # (B, n)


def _check_beam(first: Tensor, max_new: int, beam_size: int, n_best: int) -> None:
    _check_first(first)
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not 1 <= n_best <= beam_size:
        raise ValueError(f"n_best must satisfy 1 <= n_best <= beam_size={beam_size}, got {n_best}")
    if max_new < 0:
        raise ValueError(f"max_new must be >= 0, got {max_new}")


class _Finished:
    """Beam search's finished hypotheses per row, their scores and the stopping rule."""

    def __init__(self, rows: int, beam_size: int, length_penalty: float):
        self.hyps: list[list[tuple[list[int], float]]] = [[] for _ in range(rows)]
        self.done = [False] * rows
        self.beam_size, self.length_penalty = beam_size, length_penalty

    def score(self, total: float, length: int) -> float:
        return total / length**self.length_penalty

    def add(self, is_eos: Tensor, top_src: Tensor, top_totals: Tensor, history: Tensor,
            eos_id: int, t: int) -> None:
        """Keep the candidates ranked within the first ``beam_size`` that end in eos (rows
        already done take no more)."""
        for b, ranks in enumerate(is_eos[:, : self.beam_size].tolist()):
            for r, ends in enumerate(ranks):
                if ends and not self.done[b]:
                    hyp = [*history[b, top_src[b, r]].tolist(), eos_id]
                    self.hyps[b].append((hyp, self.score(top_totals[b, r].item(), t)))

    def update_done(self, totals: Tensor, t: int) -> bool:
        """Mark the rows whose ``beam_size`` best finished hypotheses all score at least as
        well as the best live one (``totals`` (B, K), best first); True when all are done."""
        best_live = (totals[:, 0] / t**self.length_penalty).tolist()
        for b, hyps in enumerate(self.hyps):
            fin = sorted(s for _, s in hyps)[::-1]
            if len(fin) >= self.beam_size and fin[self.beam_size - 1] >= best_live[b]:
                self.done[b] = True
        return all(self.done)

    def results(self, history: Tensor, totals: Tensor, k: int,
                n_best: int) -> list[list[tuple[list[int], float]]]:
        """The ``n_best`` best of each row; rows not done also rank their live hypotheses."""
        results = []
        for b, hyps in enumerate(self.hyps):
            pool = list(hyps)
            if not self.done[b]:
                length = history.size(-1)
                for j in range(k if length else 0):
                    pool.append((history[b, j].tolist(), self.score(totals[b, j].item(), length)))
            if not pool:
                pool = [([], 0.0)]  # max_new == 0
            pool.sort(key=lambda hs: hs[1], reverse=True)
            results.append(pool[:n_best])
        return results


def _top_candidates(logits: Tensor, totals: Tensor, k: int,
                    beam_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """The ``2 * beam_size`` best one-token extensions of each row's ``k`` live hypotheses
    (``totals`` (B, K)) by total log-probability, best first: their totals, the hypothesis each
    extends and its token, each (B, n_top)."""
    rows, vocab = totals.size(0), logits.size(-1)
    logp = logits.float().log_softmax(dim=-1).view(rows, k, vocab)
    cand = (totals.unsqueeze(-1) + logp).view(rows, k * vocab)  # (B, K*V)
    n_top = min(2 * beam_size, k * vocab)
    top_totals, top_idx = cand.topk(n_top, dim=-1)  # (B, n_top), best first
    return top_totals, top_idx // vocab, top_idx % vocab


def _keep_live(is_eos: Tensor, k_new: int, top_totals: Tensor, top_src: Tensor,
               top_tok: Tensor, history: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The ``k_new`` best candidates that do not end in eos: their totals, source hypotheses
    and tokens (B, K'), and the token history (B, K', t) extended by them."""
    live = is_eos.to(torch.uint8).sort(dim=-1, stable=True).indices[:, :k_new]  # (B, K')
    src = top_src.gather(1, live)
    tokens = top_tok.gather(1, live)  # (B, K')
    t = history.size(-1) + 1
    history = torch.cat(
        [history.gather(1, src.unsqueeze(-1).expand(-1, -1, t - 1)), tokens.unsqueeze(-1)],
        dim=-1,
    )  # (B, K', t)
    return top_totals.gather(1, live), src, tokens, history


@torch.no_grad()
def beam_search(
    step: Step,
    state: State,
    first: Tensor,
    max_new: int,
    *,
    beam_size: int = 5,
    eos_id: int | None = None,
    length_penalty: float = 1.0,
    n_best: int = 1,
    batch_dim: int = 1,
) -> list[list[tuple[list[int], float]]]:
    """Beam search over ``B`` rows at once; up to ``n_best`` hypotheses per row, best first.

    A hypothesis of ``n`` produced tokens (eos included) with log-probabilities summing to ``s``
    scores ``s / n ** length_penalty``: 0 ranks by total log-probability, 1 (default) by mean
    log-probability per token.

    Each step expands every live hypothesis by every token and ranks the ``2 * beam_size`` best
    candidates of a row by total log-probability (all have the same length). Candidates ending
    in ``eos_id`` within the first ``beam_size`` ranks are finished and kept aside; the best
    ``beam_size`` others stay live. A row is done when it holds ``beam_size`` finished
    hypotheses that all score at least as well as every live one does now (with
    ``length_penalty > 0`` a live one could still overtake later; this is the usual stopping
    rule), and the search stops when every row is done or after ``max_new`` steps, when live
    hypotheses of unfinished rows join the results. With ``beam_size=1`` this is exactly
    greedy decoding.

    The state is repeated to ``B * beam_size`` rows along ``batch_dim`` and reordered with
    :func:`select_state` as hypotheses are chosen; row ``b * K + k`` is beam ``k`` of row ``b``.

    Returns:
        For each of the B rows, a list of ``(tokens, score)``: ``tokens`` excludes ``first``
        and ends with ``eos_id`` if it was produced; sorted by score, descending.

    Examples: the module docstring.
    """
    _check_beam(first, max_new, beam_size, n_best)
    rows, device = first.size(0), first.device
    finished = _Finished(rows, beam_size, length_penalty)
    tokens = first  # (B*K,) inputs of the live hypotheses
    totals = torch.zeros(rows, 1, device=device)  # (B, K) summed log-probabilities
    history = first.new_empty(rows, 1, 0)  # (B, K, t) produced tokens
    k = 1  # live hypotheses per row
    for t in range(1, max_new + 1):
        logits, state = step(tokens, state)
        _check_logits(logits, rows * k)
        top_totals, top_src, top_tok = _top_candidates(logits, totals, k, beam_size)
        n_top, n_all = top_tok.size(1), k * logits.size(-1)
        if eos_id is not None:
            is_eos = top_tok == eos_id
            finished.add(is_eos, top_src, top_totals, history, eos_id, t)
            # Each live hypothesis has one eos candidate, so at least beam_size are not eos.
            k_new = min(beam_size, n_all - (k if n_top == n_all else 0))
        else:
            is_eos = torch.zeros_like(top_tok, dtype=torch.bool)
            k_new = min(beam_size, n_top)
        if k_new == 0:
            break
        totals, src, tokens_2d, history = _keep_live(is_eos, k_new, top_totals, top_src,
                                                     top_tok, history)
        flat = (torch.arange(rows, device=device).unsqueeze(1) * k + src).view(-1)
        state = select_state(state, flat, batch_dim)
        tokens, k = tokens_2d.view(-1), k_new
        if finished.update_done(totals, t):
            break
    return finished.results(history, totals, k, n_best)


@torch.no_grad()
def rollout(predict: Callable[[Tensor], Tensor], context: Tensor, steps: int) -> Tensor:
    """Autoregressive roll-out of real values: ``predict(window (B, C, K)) -> (B, h, K)``
    gives the next ``h >= 1`` values; they are appended and the window slides by ``h`` until
    ``steps`` values exist. Returns ``(B, steps, K)``.

    >>> rollout(lambda w: w[:, -1:] + 1, torch.zeros(1, 3, 1), 4)[0, :, 0].tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    if context.dim() != 3:
        raise ValueError(f"context must be (B, C, K), found {tuple(context.shape)}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    C = context.size(1)
    window, produced, n = context, [], 0
    while n < steps:
        y = predict(window)  # (B, h, K)
        if y.dim() != 3 or y.size(0) != context.size(0) or y.size(1) < 1:
            raise ValueError(f"predict must return (B, h, K) with h >= 1, found "
                             f"{tuple(y.shape)}")
        produced.append(y)
        n += y.size(1)
        window = torch.cat([window, y.to(window.dtype)], dim=1)[:, -C:]
    if not produced:
        return context.new_empty(context.size(0), 0, context.size(2))
    return torch.cat(produced, dim=1)[:, :steps]


def _draw(probs: Tensor, generator: torch.Generator | None) -> Tensor:
    """One token per row of ``probs`` (B, V). A seeded generator on another device than the
    logits draws on its own device, so the same seed gives the same sample on a CPU and a GPU."""
    if generator is not None and generator.device != probs.device:
        drawn = torch.multinomial(probs.float().to(generator.device), 1, generator=generator)
        return drawn.squeeze(1).to(probs.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
