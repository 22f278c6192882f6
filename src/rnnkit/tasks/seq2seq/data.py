"""How a translation model reads its data: the data settings, the parallel-text readers,
id sequences with ``<bos>``/``<eos>``, the training task and batched translation of ids."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from ...config import renamed
from ...data.batching import BucketBatcher, eval_batches, pad, split_indices
from ...data.parallel import Pair, Seq2SeqVocab, read_parallel, read_parallel_table
from ...data.tokens import TOKENIZERS
from ...train.device import device_of, to_device
from ...train.task import BatchedTask, StepOutput
from .bleu import corpus_bleu
from .model import Seq2Seq, sequence_loss, translate_batch

log = logging.getLogger(__name__)


@dataclass
class Seq2SeqDataConfig:
    src: str = ""  # source-side training file, one sentence per line (or a TSV/CSV of pairs)
    tgt: str = ""  # target-side training file aligned with --src ("": --src is a table)
    dev_src: str | None = None  # validation source file (default: a seeded dev_fraction of --src)
    dev_tgt: str | None = None  # validation target file aligned with --dev-src
    dev_fraction: float = 0.05  # share of the pairs held out when no validation files are given
    src_col: str = "0"  # table input: source column (0-based index or header name)
    tgt_col: str = "1"  # table input: target column
    encoding: str = "utf-8"  # text encoding of the files
    tokenizer: Literal["whitespace", "regex", "char"] = "regex"  # how sentences split
    lowercase: bool = True  # lowercase before tokenising (the usual Multi30k protocol)
    min_freq: int = 2  # tokens seen fewer times in training map to <unk>
    max_vocab: int = 0  # at most this many ids per vocabulary (0: no limit)
    shared_vocab: bool = False  # one vocabulary for both sides (e.g. to tie embeddings)
    max_len: int = 0  # drop training pairs with a side longer than N tokens (0: keep all)
    batch_size: int = 128  # sentence pairs per batch (bucketed by length)
    teacher_forcing: float = 1.0  # probability of feeding the reference (not the prediction)
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    bleu_sentences: int = 1000  # validation: greedy BLEU on the first N pairs (0: no BLEU)
    report_beam: int = renamed(5, "beam")  # after training, also score validation with this beam

    def validate(self) -> None:
        if not self.src:
            raise ValueError("give the training data: --src FILE --tgt FILE (aligned lines), "
                             "or --src PAIRS.tsv")
        if bool(self.dev_src) != bool(self.dev_tgt):
            raise ValueError("give both --dev-src and --dev-tgt, or neither")
        if self.tokenizer not in TOKENIZERS or self.tokenizer == "bpe":
            raise ValueError(f"tokenizer must be whitespace, regex or char, got "
                             f"{self.tokenizer!r}")
        if not 0 <= self.teacher_forcing <= 1:
            raise ValueError(f"teacher_forcing must be in [0, 1], got {self.teacher_forcing}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.report_beam < 1:
            raise ValueError(f"--beam must be >= 1, got {self.report_beam}")
        if self.max_vocab and self.max_vocab < 4:
            raise ValueError(f"max_vocab must be 0 (no limit) or >= 4 (3 specials and a token), "
                             f"got {self.max_vocab}")


def read_pairs(cfg: Seq2SeqDataConfig, src: str, tgt: str | None) -> list[Pair]:
    if tgt:
        return read_parallel(src, tgt, cfg.encoding)
    return read_parallel_table(src, cfg.src_col, cfg.tgt_col, encoding=cfg.encoding)


def load_splits(cfg: Seq2SeqDataConfig, seed: int) -> tuple[list[Pair], list[Pair]]:
    pairs = read_pairs(cfg, cfg.src, cfg.tgt)
    if cfg.dev_src:
        return pairs, read_pairs(cfg, cfg.dev_src, cfg.dev_tgt)
    rest, held = split_indices(len(pairs), cfg.dev_fraction, seed)
    return [pairs[i] for i in rest], [pairs[i] for i in held]


def encode_side(vocab: Seq2SeqVocab, texts: Sequence[str]) -> list[list[int]]:
    return [vocab.encode(t) for t in texts]


def with_bos(seqs: Sequence[Sequence[int]], bos: int) -> list[list[int]]:
    return [[bos, *s] for s in seqs]


def with_eos(seqs: Sequence[Sequence[int]], eos: int) -> list[list[int]]:
    return [[*s, eos] for s in seqs]


def _nonempty(seqs: Sequence[Sequence[int]], unk: int = 0) -> list[list[int]]:
    return [list(s) or [unk] for s in seqs]  # a source that tokenises to nothing reads <unk>


class Seq2SeqTask(BatchedTask):
    """Sentence pairs for :class:`~rnnkit.tasks.seq2seq.Seq2Seq` through the one training loop:
    length-bucketed batches, teacher forcing, masked cross-entropy; validation loss, perplexity
    and greedy BLEU (tokenised) on the validation pairs."""

    items_name = "tokens"

    def __init__(self, train_src, train_tgt, dev_src, dev_tgt, tgt_vocab: Seq2SeqVocab,
                 batch_size: int = 128, seed: int = 0, teacher_forcing: float = 1.0,
                 label_smoothing: float = 0.0, bleu_sentences: int = 1000,
                 dev_refs: Sequence[Sequence[str]] | None = None):
        self.train_src, self.train_tgt = _nonempty(train_src), list(train_tgt)
        self.dev_src, self.dev_tgt = _nonempty(dev_src), list(dev_tgt)
        self.vocab = tgt_vocab
        self.batcher = BucketBatcher(
            [max(len(s), len(t)) for s, t in zip(self.train_src, self.train_tgt)],
            batch_size, seed)
        self.teacher_forcing, self.label_smoothing = teacher_forcing, label_smoothing
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.bleu_sentences = bleu_sentences
        # References for BLEU: the tokenised validation targets (unknown words kept as text).
        self.dev_refs = [list(r) for r in dev_refs] if dev_refs is not None else [
            tgt_vocab.decode_tokens(t) for t in self.dev_tgt]

    def batch(self, src, tgt):
        x, x_len = pad(src)
        bos, eos = self.vocab.bos_id, self.vocab.eos_id
        y_in, _ = pad(with_bos(tgt, bos))
        y_out, y_len = pad(with_eos(tgt, eos))
        return x, x_len, y_in, y_out, y_len

    def train_step(self, model: Seq2Seq) -> StepOutput:
        batch = next(self.batcher)
        idx = self.shard.split(batch)
        x, x_len, y_in, y_out, y_len = to_device(
            self.batch([self.train_src[i] for i in idx], [self.train_tgt[i] for i in idx]),
            device_of(model))
        logits = model(x, x_len, y_in, self.teacher_forcing, self.gen)
        loss = sequence_loss(logits, y_out, y_len, self.label_smoothing)
        return StepOutput(loss, int(y_len.sum()), 1.0, self.batcher.epochs_done,
                          share=self.shard.weight(len(batch)))

    @torch.no_grad()
    def evaluate(self, model: Seq2Seq, max_items: int | None = None) -> dict:
        n = len(self.dev_src) if max_items is None else min(len(self.dev_src), max_items)
        total, count = 0.0, 0
        dev = device_of(model)
        for idx in eval_batches([len(s) for s in self.dev_src[:n]], 128):
            x, x_len, y_in, y_out, y_len = to_device(
                self.batch([self.dev_src[i] for i in idx], [self.dev_tgt[i] for i in idx]), dev)
            logits = model(x, x_len, y_in)
            k = int(y_len.sum())
            total += sequence_loss(logits, y_out, y_len).item() * k
            count += k
        loss = total / max(count, 1)
        out = {"loss": loss, "ppl": math.exp(min(loss, 50.0))}
        m = min(n, self.bleu_sentences)
        if m:
            hyps = [self.vocab.decode_tokens(ids) for ids in
                    translate_ids(model, self.dev_src[:m], beam=1)]
            out["bleu"] = corpus_bleu(hyps, [[r] for r in self.dev_refs[:m]])["bleu"]
        return out


@torch.no_grad()
def translate_ids(model: Seq2Seq, seqs: Sequence[Sequence[int]], beam: int = 1,
                  batch_size: int = 64, length_penalty: float = 1.0, n_best: int = 1,
                  max_len: int | None = None, **sampling) -> list:
    """Target ids per source (``n_best == 1``), or per source a list of ``(ids, score)``;
    in the order of ``seqs``; batched by length."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    seqs = _nonempty(seqs)
    out: list = [None] * len(seqs)
    try:
        for idx in eval_batches([len(s) for s in seqs], batch_size):
            x, x_len = to_device(pad([seqs[i] for i in idx]), device_of(model))
            found = translate_batch(model, x, x_len, beam=beam, n_best=n_best,
                                    length_penalty=length_penalty, max_len=max_len, **sampling)
            for i, row in zip(idx, found):
                out[i] = row[0][0] if n_best == 1 else row
    finally:
        model.train(was_training)
    return out
