"""How a classifier reads and encodes its texts: the data settings, the readers and the
token (and char) ids of every text, as in training."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ...data import CharVocab, Vocab
from ...data.batching import split_indices
from ...data.tables import TextExample, read_examples
from ...data.tokens import TOKENIZERS, LabelVocab, TokenVocab, tokenize
from ..common.words import WordEncoders

# Tokenisers whose tokens are words, which char features spell.
CHAR_TOKENIZERS = ("whitespace", "regex")

log = logging.getLogger(__name__)


@dataclass
class ClassifyDataConfig:
    data: str = ""  # training data: a CSV/TSV/JSONL file, or a folder with one file per label
    dev: str | None = None  # validation data (default: a seeded dev_fraction of --data)
    dev_fraction: float = 0.1  # share of --data held out for validation when --dev is not given
    format: Literal["auto", "csv", "tsv", "jsonl", "folder"] = "auto"  # auto: from the suffix
    text_col: str = "text"  # text column: a header name or JSON key, or a 0-based index
    label_col: str = "label"  # label column: a header name or JSON key, or a 0-based index
    header: bool | None = None  # CSV/TSV: first row names the columns (default: if a col is named)
    encoding: str = "utf-8"  # text encoding of the files (rt-polarity: latin-1)
    tokenizer: Literal["whitespace", "regex", "char", "bpe"] = "regex"  # how texts split
    lowercase: bool = False  # lowercase texts before tokenising
    min_freq: int = 1  # tokens seen fewer times in training map to <unk>
    max_vocab: int = 0  # at most this many token ids, <unk> included (0: no limit)
    bpe_size: int = 4000  # BPE vocabulary size (tokenizer bpe)
    max_len: int = 0  # keep the first N tokens of each text (0: all)
    vectors: str | None = None  # GloVe / word2vec text file to initialise the embeddings
    max_word_chars: int = 20  # char features read a token's first and last N/2 chars (0: all)
    batch_size: int = 32  # B, sequences per batch (batched by similar length)
    word_dropout: float = 0.0  # training: replace a token by <unk> with this probability
    class_weights: str = "none"  # none | balanced | w1,w2,... (in sorted label order)

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the training data (--data FILE_OR_FOLDER)")
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {self.tokenizer!r}")
        if self.vectors and self.tokenizer == "bpe":
            raise ValueError("--vectors needs word tokens (tokenizer whitespace or regex), "
                             "not bpe")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def read_labelled(cfg: ClassifyDataConfig, path: str, labels: bool = True) -> list[TextExample]:
    return read_examples(path, cfg.format, cfg.text_col, cfg.label_col if labels else None,
                         cfg.header, cfg.encoding)


def load_splits(cfg: ClassifyDataConfig, seed: int) -> tuple[list, list]:
    """(train examples, validation examples)."""
    examples = read_labelled(cfg, cfg.data)
    if cfg.dev:
        return examples, read_labelled(cfg, cfg.dev)
    rest, held = split_indices(len(examples), cfg.dev_fraction, seed)
    log.info("validation: %d of %d examples of %s (seed %d)", len(held), len(examples),
             cfg.data, seed)
    return [examples[i] for i in rest], [examples[i] for i in held]


def encode_texts(vocab: Vocab, texts: Sequence[str], lowercase: bool = False,
                 max_len: int = 0) -> list[list[int]]:
    """Token ids per text (at least one: an all-unknown text is one ``<unk>``)."""
    out = []
    for t in texts:
        ids = vocab.encode(t.lower() if lowercase else t) or [vocab.unk_id or 0]
        out.append(ids[:max_len] if max_len else ids)
    return out


def encode_words(enc: WordEncoders, texts: Sequence[str], max_len: int = 0
                 ) -> tuple[list[list[int]], list[list[list[int]]]]:
    """Char features: token ids and each token's char ids, per text. The text is tokenised as
    written (the chars keep case) and tokens are looked up lowercased with ``enc.lowercase``;
    a text without tokens is one ``<unk>`` token spelled by one unknown char."""
    ids_out, chars_out = [], []
    for t in texts:
        toks = tokenize(t, enc.words.tokenizer)
        toks = toks[:max_len] if max_len else toks
        ids, chars = enc.encode(toks) if toks else ([enc.words.unk_id], [[0]])
        ids_out.append(ids)
        chars_out.append(chars)
    return ids_out, chars_out


def encode_inputs(vocab: Vocab, chars: CharVocab | None, data: ClassifyDataConfig,
                  texts: Sequence[str]) -> tuple[list[list[int]], list | None]:
    """Token ids per text and, with a char vocabulary, each token's char ids (else None)."""
    if chars is None:
        return encode_texts(vocab, texts, data.lowercase, data.max_len), None
    if not isinstance(vocab, TokenVocab) or vocab.tokenizer not in CHAR_TOKENIZERS:
        raise ValueError("char features need word tokens (tokenizer whitespace or regex), not "
                         f"{getattr(vocab, 'tokenizer', vocab.kind)!r}")
    enc = WordEncoders(vocab, chars, data.lowercase, data.max_word_chars)
    return encode_words(enc, texts, data.max_len)


def label_ids(labels: LabelVocab, examples: Sequence[TextExample]) -> list[int]:
    """Label ids; a label not seen in training is a DataError naming file and line."""
    return [labels.index(e.label, e.path, e.line) for e in examples]


