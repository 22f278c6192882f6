"""An NB-weighted linear n-gram classifier (NBSVM / NB logistic regression; Wang & Manning 2012,
"Baselines and Bigrams"), the classifier's optional second branch.

Features: the binarised indicators ``f`` of the 1..n-grams of a text's tokens (the token ids the
recurrent classifier reads, so the same tokeniser, lowercasing and truncation), over the
n-grams seen in the training texts. Per class c (one-vs-rest), the log-count ratio

    p = alpha + sum of f over the texts of class c,   q = alpha + sum of f over the others
    r_c = log((p / |p|_1) / (q / |q|_1))

is computed on the training texts only, and a linear model ``s_c = (f * r_c) . w_c + b_c`` is
trained on them, full batch (sparse features, L-BFGS, deterministic), with the logistic or the
squared-hinge loss and an L2 penalty ``l2 / 2 * |w_c|^2`` (the loss is averaged over the texts).
``beta < 1`` interpolates the weights towards their mean magnitude as NBSVM does,
``w' = (1 - beta) * mean|w| + beta * w``.

Probabilities: ``sigmoid(scale * s_c)`` normalised over the classes (with two classes this is
exactly the binary model's ``sigmoid(s)``, since the two one-vs-rest models mirror each other).
``scale`` is 1 for the logistic loss; the squared hinge's margins are not probabilities, so its
scale is fitted on held-out texts (:meth:`NgramModel.calibrate`).

Saved as ``ngram_model.safetensors`` (tensors) and ``ngram_vocab.json`` (settings and n-grams).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..common.branch_files import load_branch, save_branch

LOSSES = ("logistic", "squared_hinge")
# The fit holds about 25 float64 arrays of n-grams x classes (weights, ratios, gradient and
# 10 pairs of L-BFGS history), so 2^21 parameters is about 420 MB: 1M n-grams for 2 classes (a
# 10k-sentence corpus has ~150k uni+bigrams), 100k for 20 classes.
MAX_PARAMS = 1 << 21
MODEL_FILE = "ngram_model.safetensors"
VOCAB_FILE = "ngram_vocab.json"


@dataclass
class NgramConfig:
    weight: float = -1.0  # weight of its probabilities (0: no n-gram model; -1: chosen on dev)
    n: int = 2  # n-grams of 1..n tokens
    alpha: float = 1.0  # smoothing of the log-count ratios
    l2: float = 1e-4  # L2 penalty on the weights (per mean loss)
    loss: Literal["logistic", "squared_hinge"] = "logistic"  # the linear model's loss
    beta: float = 1.0  # NBSVM interpolation (1: the trained weights as they are)
    min_count: int = 1  # keep n-grams seen in at least this many training texts
    max_features: int = 0  # keep at most this many n-grams, the most frequent (0: automatic)
    max_iter: int = 300  # L-BFGS iterations

    def validate(self) -> None:
        w = self.weight
        if not (w == -1 or (math.isfinite(w) and 0 <= w <= 1)):
            raise ValueError(f"ngram_weight must be in [0, 1] (0: no n-gram model) or -1 "
                             f"(chosen on the validation data), got {w}")
        if self.n < 1:
            raise ValueError(f"ngram n must be >= 1, got {self.n}")
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ValueError(f"ngram alpha must be > 0, got {self.alpha}")
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            raise ValueError(f"ngram l2 must be >= 0, got {self.l2}")
        if self.loss not in LOSSES:
            raise ValueError(f"ngram loss must be one of {LOSSES}, got {self.loss!r}")
        if not 0 <= self.beta <= 1:
            raise ValueError(f"ngram beta must be in [0, 1], got {self.beta}")
        if self.min_count < 1 or self.max_iter < 1:
            raise ValueError(f"ngram min_count and max_iter must be >= 1, got "
                             f"{self.min_count} and {self.max_iter}")
        if self.max_features < 0:
            raise ValueError(f"ngram max_features must be >= 0 (0: automatic), got "
                             f"{self.max_features}")

    def feature_limit(self, num_classes: int) -> int:
        """The most n-grams kept: max_features, or automatically as many as keep the weights
        at MAX_PARAMS (n-grams x classes) so that memory stays bounded for many classes."""
        return self.max_features or max(1, MAX_PARAMS // num_classes)


def ngrams(seq: Sequence[int], n: int) -> set[tuple[int, ...]]:
    """The distinct 1..n-grams of a sequence."""
    seq = tuple(seq)
    return {seq[i:i + k] for k in range(1, n + 1) for i in range(len(seq) - k + 1)}


class NgramModel:
    """One-vs-rest NB-weighted linear model over 1..n-gram indicators of token-id sequences."""

    def __init__(self, cfg: NgramConfig, vocab: dict[tuple[int, ...], int], num_classes: int,
                 r: Tensor, weight: Tensor, bias: Tensor, scale: float = 1.0,
                 mix_weight: float = 1.0):
        self.cfg, self.vocab, self.num_classes = cfg, vocab, num_classes
        self.r, self.weight, self.bias, self.scale = r, weight, bias, scale  # (F, C) (F, C) (C,)
        self.mix_weight = mix_weight  # its weight when combined with another model

    # -- features --------------------------------------------------------------------------

    def features(self, seqs: Sequence[Sequence[int]]) -> Tensor:
        """Binary indicators (N, F) as a sparse CSR matrix (float64)."""
        return indicator_matrix(seqs, self.vocab, self.cfg.n)

    # -- training --------------------------------------------------------------------------

    @classmethod
    def fit(cls, seqs: Sequence[Sequence[int]], labels: Sequence[int], num_classes: int,
            cfg: NgramConfig | None = None) -> NgramModel:
        cfg = cfg or NgramConfig()
        cfg.validate()
        if len(seqs) != len(labels) or not seqs:
            raise ValueError(f"need as many labels as texts (at least one), got {len(seqs)} "
                             f"texts and {len(labels)} labels")
        if num_classes < 2 or min(labels) < 0 or max(labels) >= num_classes:
            raise ValueError(f"labels must be in 0..{num_classes - 1} with num_classes >= 2")
        vocab = build_ngram_vocab(seqs, cfg.n, cfg.min_count, cfg.feature_limit(num_classes))
        X = indicator_matrix(seqs, vocab, cfg.n)
        y = torch.as_tensor(list(labels))
        r = log_count_ratios(X, y, num_classes, cfg.alpha)
        Y = torch.where(F.one_hot(y, num_classes).bool(), 1.0, -1.0).double()  # (N, C)
        weight, bias = _train_linear(X, r, Y, cfg)
        if cfg.beta < 1:
            weight = (1 - cfg.beta) * weight.abs().mean(0, keepdim=True) + cfg.beta * weight
        return cls(cfg, vocab, num_classes, r, weight, bias)

    # -- prediction ------------------------------------------------------------------------

    def scores(self, seqs: Sequence[Sequence[int]]) -> Tensor:
        """One-vs-rest scores s (N, C), float64."""
        if not seqs:
            return torch.zeros(0, self.num_classes, dtype=torch.float64)
        return self.features(seqs) @ (self.r * self.weight) + self.bias

    def proba(self, seqs: Sequence[Sequence[int]]) -> Tensor:
        """Class probabilities (N, C), float32."""
        return _proba(self.scores(seqs), self.scale).float()

    def calibrate(self, seqs: Sequence[Sequence[int]], labels: Sequence[int]) -> float:
        """Fit ``scale`` (> 0) to minimise the log-loss of ``proba`` on these texts."""
        s, y = self.scores(seqs), torch.as_tensor(list(labels))
        log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([log_t], max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.nll_loss(_proba(s, log_t.exp()).clamp_min(1e-12).log(), y)
            loss.backward()
            return loss

        opt.step(closure)
        self.scale = float(log_t.detach().exp())
        return self.scale

    # -- files -----------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        grams = sorted(self.vocab, key=self.vocab.__getitem__)
        save_branch(folder, VOCAB_FILE,
                    {"config": asdict(self.cfg), "num_classes": self.num_classes,
                     "scale": self.scale, "mix_weight": self.mix_weight,
                     "ngrams": [list(g) for g in grams]},
                    MODEL_FILE, {"r": self.r, "weight": self.weight, "bias": self.bias})

    @classmethod
    def load(cls, folder: str | Path) -> NgramModel:
        meta, t = load_branch(folder, VOCAB_FILE, MODEL_FILE)
        vocab = {tuple(g): i for i, g in enumerate(meta["ngrams"])}
        return cls(NgramConfig(**meta["config"]), vocab, meta["num_classes"], t["r"],
                   t["weight"], t["bias"], meta["scale"], meta.get("mix_weight", 1.0))

    @staticmethod
    def exists(folder: str | Path) -> bool:
        return (Path(folder) / MODEL_FILE).is_file()


def _proba(s: Tensor, scale) -> Tensor:
    """sigmoid(scale * s) normalised over the classes, computed in log space (no 0/0 when
    every class's score is very negative)."""
    return torch.softmax(F.logsigmoid(scale * s), dim=1)


def build_ngram_vocab(seqs: Sequence[Sequence[int]], n: int, min_count: int = 1,
                      max_features: int = 0) -> dict[tuple[int, ...], int]:
    """Column of each 1..n-gram seen in at least ``min_count`` texts, in order of first
    appearance (deterministic); with ``max_features``, only that many, the ones in the most
    texts (ties: first appearance)."""
    counts: dict[tuple[int, ...], int] = {}
    for s in seqs:
        for g in sorted(ngrams(s, n)):
            counts[g] = counts.get(g, 0) + 1
    kept = [g for g, c in counts.items() if c >= min_count]
    if max_features and len(kept) > max_features:
        order = {g: i for i, g in enumerate(kept)}
        chosen = set(sorted(kept, key=lambda g: (-counts[g], order[g]))[:max_features])
        kept = [g for g in kept if g in chosen]
    return {g: i for i, g in enumerate(kept)}


def indicator_matrix(seqs: Sequence[Sequence[int]], vocab: dict[tuple[int, ...], int], n: int
                     ) -> Tensor:
    """Binary (N, F) sparse CSR, float64: which known n-grams each text has."""
    crow, cols = [0], []
    for s in seqs:
        cols.extend(sorted(vocab[g] for g in ngrams(s, n) if g in vocab))
        crow.append(len(cols))
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.tensor(crow, dtype=torch.int64),
                                       torch.tensor(cols, dtype=torch.int64),
                                       torch.ones(len(cols), dtype=torch.float64),
                                       size=(len(seqs), len(vocab)), check_invariants=False)


