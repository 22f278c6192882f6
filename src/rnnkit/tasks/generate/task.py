"""The one-to-many task: a condition (a label, or an image) -> a sequence
(``rnnkit train generate``, ``rnnkit sample RUN --condition ...``).

Two kinds of data:

* **texts with a condition label** (``data="FOLDER"``, e.g. ``names-18lang/names``: one file per
  label, or a CSV/TSV/JSONL file with text and label columns). (text, label) pairs are
  deduplicated, then split per label (:mod:`rnnkit.data.names`). Character tokens (or words)
  plus an end token; the condition is the label's embedding.
* **digit captioning** (``data="digits"``): images of 1-4 handwritten digits side by side,
  captioned in words (:mod:`rnnkit.data.digits`); the condition is the image, through a small
  CNN trained with the generator. Test composites only use held-out source images.

The run folder holds ``labels.json`` (texts), ``report.json`` (texts: per-label validation
perplexity and samples; digits: exact match and token accuracy on the held-out test
composites, greedy and beam) and ``samples.txt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...config import section
from ...data.digits import DigitSplits
from ...data.tokens import LabelVocab
from ...data.vocab import Vocab
from ...train.loop import TrainConfig
from ...train.run import write_json
from ..common.sampling import SampleConfig
from ..spec import LoadedRun, Prepared
from .data import DIGITS, GenerateDataConfig, GenerationData, digit_data, prepare_data
from .model import GenerateTask, Generator, GeneratorConfig
from .report import final_report, format_report_samples
from .sampling import Generated, sample

# Epochs when no budget is given, per kind of data (docs/generate.md).
DEFAULT_EPOCHS = {DIGITS: 8.0, "texts": 12.0}


@dataclass
class GenerateSettings:
    """Everything a generator run is trained from."""

    data: GenerateDataConfig = section(GenerateDataConfig, prefix="")
    model: GeneratorConfig = section(GeneratorConfig, prefix="")
    # no budget: 8 epochs for digits, 12 for texts (finalize)
    train: TrainConfig = section(TrainConfig, prefix="")


def finalize(s: GenerateSettings) -> None:
    t = s.train
    if not (t.steps or t.epochs or t.minutes):
        t.epochs = DEFAULT_EPOCHS[s.data.kind]


def prepare(s: GenerateSettings, run: Path | None) -> Prepared:
    data, cfg = s.data, s.model
    data.validate()
    if run is not None and data.kind != DIGITS:
        gd = prepare_data(data, s.train.seed, Vocab.load(run / "vocab.json"),
                          LabelVocab.load(run / "labels.json"))
    else:
        gd = prepare_data(data, s.train.seed)
    cfg.vocab_size = len(gd.vocab)
    if gd.kind == DIGITS:
        cfg.condition, cfg.num_classes = "image", 0
        cfg.image_height, cfg.image_width = gd.digits.height, gd.digits.width
    else:
        cfg.condition, cfg.num_classes = "class", len(gd.labels)
        cfg.image_height = cfg.image_width = 0
    task = GenerateTask(gd.train_cond, gd.train_seqs, gd.dev_cond, gd.dev_seqs, gd.end_id,
                        gd.end_id, data.batch_size, s.train.seed, decode_dev=gd.kind == DIGITS)
    artifacts: dict = {"vocab.json": gd.vocab}
    if gd.labels is not None:
        artifacts["labels.json"] = gd.labels
    what = "digit captioner" if gd.kind == DIGITS else "conditioned generator"
    return Prepared(task, data.data, artifacts,
                    info={"kind": gd.kind, "end_token": gd.end, "max_len": task.max_len,
                          "labels": gd.labels.itos if gd.labels else None},
                    sizes=dict(gd.sizes), title=f"{cfg.encoder.cell} {what}: {data.data}",
                    state=gd)


def report(model: Generator, s: GenerateSettings, prepared: Prepared, run: Path) -> None:
    from ...train.run import read_config

    gd: GenerationData = prepared.state
    gen = LoadedGenerator(run, model, s, read_config(run), gd.vocab, gd.labels, gd.digits)
    rep = final_report(gen, gd, seed=s.train.seed)
    write_json(run / "report.json", rep)
    (run / "samples.txt").write_text(format_report_samples(rep), encoding="utf-8")


@dataclass
class LoadedGenerator(LoadedRun):
    """A trained generator with its vocabulary and labels (texts) or digit data."""

    vocab: Vocab = field(default=None)  # type: ignore[assignment]
    labels: LabelVocab | None = None  # texts
    _digits: DigitSplits | None = None
    task = "generate"

    @classmethod
    def open(cls, run, model, settings, config):
        run = Path(run)
        labels = LabelVocab.load(run / "labels.json") if config["kind"] != DIGITS else None
        return cls(run, model, settings, config, Vocab.load(run / "vocab.json"), labels)

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

    def sample(self, conditions: Sequence[str] | None = None, num: int = 1,
               sampling: SampleConfig | None = None, max_len: int | None = None,
               beam: int = 0) -> list[Generated]:
        """Generate for each condition (default: every label, or test composites 0-4);
        see :func:`.sampling.sample`. Greedy for images unless ``sampling`` says otherwise."""
        s = sampling or SampleConfig(greedy=self.kind == DIGITS)
        s.validate()
        return sample(self, conditions, num, max_len=max_len, greedy=s.greedy,
                      temperature=s.temperature, top_k=s.top_k, top_p=s.top_p, beam=beam,
                      seed=s.seed)


def describe(s: GenerateSettings) -> str:
    e = s.model.encoder
    what = "digit captioner" if s.data.kind == DIGITS else "conditioned generator"
    return f"{e.layers}x{e.hidden} {e.cell} {what} on {s.data.data}"


def build_model(s: GenerateSettings) -> Generator:
    return Generator(s.model)
