"""Language-model pretraining of a head's word features and encoder (Dai & Le 2015, "LM-LSTM").

Before a classifier (or any head with ``words``, ``embed_dropout`` and a one-layer or
unidirectional ``encoder``) learns its labels, its own embedding and recurrent encoder are
trained as a word-level language model on its own training texts: no other data, no vectors.
The modules are the head's, not copies, so the head then starts from the pretrained weights.

    words (B, T) -> head.words -> head.embed_dropout -> head.encoder (B, T, D*H) -> dropout
        forward direction  (B, T, H) -> linear -> the next token      (the last step: </s>)
        backward direction (B, T, H) -> linear -> the previous token  (step 0: <s>)

One pass of a one-layer bidirectional encoder is a forward and a backward language model at
once: the forward direction at step t has read tokens 0..t, the backward direction tokens
t..T-1, so neither sees the token it predicts. (A stacked bidirectional encoder would: its
second layer's forward direction reads the first layer's backward outputs.) Each sentence
starts from a zero state, as in classification; padding is never scored.

Targets are the ``vocab`` most frequent training tokens, one class for every other token and
one for the sentence boundary: a softmax over all of a large vocabulary costs more than the
encoder, and rare words still learn their input embeddings.

Training runs through the one loop (:class:`rnnkit.train.loop.Trainer`) with
:class:`SentenceLMTask`; its metrics are the language model's (:func:`rnnkit.tasks.lm.lm_metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...data.batching import BucketBatcher, eval_batches
from ...train.device import device_of, to_device
from ...train.task import BatchedTask, StepOutput
from ..common.pooling import step_mask
from ..common.words import WordBatch, word_batch, word_dropout
from ..lm.model import lm_metrics


def check_pretrainable(encoder_cfg) -> None:
    """A stacked bidirectional encoder cannot be a language model (module docstring)."""
    if encoder_cfg.bidirectional and encoder_cfg.layers > 1:
        raise ValueError("language-model pretraining needs a unidirectional encoder or a "
                         f"one-layer bidirectional one (got {encoder_cfg.layers} bidirectional "
                         "layers: the upper layers' forward direction would see the future)")


def target_classes(seqs: Sequence[Sequence[int]], vocab_size: int, keep: int = 0) -> Tensor:
    """(V,) the target class of each token id: the ``keep`` most frequent ids of ``seqs``
    (0: all that occur) are classes 0..n-1 by frequency, every other id is class n. The
    boundary class is n + 1, so there are n + 2 classes."""
    counts = torch.bincount(torch.tensor([t for s in seqs for t in s], dtype=torch.long),
                            minlength=vocab_size)
    order = torch.argsort(-counts, stable=True)
    n = int((counts > 0).sum())
    n = min(n, keep) if keep > 0 else n
    out = torch.full((vocab_size,), n, dtype=torch.long)
    out[order[:n]] = torch.arange(n)
    return out


class EncoderLM(nn.Module):
    """Next- (and, bidirectional, previous-) token predictors over ``head``'s word features and
    encoder. ``forward(batch) -> [(N, K) per direction]``: the logits at the N valid steps, in
    row-major order."""

    def __init__(self, head: nn.Module, num_targets: int, dropout: float = 0.1):
        super().__init__()
        enc = head.cfg.encoder
        check_pretrainable(enc)
        self.head = head
        self.directions = 2 if enc.bidirectional else 1
        self.decoders = nn.ModuleList(nn.Linear(enc.hidden, num_targets)
                                      for _ in range(self.directions))
        self.dropout = nn.Dropout(dropout)

    def forward(self, batch: WordBatch) -> list[Tensor]:
        x = self.head.embed_dropout(self.head.words(batch))  # (B, T, E [+ 2*Hc])
        out, _ = self.head.encoder(x, lengths=batch.lengths)  # (B, T, D*H)
        out = self.dropout(out[step_mask(batch.lengths.to(out.device), out.shape[1])])  # (N, D*H)
        return [dec(o) for dec, o in zip(self.decoders, out.chunk(self.directions, dim=1))]


def lm_targets(words: Tensor, lengths: Tensor, classes: Tensor, directions: int) -> list[Tensor]:
    """Per direction, the (N,) target class at each valid step of ``words`` (B, T): the next
    token (the boundary after the last) and, backward, the previous one (the boundary before
    the first)."""
    boundary = int(classes.max()) + 1
    c = classes[words]  # (B, T)
    valid = step_mask(lengths, words.shape[1])
    nxt = torch.full_like(c, boundary)
    nxt[:, :-1] = c[:, 1:]
    nxt = torch.where(step_mask(lengths - 1, words.shape[1]), nxt, boundary)
    out = [nxt[valid]]
    if directions == 2:
        prv = torch.full_like(c, boundary)
        prv[:, 1:] = c[:, :-1]
        out.append(prv[valid])
    return out


class SentenceLMTask(BatchedTask):
    """Sentences (token ids, and each token's char ids for a head with char features) as
    language-model data for :class:`EncoderLM`, through the one training loop. The loss is the
    mean over directions of the cross-entropy per scored token; word dropout replaces input
    ids only (the targets stay)."""

    items_name = "tokens"

    def __init__(self, train: Sequence[Sequence[int]], dev: Sequence[Sequence[int]],
                 classes: Tensor, batch_size: int = 32, seed: int = 0,
                 word_dropout: float = 0.0, unk_id: int = 0, eval_batch_size: int = 256,
                 train_chars: Sequence | None = None, dev_chars: Sequence | None = None):
        self.train, self.dev = list(train), list(dev)
        self.train_chars = None if train_chars is None else list(train_chars)
        self.dev_chars = None if dev_chars is None else list(dev_chars)
        self.classes = classes
        self.batcher = BucketBatcher([len(s) for s in self.train], batch_size, seed)
        self.word_dropout, self.unk_id = word_dropout, unk_id
        self.gen = torch.Generator().manual_seed(seed + 2)
        self.eval_batch_size = eval_batch_size

    def _loss(self, model: EncoderLM, b: WordBatch, targets: list[Tensor],
              reduction: str) -> Tensor:
        logits = model(b)
        return sum(F.cross_entropy(lg.float(), t.to(lg.device), reduction=reduction)
                   for lg, t in zip(logits, targets))

    def train_step(self, model: EncoderLM) -> StepOutput:
        batch = next(self.batcher)
        idx = self.shard.split(batch)
        b = word_batch([self.train[i] for i in idx],
                       None if self.train_chars is None else [self.train_chars[i] for i in idx])
        targets = lm_targets(b.words, b.lengths, self.classes, model.directions)
        b.words = word_dropout(b.words, self.word_dropout, self.unk_id, self.gen)
        loss = self._loss(model, to_device(b, device_of(model)), targets, "mean")
        return StepOutput(loss / model.directions, int(b.lengths.sum()), 1.0,
                          self.batcher.epochs_done, share=self.shard.weight(len(batch)))

    @torch.no_grad()
    def evaluate(self, model: EncoderLM, max_items: int | None = None) -> dict:
        n = len(self.dev) if max_items is None else min(len(self.dev), max_items)
        total, count = 0.0, 0
        for idx in eval_batches([len(s) for s in self.dev[:n]], self.eval_batch_size):
            b = word_batch([self.dev[i] for i in idx],
                           None if self.dev_chars is None else [self.dev_chars[i] for i in idx])
            targets = lm_targets(b.words, b.lengths, self.classes, model.directions)
            total += self._loss(model, to_device(b, device_of(model)), targets, "sum").item()
            count += sum(t.numel() for t in targets)
        metrics = lm_metrics(total / max(count, 1), count, count)
        del metrics["bpc"]  # tokens are words: no bits per character
        return metrics


def pretrain_in_run(head: nn.Module, task: SentenceLMTask, train, folder, num_targets: int,
                    dropout: float = 0.1, callbacks=None, title: str = "") -> dict:
    """Pretrain ``head``'s word features and encoder in place on ``task`` under ``train`` (a
    :class:`~rnnkit.train.loop.TrainConfig`), through the one loop, in the run folder
    ``folder`` (``log.csv``, ``loss.png``, ``summary.json``, checkpoints; a pretraining cut
    short continues from its last checkpoint); ``head`` ends with the weights of the
    checkpoint with the lowest validation loss. Returns the pretraining's summary.

    Callbacks receive the rows with ``"phase": "lm_pretrain"`` added."""
    from pathlib import Path

    from ...train.loop import Trainer
    from ...train.run import finish_run, load_weights, resume_trainer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lm = EncoderLM(head, num_targets, dropout).to(device_of(head))
    tagged = [lambda ev, row, cb=cb: cb(ev, row | {"phase": "lm_pretrain"})
              for cb in (callbacks or [])]
    trainer = Trainer(lm, task, train, folder, meta={"phase": "lm_pretrain"}, callbacks=tagged)
    resume_trainer(trainer, folder)
    summary = finish_run(trainer, folder, title=title)
    if summary["stopped"] != "interrupted":
        load_weights(lm, folder, "best")
    return summary
