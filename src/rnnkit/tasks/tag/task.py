"""The tagging task (synchronous many-to-many): sentences in, a tag per word out
(``rnnkit train tag``, ``rnnkit predict``, ``rnnkit eval``).

The run folder holds ``vocab.json``, ``labels.json`` (the tags), ``chars.json`` (with char
features), ``features.json`` (with feature columns, :mod:`.features`), ``dev_report.json`` and
``confusion.png``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from ...config import section
from ...data import DataError, Vocab
from ...data.batching import split_indices
from ...data.conllu import TaggedSentence, detect_tag_format, feature_spec, read_tagged
from ...data.tokens import LabelVocab, TokenVocab
from ...data.vectors import vector_dim
from ...train.loop import TrainConfig
from ..common.metrics import GoldLabels, save_dev_report, tag_report
from ..common.words import CHARS_FILE, WordEncoders, build_char_vocab, load_char_vocab, vectors_init
from ..spec import LoadedRun, Prepared
from .features import FEATURES_FILE, FeatureVocabs, load_features
from .model import Tagger, TaggerConfig, TagTask, predict_tags

log = logging.getLogger(__name__)

TagEncoders = WordEncoders  # words to model inputs, as in training (shared with classify)


@dataclass
class TagDataConfig:
    data: str = ""  # training sentences: CoNLL-U (*.conllu[.gz]) or whitespace columns
    dev: str | None = None  # validation sentences (default: a seeded dev_fraction of --data)
    dev_fraction: float = 0.1  # share of --data held out for validation when --dev is not given
    format: Literal["auto", "conllu", "columns"] = "auto"  # auto: conllu for *.conllu[.gz]
    column: str = ""  # tag column: CoNLL-U name (upos, xpos...) or index (default: upos / last)
    word_col: str = ""  # word column (default: form / 0)
    feature_cols: str = "all"  # input columns besides word and tag: all, none or indexes 1,2
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
        feature_spec(self.feature_cols)


@dataclass
class TagSettings:
    """Everything a tagger run is trained from."""

    data: TagDataConfig = section(TagDataConfig, prefix="")
    model: TaggerConfig = section(TaggerConfig, prefix="")
    train: TrainConfig = section(lambda: TrainConfig(epochs=6.0), prefix="")


def read_sentences(cfg: TagDataConfig, path: str, tags: bool = True,
                   features=None) -> list[TaggedSentence]:
    """``features``: the feature columns to read (a run's resolved ones; None: words only)."""
    return read_tagged(path, cfg.format, cfg.column if tags else None, cfg.word_col,
                       cfg.encoding, features)


def load_splits(cfg: TagDataConfig, seed: int, features=None) -> tuple[list, list]:
    """Training and validation sentences. The feature columns (``features``, a resumed run's;
    default the ``feature_cols`` setting) are resolved on the training file and read the same
    from the dev file."""
    sents = read_sentences(cfg, cfg.data, features=cfg.feature_cols if features is None
                           else features)
    if cfg.dev:
        cols = sents[0].feature_cols if sents else ()
        return sents, read_sentences(cfg, cfg.dev, features=cols)
    rest, held = split_indices(len(sents), cfg.dev_fraction, seed)
    return [sents[i] for i in rest], [sents[i] for i in held]


def tag_ids(tags: LabelVocab, s: TaggedSentence) -> list[int]:
    """Tag ids; a tag not seen in training is a DataError naming file and line."""
    lines = s.tag_lines or (s.line,) * len(s.words)
    return [tags.index(t, s.path, ln) for t, ln in zip(s.tags, lines)]


def _items(enc: TagEncoders, tags: LabelVocab, sents: Sequence[TaggedSentence],
           feats: FeatureVocabs | None = None) -> list[tuple]:
    out = []
    for s in sents:
        ids, chars = enc.encode(s.words)
        out.append((ids, chars, tag_ids(tags, s), None if feats is None else feats.encode(s)))
    return out


def _artifacts(s: TagSettings, train_s, run: Path | None):
    if run is not None:
        return (Vocab.load(run / "vocab.json"), LabelVocab.load(run / "labels.json"),
                load_char_vocab(run, s.model.char_embed))
    tags = LabelVocab.build(t for x in train_s for t in x.tags)
    words = TokenVocab.build(([w.lower() for w in x.words] if s.data.lowercase else x.words
                              for x in train_s), s.data.min_freq, s.data.max_vocab or None)
    chars = (build_char_vocab(w for x in train_s for w in x.words)
             if s.model.char_embed else None)
    return words, tags, chars


def _resumed_features(s: TagSettings, run: Path | None) -> FeatureVocabs | None:
    """A resumed run's feature columns (None: a new run, or one of words only)."""
    return None if run is None else load_features(run, s.model.feature_vocab_sizes)


def prepare(s: TagSettings, run: Path | None) -> Prepared:
    data, cfg = s.data, s.model
    data.validate()
    feats = _resumed_features(s, run)
    train_s, dev_s = load_splits(data, s.train.seed, None if run is None else
                                 (feats.columns if feats is not None else "none"))
    words, tags, chars = _artifacts(s, train_s, run)
    if run is None:
        feats = FeatureVocabs.build(train_s)
    enc = TagEncoders(words, chars, data.lowercase, data.max_word_chars)
    train_items, dev_items = _items(enc, tags, train_s, feats), _items(enc, tags, dev_s, feats)
    cfg.vocab_size, cfg.num_tags = len(words), len(tags)
    cfg.char_vocab_size = len(chars) if chars is not None else 0
    cfg.feature_vocab_sizes = feats.sizes if feats is not None else ()
    if data.vectors and run is None:
        cfg.embed = vector_dim(data.vectors)
    task = TagTask(train_items, dev_items, tags.itos, data.batch_size, s.train.seed,
                   data.word_dropout, words.unk_id)
    artifacts = {"vocab.json": words, "labels.json": tags}
    if chars is not None:
        artifacts[CHARS_FILE] = chars
    if feats is not None:
        artifacts[FEATURES_FILE] = feats
        log.info("feature columns %s (vocabularies %s)", list(feats.columns), list(feats.sizes))

    init_model = vectors_init(data.vectors, words.stoi)
    return Prepared(task, data.data, artifacts, info={"labels": tags.itos},
                    sizes={"train_sentences": len(train_s), "dev_sentences": len(dev_s),
                           "train_words": sum(len(x.words) for x in train_s),
                           "vocab": len(words)},
                    title=f"{cfg.encoder.cell} tagger: {data.data}", init_model=init_model,
                    state=(dev_items, tags, chars))


def report(model: Tagger, s: TagSettings, prepared: Prepared, run: Path) -> None:
    dev_items, tags, chars = prepared.state
    pred = predict_tags(model, [it[0] for it in dev_items],
                        None if chars is None else [it[1] for it in dev_items],
                        features=[it[3] for it in dev_items] if dev_items and
                        dev_items[0][3] is not None else None)
    rep = tag_report([it[2] for it in dev_items], pred, tags.itos)
    save_dev_report(run, rep, f"validation: token accuracy {rep['accuracy']:.4f}")


@dataclass
class LoadedTagger(LoadedRun):
    """A trained tagger with its word (and char) encoders, tags and feature columns."""

    encoders: TagEncoders = field(default=None)  # type: ignore[assignment]
    tags: LabelVocab = field(default=None)  # type: ignore[assignment]
    features: FeatureVocabs | None = None  # the input feature columns (None: words only)
    task = "tag"

    @classmethod
    def open(cls, run, model, settings, config):
        run = Path(run)
        words = Vocab.load(run / "vocab.json")
        if not isinstance(words, TokenVocab):
            raise DataError(f"expected a tokens vocabulary, found {words.kind!r}",
                            path=run / "vocab.json")
        chars = load_char_vocab(run, settings.model.char_embed)
        enc = TagEncoders(words, chars, settings.data.lowercase, settings.data.max_word_chars)
        return cls(run, model, settings, config, enc, LabelVocab.load(run / "labels.json"),
                   load_features(run, settings.model.feature_vocab_sizes))

    @property
    def feature_columns(self) -> list[str]:
        """The feature columns the model reads, as the data name them (empty: words only)."""
        if self.features is None:
            return []
        conllu = detect_tag_format(self.data.data or "x", self.data.format) == "conllu"
        return self.features.names(conllu)

    def read(self, path: str | Path, tags: bool = True, encoding: str | None = None,
             fmt: str | None = None) -> list[TaggedSentence]:
        """Sentences of a file read like the training data (same columns, feature columns
        included; ``fmt``: another format)."""
        data = replace(self.data, encoding=encoding) if encoding else self.data
        data = replace(data, format=fmt) if fmt else data
        cols = self.features.columns if self.features is not None else None
        return read_sentences(data, str(path), tags, cols)

    def _feature_ids(self, n: int, features) -> list | None:
        if self.features is None:
            if features is not None:
                raise ValueError("this tagger reads words only: give no features")
            return None
        if features is None:
            raise ValueError(f"this tagger reads the feature columns {self.feature_columns} "
                             "next to the words: give features (per sentence, per word, one "
                             "value per column) or tag a file that has those columns")
        if len(features) != n:
            raise ValueError(f"give features for each of the {n} sentences, got {len(features)}")
        return [self.features.encode_rows(f) for f in features]

    def tag(self, sentences: Sequence[Sequence[str]], batch_size: int = 128,
            features: Sequence[Sequence[Sequence[str]]] | None = None) -> list[list[str]]:
        """Tags of each sentence (a list of words). ``features``, for a run with feature
        columns (:attr:`feature_columns`): per sentence, per word, the value of each column."""
        fids = self._feature_ids(len(sentences), features)
        keep = [i for i, s in enumerate(sentences) if len(s)]
        if fids is not None:
            for i in keep:
                if len(fids[i]) != len(sentences[i]):
                    raise ValueError(f"sentence {i + 1}: {len(sentences[i])} words but "
                                     f"{len(fids[i])} rows of features")
        enc = [self.encoders.encode(sentences[i]) for i in keep]
        chars = None if self.encoders.chars is None else [e[1] for e in enc]
        ids = predict_tags(self.model, [e[0] for e in enc], chars, batch_size,
                           None if fids is None else [fids[i] for i in keep]) if enc else []
        out: list[list[str]] = [[] for _ in sentences]
        for i, p in zip(keep, ids):
            out[i] = [self.tags.itos[t] for t in p]
        return out

    predict = tag

    def evaluate(self, path: str | Path, encoding: str | None = None,
                 batch_size: int = 128) -> dict:
        """Token accuracy, per-tag report (and chunk F1 for BIO tags) on a file read like
        the training data (same format and columns)."""
        sents = self.read(path, encoding=encoding)
        g = GoldLabels(self.tags.itos)
        gold = [[g.id(t) for t in s.tags] for s in sents]
        enc = [self.encoders.encode(s.words) for s in sents]
        chars = None if self.encoders.chars is None else [e[1] for e in enc]
        feats = None if self.features is None else [self.features.encode(s) for s in sents]
        pred = predict_tags(self.model, [e[0] for e in enc], chars, batch_size, feats)
        return g.note(tag_report(gold, pred, g.names))


def upgrade(saved: dict) -> dict:
    """Runs saved before feature columns (no ``data.feature_cols``) read words only."""
    data = dict(saved.get("data", {}))
    data.setdefault("feature_cols", "none")
    return saved | {"data": data}


def describe(s: TagSettings) -> str:
    e = s.model.encoder
    crf = " + CRF" if s.model.crf else ""
    return f"{e.layers}x{e.hidden} {e.cell} tagger{crf} on {s.data.data}"


def build_model(s: TagSettings) -> Tagger:
    return Tagger(s.model)
