"""Sequence classification end to end as library calls (``rnnkit train classify``,
``rnnkit predict``, ``rnnkit eval`` are thin layers over these).

The run folder is the language model's (:mod:`rnnkit.train.run`), plus ``labels.json``,
``chars.json`` (with char features, as the tagger's: :mod:`.words`), the validation report
``dev_report.json`` and its confusion matrix ``confusion.png``; with the n-gram branch
(``ngram_weight != 0``), ``ngram_model.safetensors`` and ``ngram_vocab.json`` (:mod:`.nbsvm`).
The classifier's probabilities are then ``(1 - w) * recurrent + w * n-gram``, everywhere:
the validation report, :meth:`LoadedClassifier.proba`, ``rnnkit predict`` and ``rnnkit eval``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from .. import __version__
from ..data import CharVocab, DataError, Vocab
from ..data.batching import split_indices
from ..data.tables import TextExample, read_examples
from ..data.tokens import TOKENIZERS, LabelVocab, TokenVocab, build_text_vocab, tokenize
from ..data.vectors import load_vectors, vector_dim
from ..train.loop import TrainConfig
from ..train.run import (
    load_weights,
    read_config,
    require_task,
    train_in_run,
)
from .classify import (
    Classifier,
    ClassifierConfig,
    ClassifyTask,
    class_weights,
    ngram_config,
    predict_proba,
)
from .encoder import EncoderConfig
from .metrics import classification_report, save_dev_report
from .nbsvm import MODEL_FILE as NGRAM_FILE
from .nbsvm import NgramModel
from .pretrain import SentenceLMTask, pretrain_in_run, target_classes
from .words import CHARS_FILE, WordEncoders, build_char_vocab, load_char_vocab

# Tokenisers whose tokens are words, which char features spell.
CHAR_TOKENIZERS = ("whitespace", "regex")

log = logging.getLogger(__name__)


@dataclass
class ClassifyDataConfig:
    data: str = ""  # training data: a CSV/TSV/JSONL file, or a folder with one file per label
    dev: str | None = None  # validation data (default: a seeded dev_fraction of --data)
    dev_fraction: float = 0.1  # share of --data held out for validation when --dev is not given
    format: str = "auto"  # auto | csv | tsv | jsonl | folder (auto: from the suffix)
    text_col: str = "text"  # text column: a header name or JSON key, or a 0-based index
    label_col: str = "label"  # label column: a header name or JSON key, or a 0-based index
    header: bool | None = None  # CSV/TSV: first row names the columns (default: if a col is named)
    encoding: str = "utf-8"  # text encoding of the files (rt-polarity: latin-1)
    tokenizer: str = "regex"  # whitespace | regex | char | bpe
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


def config_from_dict(cfg: dict) -> tuple[ClassifyDataConfig, ClassifierConfig, TrainConfig]:
    m = dict(cfg["model"])
    m["encoder"] = EncoderConfig(**m["encoder"])
    return ClassifyDataConfig(**cfg["data"]), ClassifierConfig(**m), TrainConfig(**cfg["train"])


def train_classifier(data: ClassifyDataConfig, model_cfg: ClassifierConfig, train: TrainConfig,
                     out: str | Path = "runs", resume: str | Path | None = None,
                     callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a classifier; returns the run folder. ``resume`` continues a run folder."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "classify")
        data, model_cfg, train = config_from_dict(cfg)
    data.validate()
    train.validate()
    if model_cfg.char_embed and data.tokenizer not in CHAR_TOKENIZERS:
        raise ValueError(f"char features (--char-embed) need word tokens (--tokenizer "
                         f"whitespace or regex), not {data.tokenizer!r}")
    train_ex, dev_ex = load_splits(data, train.seed)
    if resume is not None:
        vocab, labels = Vocab.load(run / "vocab.json"), LabelVocab.load(run / "labels.json")
        chars = load_char_vocab(run, model_cfg.char_embed)
    else:
        labels = LabelVocab.build(e.label for e in train_ex)
        if len(labels) < 2:
            raise DataError(f"only one label ({labels.itos[0]!r}) in the training data; a "
                            "classifier needs at least two", path=data.data)
        vocab = build_text_vocab([e.text.lower() if data.lowercase else e.text
                                  for e in train_ex], data.tokenizer, data.min_freq,
                                 data.max_vocab, data.bpe_size)
        chars = (build_char_vocab(t for e in train_ex for t in tokenize(e.text, data.tokenizer))
                 if model_cfg.char_embed else None)
    x_train, c_train = encode_inputs(vocab, chars, data, [e.text for e in train_ex])
    x_dev, c_dev = encode_inputs(vocab, chars, data, [e.text for e in dev_ex])
    y_train, y_dev = label_ids(labels, train_ex), label_ids(labels, dev_ex)
    model_cfg.vocab_size, model_cfg.num_classes = len(vocab), len(labels)
    model_cfg.char_vocab_size = len(chars) if chars is not None else 0
    if data.vectors and resume is None:
        model_cfg.embed = vector_dim(data.vectors)
    torch.manual_seed(train.seed)
    model = Classifier(model_cfg)
    n_vec = None
    if data.vectors and resume is None:
        n_vec = load_vectors(data.vectors, vocab.stoi, model.words.embedding.weight)
    weights = class_weights(y_train, len(labels), data.class_weights)
    task = ClassifyTask(x_train, y_train, x_dev, y_dev, labels.itos, data.batch_size,
                        train.seed, weights, data.word_dropout, vocab.unk_id,
                        train_chars=c_train, dev_chars=c_dev)
    resolved = {"task": "classify", "rnnkit": __version__, "source": data.data,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "labels": labels.itos,
                "sizes": {"train": len(train_ex), "dev": len(dev_ex), "vocab": len(vocab),
                          "vectors_found": n_vec,
                          "parameters": sum(p.numel() for p in model.parameters())}}
    artifacts = {"vocab.json": vocab, "labels.json": labels}
    if chars is not None:
        artifacts[CHARS_FILE] = chars
    prepare = None
    if model_cfg.lm_pretrain_epochs:
        def prepare(run: Path) -> dict | None:
            return pretrain_classifier(model, run, x_train, x_dev, data, train, vocab.unk_id,
                                       c_train, c_dev, callbacks)

    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="classify", resume=resume,
        artifacts=artifacts, callbacks=callbacks, prepare=prepare,
        title=f"{model_cfg.encoder.cell} classifier: {data.data}")
    if summary["stopped"] != "interrupted":
        load_weights(model, run, "best")
        probs = predict_proba(model, x_dev, chars=c_dev)
        parts = None
        if model_cfg.ngram_weight:
            probs, parts = train_ngram_branch(run, model_cfg, x_train, y_train, x_dev, y_dev,
                                              probs)
        report = classification_report(y_dev, probs.argmax(1).tolist(), labels.itos)
        title = f"validation: accuracy {report['accuracy']:.4f}"
        if parts is not None:
            report["components"] = parts
            title += f" (recurrent {parts['rnn_accuracy']:.4f}, n-gram " \
                     f"{parts['ngram_accuracy']:.4f}, n-gram weight {parts['ngram_weight']:g})"
        save_dev_report(run, report, title + f", macro-F1 {report['macro_f1']:.4f}")
    return run


# Candidate n-gram weights for ngram_weight = -1 (auto).
WEIGHT_GRID = tuple(i / 20 for i in range(21))


def combine(p_rnn: torch.Tensor, p_ngram: torch.Tensor, weight: float) -> torch.Tensor:
    """The classifier's probabilities with the n-gram branch: ``(1 - w) p_rnn + w p_ngram``."""
    return p_rnn if weight == 0 else (1 - weight) * p_rnn + weight * p_ngram


