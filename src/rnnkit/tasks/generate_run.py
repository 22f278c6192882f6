"""One-to-many generation end to end as library calls (``rnnkit train generate`` and
``rnnkit sample RUN --condition ...`` are thin layers over these).

Two kinds of data:

* **texts with a condition label** (``data="FOLDER"``, e.g. ``names-18lang/names``: one file per
  language, or a CSV/TSV/JSONL file with text and label columns). (text, label) pairs are
  deduplicated, then split per label (:mod:`rnnkit.data.names`). Character tokens (or words)
  plus an end token; the condition is the label's embedding.
* **digit captioning** (``data="digits"``): images of 1-4 handwritten digits side by side,
  captioned in words (:mod:`rnnkit.data.digits`); the condition is the image, through a small
  CNN trained with the generator. Test composites only use held-out source images.

The run folder is the other tasks' (:mod:`rnnkit.train.run`) plus ``labels.json`` (texts),
``report.json`` (texts: per-label validation perplexity and samples; digits: exact match and
token accuracy on the held-out test composites, greedy and beam) and ``samples.txt``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .. import __version__
from ..data import DataError
from ..data.digits import (
    WORDS,
    Composites,
    DigitSplits,
    ascii_image,
    caption,
    compose,
    digit_splits,
    parse_digits,
)
from ..data.names import dedup_examples, split_per_label
from ..data.tables import TextExample, read_examples
from ..data.tokens import LabelVocab, TokenVocab, tokenize
from ..data.vocab import CharVocab, Vocab
from ..train.loop import TrainConfig
from ..train.run import load_weights, read_config, require_task, train_in_run, write_json
from .encoder import EncoderConfig
from .generate import (
    GenerateTask,
    Generator,
    GeneratorConfig,
    beam_ids,
    caption_scores,
    generate_ids,
    sequence_nll,
)

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
    format: str = "auto"  # texts: auto | csv | tsv | jsonl | folder
    text_col: str = "text"  # texts: text column (a header name or JSON key, or a 0-based index)
    label_col: str = "label"  # texts: condition label column
    header: bool | None = None  # texts, CSV/TSV: first row names the columns
    encoding: str = "utf-8"  # texts: file encoding
    tokenizer: str = "char"  # texts: char (one token per character) | whitespace (words)
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


# Data ------------------------------------------------------------------------------------------

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


def config_from_dict(cfg: dict) -> tuple[GenerateDataConfig, GeneratorConfig, TrainConfig]:
    m = dict(cfg["model"])
    m["encoder"] = EncoderConfig(**m["encoder"])
    return (GenerateDataConfig(**cfg["data"]), GeneratorConfig(**m),
            TrainConfig(**cfg["train"]))


# Training --------------------------------------------------------------------------------------

def train_generator(data: GenerateDataConfig, model_cfg: GeneratorConfig, train: TrainConfig,
                    out: str | Path = "runs", resume: str | Path | None = None,
                    callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a conditioned generator; returns the run folder (``resume`` continues one)."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "generate")
        data, model_cfg, train = config_from_dict(cfg)
    data.validate()
    train.validate()
    if resume is not None and data.kind != DIGITS:
        gd = prepare_data(data, train.seed, Vocab.load(run / "vocab.json"),
                          LabelVocab.load(run / "labels.json"))
    else:
        gd = prepare_data(data, train.seed)
    model_cfg.vocab_size = len(gd.vocab)
    if gd.kind == DIGITS:
        model_cfg.condition = "image"
        model_cfg.image_height, model_cfg.image_width = gd.digits.height, gd.digits.width
        model_cfg.num_classes = 0
    else:
        model_cfg.condition, model_cfg.num_classes = "class", len(gd.labels)
        model_cfg.image_height = model_cfg.image_width = 0
    torch.manual_seed(train.seed)
    model = Generator(model_cfg)
    task = GenerateTask(gd.train_cond, gd.train_seqs, gd.dev_cond, gd.dev_seqs, gd.end_id,
                        gd.end_id, data.batch_size, train.seed, decode_dev=gd.kind == DIGITS)
    resolved = {"task": "generate", "rnnkit": __version__, "source": data.data,
                "kind": gd.kind, "end_token": gd.end, "max_len": task.max_len,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "labels": gd.labels.itos if gd.labels else None,
                "sizes": gd.sizes | {"parameters": sum(p.numel() for p in model.parameters())}}
    artifacts: dict = {"vocab.json": gd.vocab}
    if gd.labels is not None:
        artifacts["labels.json"] = gd.labels
    what = "digit captioner" if gd.kind == DIGITS else "conditioned generator"
    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="generate", resume=resume,
        artifacts=artifacts, callbacks=callbacks,
        title=f"{model_cfg.encoder.cell} {what}: {data.data}")
    if summary["stopped"] != "interrupted":
        load_weights(model, run, "best")
        model.eval()
        gen = LoadedGenerator(model, gd.vocab, gd.labels, data, resolved, gd.digits)
        report = final_report(gen, gd, seed=train.seed)
        write_json(run / "report.json", report)
        (run / "samples.txt").write_text(format_report_samples(report), encoding="utf-8")
    return run


# A trained generator ---------------------------------------------------------------------------

@dataclass
class LoadedGenerator:
    model: Generator
    vocab: Vocab
    labels: LabelVocab | None  # texts
    data: GenerateDataConfig
    config: dict  # the run's resolved config
    _digits: DigitSplits | None = None

    @property
    def kind(self) -> str:
        return self.config["kind"]

    @property
    def end_id(self) -> int:
        return self.vocab.stoi[self.config["end_token"]]  # type: ignore[attr-defined]

    @property
    def max_len(self) -> int:
        return int(self.config["max_len"])

    def digits(self) -> DigitSplits:
        """The run's digit data, rebuilt from its config (seeded: the same composites)."""
        if self._digits is None:
            self._digits = digit_data(self.data, int(self.config["train"]["seed"]))
        return self._digits

    def decode(self, ids: Sequence[int]) -> str:
        return self.vocab.decode(ids)


