"""The sequence classifier head (many-to-one): tokens in, one label out.

    tokens (B, T), lengths (B,) -> word representation (B, T, E [+ 2*Hc]) -> dropout
        -> (bi)directional recurrent encoder (B, T, D*H)       (padded steps are zero)
        -> pooling over the valid steps (B, D*H) -> dropout -> linear (B, C)

The word representation is the tagger's (:class:`..common.words.WordFeatures`): the token
embedding, with optional char-level features (``char_embed > 0``: a char BiLSTM/GRU reads each
distinct token of the batch once), which then need the tokens' char ids (a
:class:`..common.words.WordBatch`).

Training runs through the one loop (:class:`rnnkit.train.loop.Trainer`) with
:class:`ClassifyTask`: length-bucketed batches, cross-entropy with optional class weights,
optional word dropout (tokens replaced by ``<unk>`` so its embedding learns something; a
dropped token keeps its characters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import derived, section
from ...data.batching import BucketBatcher, eval_batches
from ...train.device import device_of, to_device
from ...train.task import BatchedTask, StepOutput
from ..common.encoder import EncoderConfig, build_encoder
from ..common.metrics import classification_report
from ..common.pooling import POOLINGS, Pooling
from ..common.words import (
    WordBatch,
    WordFeatures,
    as_word_batch,
    legacy_word_keys,
    validate_char_config,
    word_batch,
    word_dropout,
)
from .ngram import NgramConfig
from .pretrain import check_pretrainable


def _encoder_defaults() -> EncoderConfig:
    return EncoderConfig(hidden=128, bidirectional=True)


@dataclass
class ClassifierConfig:
    vocab_size: int = derived(0)  # V, set from the vocabulary
    num_classes: int = derived(0)  # C, set from the labels
    embed: int = 128  # E, embedding size (the vectors' size when --vectors is given)
    embed_init: float = 0.05  # embeddings start uniform in [-a, a] (0: torch's N(0, 1))
    encoder: EncoderConfig = section(_encoder_defaults, prefix="")
    char_vocab_size: int = derived(0)  # set from the characters when char features are on
    char_embed: int = 0  # character embedding size for char-level word features (0: off)
    char_hidden: int = 50  # Hc, hidden units per direction of the char encoder
    char_cell: str = "lstm"  # lstm | gru | rnn: the char encoder's cell
    pooling: Literal["last", "mean", "max", "attention"] = "max"  # over the valid steps only
    attention_size: int = 64  # hidden size of the attention scorer
    embed_dropout: float = 0.3  # dropout on the word representation (embedding ++ chars)
    out_dropout: float = 0.5  # dropout on the pooled vector before the output layer
    lm_pretrain_epochs: float = 0.0  # epochs of LM pretraining on the training texts (0: off)
    lm_pretrain_lr: float = 0.0  # learning rate of the LM pretraining (0: --lr)
    lm_pretrain_vocab: int = 5000  # LM pretraining targets: the N most frequent tokens (0: all)
    lm_pretrain_dropout: float = 0.1  # dropout on the encoder outputs in LM pretraining
    ngram: NgramConfig = section(NgramConfig, prefix="ngram")  # the n-gram branch

    def validate(self) -> None:
        if self.vocab_size < 1 or self.num_classes < 2:
            raise ValueError(f"need vocab_size >= 1 and num_classes >= 2, got "
                             f"{self.vocab_size} and {self.num_classes}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        validate_char_config(self)
        validate_lm_pretrain(self)
        self.ngram.validate()


def validate_lm_pretrain(cfg) -> None:
    """The ``lm_pretrain_*`` fields of a head's config."""
    for name in ("lm_pretrain_epochs", "lm_pretrain_lr", "lm_pretrain_vocab"):
        v = getattr(cfg, name)
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    if not 0 <= cfg.lm_pretrain_dropout < 1:
        raise ValueError(f"lm_pretrain_dropout must be in [0, 1), got {cfg.lm_pretrain_dropout}")
    if cfg.lm_pretrain_epochs:
        check_pretrainable(cfg.encoder)


class Classifier(nn.Module):
    """``forward(tokens (B, T), lengths (B,)) -> logits (B, C)``, or ``forward(batch)`` with a
    :class:`~..common.words.WordBatch` (needed with char features: it holds the tokens' char ids).

    Checkpoints from before :class:`~..common.words.WordFeatures` (``embedding.weight`` at the top)
    load as ``words.embedding.weight``.
    """

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.words = WordFeatures.from_config(cfg)
        self.encoder = build_encoder(cfg.encoder, self.words.size)
        D = 2 if cfg.encoder.bidirectional else 1
        self.pooling = Pooling(cfg.pooling, D * cfg.encoder.hidden, D, cfg.attention_size)
        self.embed_dropout = nn.Dropout(cfg.embed_dropout)
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        self.output = nn.Linear(D * cfg.encoder.hidden, cfg.num_classes)
        self.register_load_state_dict_pre_hook(legacy_word_keys)

    @property
    def embedding(self) -> nn.Embedding:
        """The token embedding (``words.embedding``)."""
        return self.words.embedding

    def features(self, tokens: Tensor | WordBatch, lengths: Tensor | None = None) -> Tensor:
        """The pooled vector, (B, D*H)."""
        batch = as_word_batch(tokens, lengths)
        x = self.embed_dropout(self.words(batch))  # (B, T, E [+ 2*Hc])
        out, _ = self.encoder(x, lengths=batch.lengths)  # (B, T, D*H)
        return self.pooling(out, batch.lengths)

    def forward(self, tokens: Tensor | WordBatch, lengths: Tensor | None = None) -> Tensor:
        return self.output(self.out_dropout(self.features(tokens, lengths)))  # (B, C)


