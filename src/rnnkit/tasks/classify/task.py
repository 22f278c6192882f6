"""The classification task (many-to-one): labelled texts in, a label per text out
(``rnnkit train classify``, ``rnnkit predict``, ``rnnkit eval``).

The run folder holds ``vocab.json``, ``labels.json``, ``chars.json`` (with char features, as
the tagger's: :mod:`..common.words`), the validation report ``dev_report.json`` and its
confusion matrix ``confusion.png``; with the n-gram branch (``ngram.weight != 0``),
``ngram_model.safetensors`` and ``ngram_vocab.json`` (:mod:`.ngram`). The classifier's
probabilities are then ``(1 - w) * recurrent + w * n-gram`` everywhere: the validation
report, :meth:`LoadedClassifier.proba`, ``rnnkit predict`` and ``rnnkit eval``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ...config import section
from ...data import CharVocab, DataError, Vocab
from ...data.tokens import LabelVocab, build_text_vocab, tokenize
from ...data.vectors import vector_dim
from ...train.loop import TrainConfig
from ..common.branch_files import missing_branch
from ..common.metrics import GoldLabels, classification_report, save_dev_report
from ..common.words import CHARS_FILE, build_char_vocab, load_char_vocab, vectors_init
from ..spec import LoadedRun, Prepared
from .branch import combine, nll, train_ngram_branch
from .data import (
    CHAR_TOKENIZERS,
    ClassifyDataConfig,
    encode_inputs,
    label_ids,
    load_splits,
    read_labelled,
)
from .model import Classifier, ClassifierConfig, ClassifyTask, class_weights, predict_proba
from .ngram import MODEL_FILE as NGRAM_FILE
from .ngram import NgramModel
from .pretrain import SentenceLMTask, pretrain_in_run, target_classes

log = logging.getLogger(__name__)

PRETRAIN_DIR = "lm_pretrain"  # the LM pretraining's run folder, inside the classifier's


@dataclass
class ClassifySettings:
    """Everything a classifier run is trained from."""

    data: ClassifyDataConfig = section(ClassifyDataConfig, prefix="")
    model: ClassifierConfig = section(ClassifierConfig, prefix="")
    # the rt-polarity benchmark's settings (docs/classify_tag.md)
    train: TrainConfig = section(lambda: TrainConfig(lr=1e-3, epochs=6.0), prefix="")


@dataclass
class _Split:
    """The encoded training and validation texts (what the report and pretraining need)."""

    x_train: list
    c_train: list | None
    y_train: list[int]
    x_dev: list
    c_dev: list | None
    y_dev: list[int]
    labels: LabelVocab
    unk_id: int | None


def _artifacts(s: ClassifySettings, train_ex, run: Path | None):
    data, cfg = s.data, s.model
    if run is not None:
        return (Vocab.load(run / "vocab.json"), LabelVocab.load(run / "labels.json"),
                load_char_vocab(run, cfg.char_embed))
    labels = LabelVocab.build(e.label for e in train_ex)
    if len(labels) < 2:
        raise DataError(f"only one label ({labels.itos[0]!r}) in the training data; a "
                        "classifier needs at least two", path=data.data)
    vocab = build_text_vocab([e.text.lower() if data.lowercase else e.text for e in train_ex],
                             data.tokenizer, data.min_freq, data.max_vocab, data.bpe_size)
    chars = (build_char_vocab(t for e in train_ex for t in tokenize(e.text, data.tokenizer))
             if cfg.char_embed else None)
    return vocab, labels, chars


def prepare(s: ClassifySettings, run: Path | None) -> Prepared:
    data, cfg = s.data, s.model
    data.validate()
    if cfg.char_embed and data.tokenizer not in CHAR_TOKENIZERS:
        raise ValueError(f"char features (--char-embed) need word tokens (--tokenizer "
                         f"whitespace or regex), not {data.tokenizer!r}")
    train_ex, dev_ex = load_splits(data, s.train.seed)
    vocab, labels, chars = _artifacts(s, train_ex, run)
    x_train, c_train = encode_inputs(vocab, chars, data, [e.text for e in train_ex])
    x_dev, c_dev = encode_inputs(vocab, chars, data, [e.text for e in dev_ex])
    split = _Split(x_train, c_train, label_ids(labels, train_ex), x_dev, c_dev,
                   label_ids(labels, dev_ex), labels, vocab.unk_id)
    cfg.vocab_size, cfg.num_classes = len(vocab), len(labels)
    cfg.char_vocab_size = len(chars) if chars is not None else 0
    if data.vectors and run is None:
        cfg.embed = vector_dim(data.vectors)
    weights = class_weights(split.y_train, len(labels), data.class_weights)
    task = ClassifyTask(x_train, split.y_train, x_dev, split.y_dev, labels.itos,
                        data.batch_size, s.train.seed, weights, data.word_dropout, vocab.unk_id,
                        train_chars=c_train, dev_chars=c_dev)
    artifacts = {"vocab.json": vocab, "labels.json": labels}
    if chars is not None:
        artifacts[CHARS_FILE] = chars

    init_model = vectors_init(data.vectors, vocab.stoi)
    def before_training(model: Classifier, folder: Path, callbacks) -> dict | None:
        return pretrain_classifier(model, folder, split, data, s.train, callbacks)

    return Prepared(
        task, data.data, artifacts, info={"labels": labels.itos},
        sizes={"train": len(train_ex), "dev": len(dev_ex), "vocab": len(vocab)},
        title=f"{cfg.encoder.cell} classifier: {data.data}", init_model=init_model,
        before_training=before_training if cfg.lm_pretrain_epochs else None, state=split)


def report(model: Classifier, s: ClassifySettings, prepared: Prepared, run: Path) -> None:
    """The validation report (with the n-gram branch fitted, its weight chosen and saved)."""
    sp: _Split = prepared.state
    probs = predict_proba(model, sp.x_dev, chars=sp.c_dev)
    parts = None
    if s.model.ngram.weight:
        probs, parts = train_ngram_branch(run, s.model.ngram, s.model.num_classes, sp.x_train,
                                          sp.y_train, sp.x_dev, sp.y_dev, probs)
    rep = classification_report(sp.y_dev, probs.argmax(1).tolist(), sp.labels.itos)
    title = f"validation: accuracy {rep['accuracy']:.4f}"
    if parts is not None:
        rep["components"] = parts
        title += f" (recurrent {parts['rnn_accuracy']:.4f}, n-gram " \
                 f"{parts['ngram_accuracy']:.4f}, n-gram weight {parts['ngram_weight']:g})"
    save_dev_report(run, rep, title + f", macro-F1 {rep['macro_f1']:.4f}")


def pretrain_classifier(model: Classifier, run: Path, sp: _Split, data: ClassifyDataConfig,
                        train: TrainConfig, callbacks=None) -> dict | None:
    """Language-model pretraining of the classifier's embedding and encoder on the training
    texts (``model.cfg.lm_pretrain_*``; :mod:`.pretrain`), in ``run/lm_pretrain``, under the
    classifier's training settings with the pretraining's epochs and learning rate. Nothing to
    do (None) when the classifier has a checkpoint: it holds the pretrained weights."""
    cfg = model.cfg
    if (run / "checkpoints" / "last.safetensors").is_file():
        return None
    classes = target_classes(sp.x_train, cfg.vocab_size, cfg.lm_pretrain_vocab)
    task = SentenceLMTask(sp.x_train, sp.x_dev, classes, data.batch_size, train.seed,
                          data.word_dropout, sp.unk_id or 0, train_chars=sp.c_train,
                          dev_chars=sp.c_dev)
    pre = replace(train, epochs=cfg.lm_pretrain_epochs, steps=None, minutes=None,
                  lr=cfg.lm_pretrain_lr or train.lr, eval_every=0, early_stop=0,
                  keep_checkpoints=0, checkpoint_every=0)
    log.info("language-model pretraining: %g epochs, %d target classes", pre.epochs,
             int(classes.max()) + 2)
    return pretrain_in_run(model, task, pre, run / PRETRAIN_DIR, int(classes.max()) + 2,
                           cfg.lm_pretrain_dropout, callbacks,
                           title=f"LM pretraining of the {cfg.encoder.cell} classifier")


@dataclass
class LoadedClassifier(LoadedRun):
    """A trained classifier with its vocabulary, labels, characters (with char features) and
    n-gram branch (``ngram.mix_weight``: its weight)."""

    vocab: Vocab = field(default=None)  # type: ignore[assignment]
    labels: LabelVocab = field(default=None)  # type: ignore[assignment]
    chars: CharVocab | None = None
    ngram: NgramModel | None = None
    task = "classify"

    @classmethod
    def open(cls, run, model, settings, config):
        run = Path(run)
        ngram = None
        if settings.model.ngram.weight:
            if not NgramModel.exists(run):
                raise missing_branch(run, "n-gram", settings.model.ngram.weight, NGRAM_FILE)
            ngram = NgramModel.load(run)
        return cls(run, model, settings, config, Vocab.load(run / "vocab.json"),
                   LabelVocab.load(run / "labels.json"),
                   load_char_vocab(run, settings.model.char_embed), ngram)

    def inputs(self, texts: Sequence[str]) -> tuple[list[list[int]], list | None]:
        """Token ids per text and, with char features, each token's char ids (else None)."""
        return encode_inputs(self.vocab, self.chars, self.data, texts)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.inputs(texts)[0]

    def proba(self, texts: Sequence[str], batch_size: int = 128) -> torch.Tensor:
        """Class probabilities (N, C), in the order of ``texts``: the recurrent model's, or
        with the n-gram branch, their combination (:func:`.branch.combine`)."""
        parts = self.component_proba(texts, batch_size)
        if self.ngram is None:
            return parts["rnn"]
        return combine(parts["rnn"], parts["ngram"], self.ngram.mix_weight)

    predict_proba = proba

    def component_proba(self, texts: Sequence[str], batch_size: int = 128
                        ) -> dict[str, torch.Tensor]:
        """``{"rnn": (N, C)}`` and, with the n-gram branch, ``"ngram": (N, C)``."""
        ids, chars = self.inputs(texts)
        out = {"rnn": predict_proba(self.model, ids, batch_size, chars)}
        if self.ngram is not None:
            out["ngram"] = self.ngram.proba(ids)
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 128) -> list[tuple[str, float]]:
        """(label, probability) of the most likely class per text."""
        if not texts:
            return []
        p, k = self.proba(texts, batch_size).max(1)
        return [(self.labels.itos[i], float(q)) for i, q in zip(k.tolist(), p.tolist())]

    def evaluate(self, path: str | Path, encoding: str | None = None,
                 batch_size: int = 128) -> dict:
        """The classification report on labelled data read like the training data (same
        format and columns; ``encoding`` overrides)."""
        data = replace(self.data, encoding=encoding) if encoding else self.data
        examples = read_labelled(data, str(path))
        g = GoldLabels(self.labels.itos)
        gold = [g.id(e.label) for e in examples]
        probs = self.proba([e.text for e in examples], batch_size)
        rep = classification_report(gold, probs.argmax(1).tolist(), g.names)
        seen = [i for i, k in enumerate(gold) if k < len(self.labels)]
        rep["loss"] = nll(probs[seen], [gold[i] for i in seen]) if seen else float("nan")
        return g.note(rep)


def upgrade(saved: dict) -> dict:
    """rnnkit 0.1.0 kept the n-gram settings flat (``model.ngram_n``...) and runs saved
    before the n-gram branch existed have no ``ngram_weight``: they have no branch."""
    model = dict(saved.get("model", {}))
    if "ngram" not in model:
        ngram = {k[len("ngram_"):]: model.pop(k) for k in list(model) if k.startswith("ngram_")}
        ngram.setdefault("weight", 0.0)
        model["ngram"] = ngram
    return saved | {"model": model}


def describe(s: ClassifySettings) -> str:
    e = s.model.encoder
    return f"{e.layers}x{e.hidden} {e.cell} classifier on {s.data.data}"


def build_model(s: ClassifySettings) -> Classifier:
    return Classifier(s.model)