def load_generator(run: str | Path, which: str = "best") -> LoadedGenerator:
    """The trained generator (eval mode) with its vocabulary, labels and config."""
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "generate")
    data, model_cfg, _ = config_from_dict(cfg)
    model = Generator(model_cfg)
    load_weights(model, run, which)
    model.eval()
    labels = LabelVocab.load(run / "labels.json") if cfg["kind"] != DIGITS else None
    return LoadedGenerator(model, Vocab.load(run / "vocab.json"), labels, data, cfg)


@dataclass
class Condition:
    """One condition to generate from: ``tensor`` is a batch of one."""

    name: str  # the label, or a description of the image
    tensor: torch.Tensor
    image: torch.Tensor | None = None  # digits: the (1, H, W) image
    truth: str | None = None  # digits: the true caption


def resolve_condition(gen: LoadedGenerator, spec: str, seed: int = 0) -> Condition:
    """A condition from its command-line form.

    * texts: a label seen in training (exact, else a unique case-insensitive match);
    * digits: ``3,1,4`` (or ``314``) composes those digits from held-out test-pool images
      (which image of each digit is seeded); ``test:17`` is test composite 17.
    """
    spec = spec.strip()
    if gen.kind != DIGITS:
        labels = gen.labels
        assert labels is not None
        if spec not in labels.stoi:
            folded = [x for x in labels.itos if x.lower() == spec.lower()]
            if len(folded) != 1:
                raise ValueError(f"unknown condition {spec!r}; known labels: "
                                 f"{', '.join(labels.itos)}")
            spec = folded[0]
        return Condition(spec, torch.tensor([labels.stoi[spec]]))
    d = gen.digits()
    if spec.lower().startswith("test:"):
        try:
            i = int(spec[5:])
        except ValueError:
            raise ValueError(f"test:N needs an index, got {spec!r}") from None
        if not 0 <= i < len(d.test):
            raise ValueError(f"test composite {i} does not exist: there are {len(d.test)} "
                             f"(0..{len(d.test) - 1})")
        return Condition(f"test:{i}", d.test.images[i:i + 1], d.test.images[i],
                         caption(d.test.digits[i]))
    digits = parse_digits(spec, gen.data.max_digits)
    c = compose(d.images, d.labels, d.pools["test"], 1, seed=seed,
                max_digits=gen.data.max_digits, fixed=[digits])
    return Condition(",".join(map(str, digits)), c.images, c.images[0], caption(digits))


def default_conditions(gen: LoadedGenerator, count: int = 5) -> list[str]:
    """Every label (texts), or the first ``count`` test composites (digits)."""
    if gen.kind == DIGITS:
        return [f"test:{i}" for i in range(min(count, len(gen.digits().test)))]
    assert gen.labels is not None
    return list(gen.labels.itos)