def class_weights(labels: Sequence[int], num_classes: int, spec: str) -> Tensor | None:
    """Loss weights per class: ``none``; ``balanced`` (n / (C * count), as scikit-learn); or
    ``w1,w2,...`` in label order."""
    spec = (spec or "none").strip()
    if spec == "none":
        return None
    if spec == "balanced":
        counts = torch.bincount(torch.as_tensor(list(labels)), minlength=num_classes).double()
        return (len(labels) / (num_classes * counts.clamp_min(1))).float()
    try:
        w = [float(x) for x in spec.split(",")]
    except ValueError:
        raise ValueError(f"class weights must be none, balanced or comma-separated numbers; "
                         f"got {spec!r}") from None
    if len(w) != num_classes or min(w) < 0:
        raise ValueError(f"give {num_classes} non-negative class weights (one per label, in "
                         f"sorted label order), got {spec!r}")
    return torch.tensor(w)


@torch.no_grad()
def predict_proba(model: Classifier, seqs: Sequence[Sequence[int]], batch_size: int = 128,
                  chars: Sequence[Sequence[Sequence[int]]] | None = None) -> Tensor:
    """Class probabilities (N, C), in the order of ``seqs``; ``chars``: the char ids of each
    token of each sequence (a model with char features needs them)."""
    was_training = model.training
    model.eval()
    dev = device_of(model)
    out = torch.empty(len(seqs), model.cfg.num_classes)
    for idx in eval_batches([len(s) for s in seqs], batch_size):
        b = word_batch([seqs[i] for i in idx], None if chars is None else [chars[i] for i in idx])
        out[idx] = torch.softmax(model(to_device(b, dev)).float(), dim=1).cpu()
    model.train(was_training)
    return out


class ClassifyTask(BatchedTask):
    """Labelled token sequences for :class:`Classifier`, through the one training loop.

    ``train_chars`` / ``dev_chars``: the char ids of each token of each sequence, for a model
    with char features. Word dropout replaces token ids only: a dropped token keeps its chars.
    """

    items_name = "sequences"

    def __init__(self, train: Sequence[Sequence[int]], train_labels: Sequence[int],
                 dev: Sequence[Sequence[int]], dev_labels: Sequence[int],
                 label_names: Sequence[str], batch_size: int = 32, seed: int = 0,
                 weights: Tensor | None = None, word_dropout: float = 0.0,
                 unk_id: int | None = 0, eval_batch_size: int = 256,
                 train_chars: Sequence[Sequence[Sequence[int]]] | None = None,
                 dev_chars: Sequence[Sequence[Sequence[int]]] | None = None):
        if word_dropout > 0 and unk_id is None:
            raise ValueError("word dropout needs a vocabulary with an <unk> id (not BPE)")
        if (train_chars is None) != (dev_chars is None):
            raise ValueError("give the char ids of both the training and the validation "
                             "sequences, or of neither")
        self.train, self.train_labels = list(train), torch.as_tensor(list(train_labels))
        self.dev, self.dev_labels = list(dev), list(dev_labels)
        self.train_chars = None if train_chars is None else list(train_chars)
        self.dev_chars = None if dev_chars is None else list(dev_chars)
        self.label_names = list(label_names)
        self.batcher = BucketBatcher([len(s) for s in self.train], batch_size, seed)
        self.weights, self.word_dropout, self.unk_id = weights, word_dropout, unk_id
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.eval_batch_size = eval_batch_size

    def train_step(self, model: Classifier) -> StepOutput:
        batch = next(self.batcher)
        idx = self.shard.split(batch)  # this process's examples of the global batch
        b = word_batch([self.train[i] for i in idx],
                       None if self.train_chars is None else [self.train_chars[i] for i in idx])
        b.words = word_dropout(b.words, self.word_dropout, self.unk_id or 0, self.gen)
        dev = device_of(model)
        logits = model(to_device(b, dev))  # (B, C)
        w = None if self.weights is None else self.weights.to(dev, logits.dtype)
        loss = F.cross_entropy(logits, self.train_labels[idx].to(dev), weight=w)
        return StepOutput(loss, len(idx), 1.0, self.batcher.epochs_done,
                          share=self.shard.weight(len(batch)))

    def evaluate(self, model: Classifier, max_items: int | None = None) -> dict:
        n = len(self.dev) if max_items is None else min(len(self.dev), max_items)
        probs = predict_proba(model, self.dev[:n], self.eval_batch_size,
                              None if self.dev_chars is None else self.dev_chars[:n])
        gold = torch.as_tensor(self.dev_labels[:n])
        loss = F.nll_loss(probs.clamp_min(1e-12).log(), gold).item()
        report = classification_report(gold.tolist(), probs.argmax(1).tolist(), self.label_names)
        return {"loss": loss, "acc": report["accuracy"], "macro_f1": report["macro_f1"]}
