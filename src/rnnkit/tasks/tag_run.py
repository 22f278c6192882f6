"""Sequence tagging end to end as library calls (``rnnkit train tag``, ``rnnkit predict``,
``rnnkit eval`` are thin layers over these).

The run folder is the language model's (:mod:`rnnkit.train.run`), plus ``labels.json`` (the
tags), ``chars.json`` (with char features), ``dev_report.json`` and ``confusion.png``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .. import __version__
from ..data import DataError, Vocab
from ..data.batching import split_indices
from ..data.conllu import TaggedSentence, read_tagged
from ..data.tokens import LabelVocab, TokenVocab
from ..data.vectors import load_vectors, vector_dim
from ..train.loop import TrainConfig
from ..train.run import (
    load_weights,
    read_config,
    require_task,
    train_in_run,
)
from .encoder import EncoderConfig
from .metrics import (
    chunk_scores,
    classification_report,
    is_chunk_tagset,
    save_dev_report,
)
from .tag import Tagger, TaggerConfig, TagTask, predict_tags
from .words import CHARS_FILE, WordEncoders, build_char_vocab, load_char_vocab

log = logging.getLogger(__name__)


@dataclass
class TagDataConfig:
    data: str = ""  # training sentences: CoNLL-U (*.conllu[.gz]) or whitespace columns
    dev: str | None = None  # validation sentences (default: a seeded dev_fraction of --data)
    dev_fraction: float = 0.1  # share of --data held out for validation when --dev is not given
    format: str = "auto"  # auto | conllu | columns (auto: conllu for *.conllu[.gz])
    column: str = ""  # tag column: CoNLL-U name (upos, xpos...) or index (default: upos / last)
    word_col: str = ""  # word column (default: form / 0)
    encoding: str = "utf-8"  # text encoding of the files
    lowercase: bool = True  # lowercase words for the word vocabulary (char features keep case)
    min_freq: int = 1  # words seen fewer times in training map to <unk>
    max_vocab: int = 0  # at most this many word ids, <unk> included (0: no limit)
    vectors: str | None = None  # GloVe / word2vec text file to initialise the word embeddings
    max_word_chars: int = 20  # char features read a word's first and last N/2 chars (0: all)
    batch_size: int = 32  # B, sentences per batch (batched by similar length)
    word_dropout: float = 0.1  # training: replace a word id by <unk> with this probability

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the training data (--data FILE)")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def read_sentences(cfg: TagDataConfig, path: str, tags: bool = True) -> list[TaggedSentence]:
    return read_tagged(path, cfg.format, cfg.column if tags else None, cfg.word_col,
                       cfg.encoding)


def load_splits(cfg: TagDataConfig, seed: int) -> tuple[list, list]:
    sents = read_sentences(cfg, cfg.data)
    if cfg.dev:
        return sents, read_sentences(cfg, cfg.dev)
    rest, held = split_indices(len(sents), cfg.dev_fraction, seed)
    return [sents[i] for i in rest], [sents[i] for i in held]


def tag_ids(tags: LabelVocab, s: TaggedSentence) -> list[int]:
    """Tag ids; a tag not seen in training is a DataError naming file and line."""
    lines = s.tag_lines or (s.line,) * len(s.words)
    return [tags.index(t, s.path, ln) for t, ln in zip(s.tags, lines)]


TagEncoders = WordEncoders  # words to model inputs, as in training (shared with classify)


def config_from_dict(cfg: dict) -> tuple[TagDataConfig, TaggerConfig, TrainConfig]:
    m = dict(cfg["model"])
    m["encoder"] = EncoderConfig(**m["encoder"])
    return TagDataConfig(**cfg["data"]), TaggerConfig(**m), TrainConfig(**cfg["train"])


def _items(enc: TagEncoders, tags: LabelVocab, sents: Sequence[TaggedSentence]) -> list[tuple]:
    out = []
    for s in sents:
        ids, chars = enc.encode(s.words)
        out.append((ids, chars, tag_ids(tags, s)))
    return out


def tag_report(gold: Sequence[Sequence[int]], pred: Sequence[Sequence[int]],
               tags: Sequence[str]) -> dict:
    """Token accuracy, per-tag scores and confusion matrix; chunk scores for BIO tags."""
    report = classification_report([t for s in gold for t in s], [t for s in pred for t in s],
                                    tags)
    if is_chunk_tagset(tags):
        report["chunk"] = chunk_scores([[tags[t] for t in s] for s in gold],
                                       [[tags[t] for t in s] for s in pred])
    return report


def train_tagger(data: TagDataConfig, model_cfg: TaggerConfig, train: TrainConfig,
                 out: str | Path = "runs", resume: str | Path | None = None,
                 callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a tagger; returns the run folder. ``resume`` continues a run folder."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "tag")
        data, model_cfg, train = config_from_dict(cfg)
    data.validate()
    train.validate()
    train_s, dev_s = load_splits(data, train.seed)
    if resume is not None:
        words = Vocab.load(run / "vocab.json")
        tags = LabelVocab.load(run / "labels.json")
        chars = load_char_vocab(run, model_cfg.char_embed)
    else:
        tags = LabelVocab.build(t for s in train_s for t in s.tags)
        words = TokenVocab.build(([w.lower() for w in s.words] if data.lowercase else s.words
                                  for s in train_s), data.min_freq, data.max_vocab or None)
        chars = (build_char_vocab(w for s in train_s for w in s.words)
                 if model_cfg.char_embed else None)
    enc = TagEncoders(words, chars, data.lowercase, data.max_word_chars)
    train_items, dev_items = _items(enc, tags, train_s), _items(enc, tags, dev_s)
    model_cfg.vocab_size, model_cfg.num_tags = len(words), len(tags)
    model_cfg.char_vocab_size = len(chars) if chars is not None else 0
    if data.vectors and resume is None:
        model_cfg.embed = vector_dim(data.vectors)
    torch.manual_seed(train.seed)
    model = Tagger(model_cfg)
    n_vec = None
    if data.vectors and resume is None:
        n_vec = load_vectors(data.vectors, words.stoi, model.words.embedding.weight)
    task = TagTask(train_items, dev_items, tags.itos, data.batch_size, train.seed,
                   data.word_dropout, words.unk_id)
    resolved = {"task": "tag", "rnnkit": __version__, "source": data.data,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "labels": tags.itos,
                "sizes": {"train_sentences": len(train_s), "dev_sentences": len(dev_s),
                          "train_words": sum(len(s.words) for s in train_s),
                          "vocab": len(words), "vectors_found": n_vec,
                          "parameters": sum(p.numel() for p in model.parameters())}}
    artifacts = {"vocab.json": words, "labels.json": tags}
    if chars is not None:
        artifacts[CHARS_FILE] = chars
    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="tag", resume=resume, artifacts=artifacts,
        callbacks=callbacks, title=f"{model_cfg.encoder.cell} tagger: {data.data}")
    if summary["stopped"] != "interrupted":
        load_weights(model, run, "best")
        pred = predict_tags(model, [it[0] for it in dev_items],
                            None if chars is None else [it[1] for it in dev_items])
        report = tag_report([it[2] for it in dev_items], pred, tags.itos)
        save_dev_report(run, report, f"validation: token accuracy {report['accuracy']:.4f}")
    return run


@dataclass
class LoadedTagger:
    model: Tagger
    encoders: TagEncoders
    tags: LabelVocab
    data: TagDataConfig
    config: dict

    def tag(self, sentences: Sequence[Sequence[str]], batch_size: int = 128) -> list[list[str]]:
        """Tags of each sentence (a list of words)."""
        keep = [i for i, s in enumerate(sentences) if len(s)]
        enc = [self.encoders.encode(sentences[i]) for i in keep]
        chars = None if self.encoders.chars is None else [e[1] for e in enc]
        ids = predict_tags(self.model, [e[0] for e in enc], chars, batch_size) if enc else []
        out: list[list[str]] = [[] for _ in sentences]
        for i, p in zip(keep, ids):
            out[i] = [self.tags.itos[t] for t in p]
        return out


def load_tagger(run: str | Path, which: str = "best") -> LoadedTagger:
    """The trained tagger (eval mode) with its vocabularies, tags and config."""
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "tag")
    data, model_cfg, _ = config_from_dict(cfg)
    model = Tagger(model_cfg)
    load_weights(model, run, which)
    model.eval()
    words = Vocab.load(run / "vocab.json")
    chars = load_char_vocab(run, model_cfg.char_embed)
    if not isinstance(words, TokenVocab):
        raise DataError(f"expected a tokens vocabulary, found {words.kind!r}",
                        path=run / "vocab.json")
    return LoadedTagger(model, TagEncoders(words, chars, data.lowercase, data.max_word_chars),
                        LabelVocab.load(run / "labels.json"), data, cfg)


def eval_tagger_file(run: str | Path, path: str | Path, encoding: str | None = None,
                     batch_size: int = 128, which: str = "best") -> dict:
    """Token accuracy, per-tag report (and chunk F1 for BIO tags) of a trained tagger on a
    file read like its training data (same format and columns)."""
    tagger = load_tagger(run, which)
    if encoding:
        tagger.data.encoding = encoding
    sents = read_sentences(tagger.data, str(path))
    gold = [tag_ids(tagger.tags, s) for s in sents]
    enc = [tagger.encoders.encode(s.words) for s in sents]
    chars = None if tagger.encoders.chars is None else [e[1] for e in enc]
    pred = predict_tags(tagger.model, [e[0] for e in enc], chars, batch_size)
    return tag_report(gold, pred, tagger.tags.itos)