@dataclass
class Generated:
    condition: Condition
    texts: list[str]  # samples, or the n best of a beam search (best first)
    scores: list[float] | None = None  # beam search: the hypotheses' scores


def sample(gen: LoadedGenerator, conditions: Sequence[str] | None = None, num: int = 1, *,
           max_len: int | None = None, greedy: bool | None = None, temperature: float = 0.8,
           top_k: int | None = None, top_p: float | None = None, beam: int = 0,
           seed: int | None = None) -> list[Generated]:
    """Generate for each condition (default: :func:`default_conditions`).

    ``num`` samples per condition (one when greedy; with ``beam`` > 0 a beam search of that
    width and its ``min(num, beam)`` best hypotheses).
    ``greedy=None`` samples for text labels and decodes greedily for images. ``max_len``:
    tokens before the end token (default: the longest training target + 10 for texts, its
    length for captions). A ``seed`` makes sampling reproducible.
    """
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if beam < 0:
        raise ValueError(f"beam must be >= 0, got {beam}")
    if greedy is None:
        greedy = gen.kind == DIGITS
    if max_len is None:
        max_len = gen.max_len + (0 if gen.kind == DIGITS else 10)
    specs = list(conditions) if conditions else default_conditions(gen)
    rng = torch.Generator().manual_seed(seed) if seed is not None else None
    out = []
    for spec in specs:
        cond = resolve_condition(gen, spec, seed or 0)
        if beam > 0:
            (row,) = beam_ids(gen.model, cond.tensor, gen.end_id, gen.end_id, max_len,
                              beam_size=beam, n_best=min(num, beam))
            out.append(Generated(cond, [gen.decode(ids) for ids, _ in row],
                                 [s for _, s in row]))
            continue
        reps = 1 if greedy else num
        batch = cond.tensor.expand(reps, *cond.tensor.shape[1:])
        ids = generate_ids(gen.model, batch, gen.end_id, gen.end_id, max_len, greedy=greedy,
                           temperature=temperature, top_k=top_k, top_p=top_p, generator=rng)
        out.append(Generated(cond, [gen.decode(x) for x in ids]))
    return out


# Evaluation ------------------------------------------------------------------------------------

def decode_captions(gen: LoadedGenerator, comps: Composites, beam: int = 0,
                    batch_size: int = 256) -> list[list[int]]:
    """Caption token ids of every composite (greedy, or beam search of width ``beam``)."""
    pred: list[list[int]] = []
    for a in range(0, len(comps), batch_size):
        images = comps.images[a:a + batch_size]
        if beam > 0:
            pred += [row[0][0] for row in beam_ids(gen.model, images, gen.end_id, gen.end_id,
                                                   gen.max_len, beam_size=beam)]
        else:
            pred += generate_ids(gen.model, images, gen.end_id, gen.end_id, gen.max_len,
                                 greedy=True)
    return pred


def evaluate_captions(gen: LoadedGenerator, split: str = "test", beam: int = 0) -> dict:
    """Exact match and token accuracy (:func:`~rnnkit.tasks.generate.caption_scores`) of the
    captions of a digit run's ``test`` (held-out images) or ``dev`` composites, plus the
    exact match by number of digits."""
    if gen.kind != DIGITS:
        raise ValueError("caption scores are for digit-captioning runs")
    comps: Composites = getattr(gen.digits(), split)
    gold = [gen.vocab.encode(c) for c in comps.captions()]
    pred = decode_captions(gen, comps, beam)
    report = caption_scores(pred, gold)
    by_len: dict[int, list[bool]] = {}
    for p, g, d in zip(pred, gold, comps.digits):
        by_len.setdefault(len(d), []).append(p == g)
    report["exact_match_by_digits"] = {str(k): sum(v) / len(v) for k, v in sorted(by_len.items())}
    report["decoding"] = f"beam {beam}" if beam > 0 else "greedy"
    errors = [(caption(d), gen.decode(p)) for p, g, d in zip(pred, gold, comps.digits) if p != g]
    report["errors"] = [{"truth": t, "predicted": p} for t, p in errors[:20]]
    return report


