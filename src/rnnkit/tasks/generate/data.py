"""What a conditioned generator trains on: texts with a condition label, or the built-in
digit-captioning images, encoded (:class:`GenerationData`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from ...data import DataError
from ...data.digits import WORDS, DigitSplits, digit_splits
from ...data.names import dedup_examples, split_per_label
from ...data.tables import TextExample, read_examples
from ...data.tokens import LabelVocab, TokenVocab, tokenize
from ...data.vocab import CharVocab, Vocab

log = logging.getLogger(__name__)

DIGITS = "digits"
TEXT_TOKENIZERS = ("char", "whitespace")
CHAR_END = "\n"  # a character-level end (and start) token: no line holds one
WORD_END = "</s>"


@dataclass
class GenerateDataConfig:
    data: str = ""  # digits (built-in captioning), or labelled texts: a folder, CSV, TSV, JSONL
    dev: str | None = None  # texts: validation data (default: a seeded dev_fraction of each label)
    dev_fraction: float = 0.1  # texts: share of each label's deduplicated examples held out
    format: Literal["auto", "csv", "tsv", "jsonl", "folder"] = "auto"  # texts: file kind
    text_col: str = "text"  # texts: text column (a header name or JSON key, or a 0-based index)
    label_col: str = "label"  # texts: condition label column
    header: bool | None = None  # texts, CSV/TSV: first row names the columns
    encoding: str = "utf-8"  # texts: file encoding
    tokenizer: Literal["char", "whitespace"] = "char"  # texts: a token per character, or words
    batch_size: int = 64  # B, sequences per batch
    digits_train: int = 20000  # digits: training composites (images of the train pool only)
    digits_dev: int = 1000  # digits: validation composites (images of the dev pool only)
    digits_test: int = 2000  # digits: test composites (held-out images only)
    digits_test_fraction: float = 0.2  # digits: share of the 1797 source images held out for test
    digits_dev_fraction: float = 0.1  # digits: share held out for validation (0: none)
    max_digits: int = 4  # digits: 1..N digits per composite; images are 8 x 8N

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the training data: --data digits, or --data FOLDER_OR_FILE "
                             "of texts with labels (e.g. one file of names per language)")
        if self.tokenizer not in TEXT_TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {TEXT_TOKENIZERS}, got "
                             f"{self.tokenizer!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    @property
    def kind(self) -> str:
        return DIGITS if self.data == DIGITS else "texts"


@dataclass
class GenerationData:
    """Everything a generator trains and is evaluated on, encoded."""

    kind: str  # "texts" | "digits"
    vocab: Vocab
    end: str  # the end token (also the first input)
    train_cond: torch.Tensor
    train_seqs: list[list[int]]
    dev_cond: torch.Tensor
    dev_seqs: list[list[int]]
    labels: LabelVocab | None = None  # texts
    digits: DigitSplits | None = None  # digits
    sizes: dict = field(default_factory=dict)

    @property
    def end_id(self) -> int:
        return self.vocab.stoi[self.end]  # type: ignore[attr-defined]


def text_vocab(texts: Sequence[str], tokenizer: str) -> tuple[Vocab, str]:
    """(vocabulary with an end token, the end token)."""
    if tokenizer == "char":
        return CharVocab.build("".join(texts) + CHAR_END), CHAR_END
    words = TokenVocab.build([tokenize(t, "whitespace") for t in texts]).itos[1:]
    return TokenVocab([WORD_END, *(w for w in words if w != WORD_END)], "whitespace"), WORD_END


def digits_vocab() -> tuple[TokenVocab, str]:
    return TokenVocab([WORD_END, *WORDS], "whitespace"), WORD_END


def _encode(vocab: Vocab, texts: Sequence[str]) -> list[list[int]]:
    return [vocab.encode(t) for t in texts]


def load_text_splits(cfg: GenerateDataConfig, seed: int
                     ) -> tuple[list[TextExample], list[TextExample], dict]:
    """(train, validation, counts): deduplicated (text, label) pairs, split per label."""
    raw = read_examples(cfg.data, cfg.format, cfg.text_col, cfg.label_col, cfg.header,
                        cfg.encoding)
    examples = dedup_examples(raw)
    counts = {"read": len(raw), "unique_pairs": len(examples)}
    if cfg.dev:
        dev = dedup_examples(read_examples(cfg.dev, cfg.format, cfg.text_col, cfg.label_col,
                                           cfg.header, cfg.encoding))
        seen = {(e.text, e.label) for e in examples}
        leaked = sum((e.text, e.label) in seen for e in dev)
        if leaked:
            log.warning("%d validation (text, label) pairs are also in the training data", leaked)
        return examples, dev, counts
    train, dev = split_per_label(examples, cfg.dev_fraction, seed)
    if not dev:
        raise DataError("too few examples to hold out a validation split (a label needs two "
                        "distinct texts); give --dev", path=cfg.data)
    return train, dev, counts


def prepare_texts(cfg: GenerateDataConfig, seed: int, vocab: Vocab | None = None,
                  labels: LabelVocab | None = None) -> GenerationData:
    train, dev, counts = load_text_splits(cfg, seed)
    if labels is None:
        labels = LabelVocab.build(e.label for e in train)
    if vocab is None:
        vocab, end = text_vocab([e.text for e in train], cfg.tokenizer)
    else:
        end = CHAR_END if isinstance(vocab, CharVocab) else WORD_END
    y_train = [labels.index(e.label, e.path, e.line) for e in train]
    y_dev = [labels.index(e.label, e.path, e.line) for e in dev]
    x_train, x_dev = _encode(vocab, [e.text for e in train]), _encode(vocab, [e.text for e in dev])
    empty = [e for e, x in zip(train + dev, x_train + x_dev) if not x]
    if empty:
        e = empty[0]
        raise DataError(f"text {e.text!r} has no tokens", path=e.path, line=e.line)
    return GenerationData(
        "texts", vocab, end, torch.tensor(y_train), x_train, torch.tensor(y_dev), x_dev,
        labels=labels,
        sizes=counts | {"train": len(train), "dev": len(dev), "labels": len(labels),
                        "vocab": len(vocab)})


def digit_data(cfg: GenerateDataConfig, seed: int) -> DigitSplits:
    return digit_splits(cfg.digits_train, cfg.digits_dev, cfg.digits_test,
                        cfg.digits_test_fraction, cfg.digits_dev_fraction, cfg.max_digits, seed)


def prepare_digits(cfg: GenerateDataConfig, seed: int) -> GenerationData:
    splits = digit_data(cfg, seed)
    vocab, end = digits_vocab()
    return GenerationData(
        DIGITS, vocab, end, splits.train.images, _encode(vocab, splits.train.captions()),
        splits.dev.images, _encode(vocab, splits.dev.captions()), digits=splits,
        sizes={"train": len(splits.train), "dev": len(splits.dev), "test": len(splits.test),
               "source_images": {k: len(v) for k, v in splits.pools.items()},
               "vocab": len(vocab)})


def prepare_data(cfg: GenerateDataConfig, seed: int, vocab: Vocab | None = None,
                 labels: LabelVocab | None = None) -> GenerationData:
    cfg.validate()
    if cfg.kind == DIGITS:
        return prepare_digits(cfg, seed)
    return prepare_texts(cfg, seed, vocab, labels)