def nll(probs: torch.Tensor, gold: Sequence[int]) -> float:
    return torch.nn.functional.nll_loss(probs.clamp_min(1e-12).log(),
                                        torch.as_tensor(list(gold))).item()


def choose_ngram_weight(p_rnn: torch.Tensor, p_ngram: torch.Tensor, gold: Sequence[int],
                        grid: Sequence[float] = WEIGHT_GRID) -> float:
    """The weight of the grid whose combination has the lowest log-loss on ``gold`` (the
    criterion that picks the best checkpoint); the first one on ties (within 1e-9)."""
    p_rnn, p_ngram = p_rnn.double(), p_ngram.double()
    losses = [nll(combine(p_rnn, p_ngram, w), gold) for w in grid]
    finite = [x for x in losses if math.isfinite(x)]
    if not finite:
        raise ValueError("cannot choose the n-gram weight: no combination has a finite "
                         "validation log-loss (are the recurrent model's probabilities NaN?)")
    best = min(finite)
    return next(w for w, x in zip(grid, losses) if math.isfinite(x) and x <= best + 1e-9)


def train_ngram_branch(run: Path, cfg: ClassifierConfig, x_train, y_train, x_dev, y_dev,
                       p_rnn: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Fit the n-gram model on the training texts, (squared hinge) calibrate it and (weight
    -1) choose its weight on the validation texts, save it in ``run``; returns the combined
    validation probabilities and the components' validation scores."""
    t0 = time.perf_counter()
    ngram = NgramModel.fit(x_train, y_train, cfg.num_classes, ngram_config(cfg))
    if ngram.cfg.loss != "logistic":
        ngram.calibrate(x_dev, y_dev)
    p_ngram = ngram.proba(x_dev)
    w = cfg.ngram_weight if cfg.ngram_weight >= 0 else choose_ngram_weight(p_rnn, p_ngram,
                                                                             y_dev)
    ngram.mix_weight = w
    ngram.save(run)
    gold = torch.as_tensor(list(y_dev))

    def acc(p):
        return (p.argmax(1) == gold).double().mean().item() if len(gold) else 0.0

    probs = combine(p_rnn, p_ngram, w)
    parts = {"ngram_weight": w, "rnn_accuracy": acc(p_rnn), "ngram_accuracy": acc(p_ngram),
             "rnn_loss": nll(p_rnn, y_dev), "ngram_loss": nll(p_ngram, y_dev),
             "ngrams": len(ngram.vocab), "fit_s": round(time.perf_counter() - t0, 2)}
    log.info("n-gram branch: %d n-grams, weight %g; validation accuracy recurrent %.4f, "
             "n-gram %.4f, combined %.4f", len(ngram.vocab), w, parts["rnn_accuracy"],
             parts["ngram_accuracy"], acc(probs))
    return probs, parts


PRETRAIN_DIR = "lm_pretrain"  # the LM pretraining's run folder, inside the classifier's


def pretrain_classifier(model: Classifier, run: Path, x_train: Sequence[Sequence[int]],
                        x_dev: Sequence[Sequence[int]], data: ClassifyDataConfig,
                        train: TrainConfig, unk_id: int | None = 0, c_train=None, c_dev=None,
                        callbacks=None) -> dict | None:
    """Language-model pretraining of the classifier's embedding and encoder on the training
    texts (``model.cfg.lm_pretrain_*``; :mod:`.pretrain`), in ``run/lm_pretrain``, under the
    classifier's training settings with the pretraining's epochs and learning rate. Nothing to
    do (None) when the classifier has a checkpoint: it holds the pretrained weights."""
    cfg = model.cfg
    if (run / "checkpoints" / "last.safetensors").is_file():
        return None
    classes = target_classes(x_train, cfg.vocab_size, cfg.lm_pretrain_vocab)
    task = SentenceLMTask(x_train, x_dev, classes, data.batch_size, train.seed,
                          data.word_dropout, unk_id or 0, train_chars=c_train, dev_chars=c_dev)
    pre = replace(train, epochs=cfg.lm_pretrain_epochs, steps=None, minutes=None,
                  lr=cfg.lm_pretrain_lr or train.lr, eval_every=0, early_stop=0,
                  keep_checkpoints=0, checkpoint_every=0)
    log.info("language-model pretraining: %g epochs, %d target classes", pre.epochs,
             int(classes.max()) + 2)
    return pretrain_in_run(model, task, pre, run / PRETRAIN_DIR, int(classes.max()) + 2,
                           cfg.lm_pretrain_dropout, callbacks,
                           title=f"LM pretraining of the {cfg.encoder.cell} classifier")


@dataclass
class LoadedClassifier:
    model: Classifier
    vocab: Vocab
    labels: LabelVocab
    data: ClassifyDataConfig  # how the training data were read and encoded
    config: dict  # the run's resolved config
    chars: CharVocab | None = None  # the characters, with char features
    ngram: NgramModel | None = None  # the n-gram branch (ngram.mix_weight: its weight)

    def inputs(self, texts: Sequence[str]) -> tuple[list[list[int]], list | None]:
        """Token ids per text and, with char features, each token's char ids (else None)."""
        return encode_inputs(self.vocab, self.chars, self.data, texts)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.inputs(texts)[0]

    def proba(self, texts: Sequence[str], batch_size: int = 128) -> torch.Tensor:
        """Class probabilities (N, C), in the order of ``texts``: the recurrent model's, or
        with the n-gram branch, their combination (:func:`combine`)."""
        parts = self.component_proba(texts, batch_size)
        if self.ngram is None:
            return parts["rnn"]
        return combine(parts["rnn"], parts["ngram"], self.ngram.mix_weight)

    def component_proba(self, texts: Sequence[str], batch_size: int = 128
                        ) -> dict[str, torch.Tensor]:
        """``{"rnn": (N, C)}`` and, with the n-gram branch, ``"ngram": (N, C)``."""
        ids, chars = self.inputs(texts)
        out = {"rnn": predict_proba(self.model, ids, batch_size, chars)}
        if self.ngram is not None:
            out["ngram"] = self.ngram.proba(ids)
        return out


def load_classifier(run: str | Path, which: str = "best") -> LoadedClassifier:
    """The trained classifier (eval mode) with its vocabulary, labels, config and (with char
    features) characters."""
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "classify")
    data, model_cfg, _ = config_from_dict(cfg)
    model = Classifier(model_cfg)
    load_weights(model, run, which)
    model.eval()
    ngram = None
    if model_cfg.ngram_weight:
        if not NgramModel.exists(run):
            raise FileNotFoundError(f"{run}: the run has an n-gram branch (ngram_weight "
                                    f"{model_cfg.ngram_weight:g}) but no {NGRAM_FILE}: its "
                                    "training did not finish; continue it with --resume")
        ngram = NgramModel.load(run)
    return LoadedClassifier(model, Vocab.load(run / "vocab.json"),
                            LabelVocab.load(run / "labels.json"), data, cfg,
                            load_char_vocab(run, model_cfg.char_embed), ngram)


def predict_texts(clf: LoadedClassifier, texts: Sequence[str], batch_size: int = 128
                  ) -> list[tuple[str, float]]:
    """(label, probability) of the most likely class per text."""
    if not texts:
        return []
    probs = clf.proba(texts, batch_size)
    p, k = probs.max(1)
    return [(clf.labels.itos[i], float(q)) for i, q in zip(k.tolist(), p.tolist())]


def eval_classifier_file(run: str | Path, path: str | Path, encoding: str | None = None,
                         batch_size: int = 128, which: str = "best") -> dict:
    """The classification report of a trained classifier on labelled data read like its
    training data (same format and columns; ``encoding`` overrides)."""
    clf = load_classifier(run, which)
    if encoding:
        clf.data.encoding = encoding
    examples = read_labelled(clf.data, str(path))
    gold = label_ids(clf.labels, examples)
    probs = clf.proba([e.text for e in examples], batch_size)
    report = classification_report(gold, probs.argmax(1).tolist(), clf.labels.itos)
    report["loss"] = nll(probs, gold)
    return report