def per_label_perplexity(model: Generator, cond: torch.Tensor, seqs: Sequence[Sequence[int]],
                         label_names: Sequence[str], end_id: int) -> dict:
    """Perplexity per token (end token included) of the validation texts, for all of them and
    per label: ``{"all": {...}, "per_label": {label: {"ppl", "loss", "texts", "tokens"}}}``."""
    nll = sequence_nll(model, cond, seqs, end_id, end_id)
    lengths = torch.tensor([len(s) + 1 for s in seqs], dtype=torch.float)

    def summary(mask: torch.Tensor) -> dict:
        loss = float(nll[mask].sum() / lengths[mask].sum())
        return {"ppl": math.exp(loss), "loss": loss, "texts": int(mask.sum()),
                "tokens": int(lengths[mask].sum())}

    per = {name: summary(cond == c) for c, name in enumerate(label_names) if (cond == c).any()}
    return {"all": summary(torch.ones_like(cond, dtype=torch.bool)), "per_label": per}


def label_unknown_perplexity(model: Generator, seqs: Sequence[Sequence[int]],
                             prior: torch.Tensor, end_id: int) -> float:
    """Perplexity per token when the label is not given: each text's likelihood under the
    mixture ``sum_c prior_c p(text | c)`` of the same model (a baseline: conditioning helps
    when the per-label perplexity is below this)."""
    C = len(prior)
    log_p = torch.stack([-sequence_nll(model, torch.full((len(seqs),), c), seqs, end_id, end_id)
                         for c in range(C)], dim=1)  # (N, C)
    mix = torch.logsumexp(log_p + prior.clamp_min(1e-12).log(), dim=1)
    tokens = sum(len(s) + 1 for s in seqs)
    return math.exp(float(-mix.sum()) / tokens)


def final_report(gen: LoadedGenerator, gd: GenerationData, seed: int = 0,
                 samples_per_label: int = 5) -> dict:
    """What ``report.json`` holds (module docstring)."""
    if gd.kind == DIGITS:
        return {"kind": DIGITS, "test": evaluate_captions(gen, "test"),
                "test_beam5": {k: v for k, v in evaluate_captions(gen, "test", beam=5).items()
                               if k != "errors"},
                "dev": {k: v for k, v in evaluate_captions(gen, "dev").items() if k != "errors"},
                "source_images": gd.sizes["source_images"],
                "samples": [{"condition": g.condition.name, "truth": g.condition.truth,
                             "caption": g.texts[0]} for g in sample(gen, num=1)]}
    assert gd.labels is not None
    report = per_label_perplexity(gen.model, gd.dev_cond, gd.dev_seqs, gd.labels.itos,
                                  gd.end_id)
    prior = torch.bincount(gd.train_cond, minlength=len(gd.labels)).float()
    report["label_unknown_ppl"] = label_unknown_perplexity(gen.model, gd.dev_seqs,
                                                           prior / prior.sum(), gd.end_id)
    samples = sample(gen, num=samples_per_label, temperature=0.8, seed=seed)
    for g in samples:
        report["per_label"].setdefault(g.condition.name, {})["samples"] = g.texts
    return {"kind": "texts", "split": "dev", "sizes": gd.sizes, **report}


def format_report_samples(report: dict) -> str:
    """``samples.txt``: one line per condition."""
    if report["kind"] == DIGITS:
        return "".join(f"{s['condition']}\ttruth: {s['truth']}\tcaption: {s['caption']}\n"
                       for s in report["samples"])
    return "".join(f"{label}\t{', '.join(r.get('samples', []))}\n"
                   for label, r in report["per_label"].items())


def format_generated(items: Sequence[Generated], show_images: bool = True) -> str:
    """Samples as text: ``label<TAB>sample`` lines, or for images the picture (ASCII), the
    caption and the truth."""
    lines: list[str] = []
    for g in items:
        c = g.condition
        if c.image is None:
            for i, t in enumerate(g.texts):
                score = f"\t{g.scores[i]:.4f}" if g.scores else ""
                lines.append(f"{c.name}\t{t}{score}")
            continue
        if show_images:
            lines.append(ascii_image(c.image))
        for i, t in enumerate(g.texts):
            score = f" (score {g.scores[i]:.4f})" if g.scores else ""
            lines.append(f"{c.name}\tcaption: {t}{score}")
        lines.append(f"{c.name}\ttruth:   {c.truth}")
    return "\n".join(lines) + ("\n" if lines else "")