def log_count_ratios(X: Tensor, y: Tensor, num_classes: int, alpha: float = 1.0) -> Tensor:
    """r (F, C): per class c, log((p/|p|_1) / (q/|q|_1)) with p = alpha + the indicator counts
    of class c's texts and q = alpha + those of the other texts."""
    onehot = F.one_hot(y, num_classes).double()  # (N, C)
    in_class = (X.t() @ onehot) if X.layout == torch.strided else _sparse_t_mm(X, onehot)
    total = in_class.sum(1, keepdim=True)
    p = alpha + in_class
    q = alpha + (total - in_class)
    return (p / p.sum(0)).log() - (q / q.sum(0)).log()


def _sparse_t_mm(X: Tensor, D: Tensor) -> Tensor:
    """X^T @ D for a sparse CSR X (N, F) and a dense D (N, k)."""
    return (X.to_sparse_coo().t() @ D).to_dense() if X.shape[0] else torch.zeros(
        X.shape[1], D.shape[1], dtype=D.dtype)


def _train_linear(X: Tensor, r: Tensor, Y: Tensor, cfg: NgramConfig) -> tuple[Tensor, Tensor]:
    """Weights (F, C) and biases (C,) of C independent binary models on X * r_c, targets
    Y in {-1, +1}; the loss is their sum (each a mean over texts plus its L2 term)."""
    Fn, C = r.shape
    w = torch.zeros(Fn, C, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(C, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=cfg.max_iter, tolerance_grad=1e-9,
                            tolerance_change=1e-12, history_size=10,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        m = Y * (X @ (r * w) + b)  # (N, C) margins
        if cfg.loss == "logistic":
            data = F.softplus(-m).mean(0).sum()
        else:
            data = F.relu(1 - m).square().mean(0).sum()
        loss = data + cfg.l2 / 2 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()
