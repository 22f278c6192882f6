"""The language-model task: read text, build the vocabulary, train with truncated BPTT through
the one loop, sample and evaluate (``rnnkit train lm``, ``rnnkit sample``, ``rnnkit eval``).

The run folder holds ``vocab.json`` besides what every run writes (:mod:`rnnkit.train.run`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from ...config import section
from ...data import DataError, Vocab, build_vocab, default_corpus, read_text, split_text
from ...train.loop import TrainConfig
from ..common.sampling import SampleConfig
from ..spec import LoadedRun, Prepared
from .model import LanguageModel, LMConfig, LMTask, evaluate_lm, sample_text

log = logging.getLogger(__name__)

BUILT_IN = "built-in corpus (Python standard library docstrings)"


@dataclass
class LMDataConfig:
    data: str | None = None  # text file or folder (default: the built-in corpus)
    val_data: str | None = None  # separate validation file (default: val_fraction of --data)
    # share of the text held out for validation: 3% scored 0.007 better than 10% at three
    # minutes on tiny-shakespeare (more text to train on; docs/design/lm-defaults.md)
    val_fraction: float = 0.03
    # held out: in up to 20 pieces spread over the text (training sees every part of it), or
    # its tail
    val_split: Literal["spread", "tail"] = "spread"
    encoding: str = "utf-8"  # text encoding of the files
    vocab: Literal["char", "word", "bpe"] = "char"  # tokens: characters, words or BPE pieces
    vocab_size: int = 2000  # bpe vocabulary size (word: maximum size)
    batch_size: int = 32  # B, parallel streams
    chunk_len: int = 64  # k2, BPTT window (steps gradients flow back)
    stride: int = 0  # k1, steps between windows (0: = chunk_len)
    random_len: bool = False  # AWD-LSTM random window lengths with rescaled learning rate
    eval_batch_size: int = 64  # streams for evaluation


@dataclass
class LMSettings:
    """Everything a language-model run is trained from."""

    data: LMDataConfig = section(LMDataConfig, prefix="")
    model: LMConfig = section(LMConfig, prefix="")
    # cosine to zero: 0.005-0.007 better than to 5% at three minutes (lm-defaults.md)
    train: TrainConfig = section(lambda: TrainConfig(minutes=3.0, lr=5e-3, min_lr_ratio=0.0),
                                 prefix="")


def load_texts(cfg: LMDataConfig) -> tuple[str, str, str]:
    """(train text, validation text, a description of the source)."""
    if cfg.data is None:
        text, source = default_corpus(), BUILT_IN
    else:
        text, source = read_text(cfg.data, cfg.encoding), str(cfg.data)
    if cfg.val_data is not None:
        return text, read_text(cfg.val_data, cfg.encoding), source
    train, val = split_text(text, cfg.val_fraction, spread=cfg.val_split == "spread")
    if len(val) < 2:
        raise DataError(f"{source}: the validation split is empty; give --val-data or a larger "
                        "--val-fraction")
    return train, val, source


def upgrade(saved: dict) -> dict:
    """A run saved before ``val_split`` existed held out the tail of its text."""
    data = saved.get("data")
    if isinstance(data, dict) and "val_split" not in data:
        saved["data"] = data | {"val_split": "tail"}
    return saved


def _vocab_kwargs(cfg: LMDataConfig) -> dict:
    return {"bpe": {"vocab_size": cfg.vocab_size}, "word": {"max_size": cfg.vocab_size}}.get(
        cfg.vocab, {})


def prepare(s: LMSettings, run: Path | None) -> Prepared:
    data = s.data
    train_text, val_text, source = load_texts(data)
    vocab = (Vocab.load(run / "vocab.json") if run is not None
             else build_vocab(data.vocab, train_text, **_vocab_kwargs(data)))
    s.model.vocab_size = len(vocab)
    train_ids = torch.tensor(vocab.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(vocab.encode(val_text), dtype=torch.long)
    task = LMTask(train_ids, val_ids, data.batch_size, data.chunk_len, data.stride or None,
                  data.random_len, s.train.seed, data.eval_batch_size, val_chars=len(val_text),
                  budget_dropout=(s.model.encoder.rnn_dropout is None,
                                  s.model.out_dropout is None))
    sizes = {"train_chars": len(train_text), "val_chars": len(val_text),
             "train_tokens": len(train_ids), "val_tokens": len(val_ids), "vocab": len(vocab)}
    return Prepared(task, source, {"vocab.json": vocab}, sizes=sizes,
                    title=f"{s.model.encoder.cell} LM: {source}")


def describe(s: LMSettings) -> str:
    e = s.model.encoder
    source = s.data.data or "the built-in corpus"
    return f"{e.layers}x{e.hidden} {e.cell} language model on {source}"


@dataclass
class LoadedLM(LoadedRun):
    """A trained language model and its vocabulary."""

    vocab: Vocab = field(default=None)  # type: ignore[assignment]
    task = "lm"

    @classmethod
    def open(cls, run, model, settings, config):
        return cls(run, model, settings, config, Vocab.load(Path(run) / "vocab.json"))

    def sample(self, prime: str = "", length: int = 500, sampling: SampleConfig | None = None,
               on_text: Callable[[str], None] | None = None) -> str:
        """``length`` tokens after ``prime`` (``on_text`` receives each token's text as it
        is produced)."""
        s = sampling or SampleConfig()
        s.validate()
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        return sample_text(self.model, self.vocab, prime, length, temperature=s.temperature,
                           top_k=s.top_k, top_p=s.top_p, greedy=s.greedy, seed=s.seed,
                           on_text=on_text)

    def evaluate(self, path: str | Path, encoding: str | None = None,
                 batch_size: int = 64) -> dict:
        """Loss (nats/token), perplexity and bits/char on any text file or folder, with the
        count of tokens the vocabulary does not know."""
        text = read_text(path, encoding or "utf-8")
        ids = torch.tensor(self.vocab.encode(text), dtype=torch.long)
        if ids.numel() < 2:
            raise DataError(f"{path}: needs at least 2 tokens to evaluate, found {ids.numel()}")
        metrics = evaluate_lm(self.model, ids, len(text), batch_size)
        unk = self.vocab.unk_id
        unknown = sum(1 for i in ids.tolist() if i == unk) if unk is not None else 0
        return metrics | {"unknown_tokens": unknown, "chars": len(text)}


def build_model(s: LMSettings) -> LanguageModel:
    return LanguageModel(s.model)
