"""Language modelling end to end as library calls: the CLI is a thin layer over these."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .. import __version__
from ..data import DataError, Vocab, build_vocab, default_corpus, read_text, split_text
from ..train.loop import TrainConfig
from ..train.run import (
    load_weights,
    read_config,
    require_task,
    train_in_run,
)
from .encoder import EncoderConfig
from .lm import LanguageModel, LMConfig, LMTask, evaluate_lm

log = logging.getLogger(__name__)


@dataclass
class LMDataConfig:
    data: str | None = None  # text file or folder (default: the built-in corpus)
    val_data: str | None = None  # separate validation file (default: the last val_fraction)
    val_fraction: float = 0.1  # share of the text held out for validation
    encoding: str = "utf-8"  # text encoding of the files
    vocab: str = "char"  # char | word | bpe
    vocab_size: int = 2000  # bpe vocabulary size (word: maximum size)
    batch_size: int = 32  # B, parallel streams
    chunk_len: int = 128  # k2, BPTT window (steps gradients flow back)
    stride: int = 0  # k1, steps between windows (0: = chunk_len)
    random_len: bool = False  # AWD-LSTM random window lengths with rescaled learning rate
    eval_batch_size: int = 64  # streams for evaluation


def load_texts(cfg: LMDataConfig) -> tuple[str, str, str]:
    """(train text, validation text, a description of the source)."""
    if cfg.data is None:
        text, source = default_corpus(), "built-in corpus (Python standard library docstrings)"
    else:
        text, source = read_text(cfg.data, cfg.encoding), str(cfg.data)
    if cfg.val_data is not None:
        return text, read_text(cfg.val_data, cfg.encoding), source
    train, val = split_text(text, cfg.val_fraction)
    if len(val) < 2:
        raise DataError(f"{source}: the validation split is empty; give --val-data or a larger "
                        "--val-fraction")
    return train, val, source


def _vocab_kwargs(cfg: LMDataConfig) -> dict:
    return {"bpe": {"vocab_size": cfg.vocab_size}, "word": {"max_size": cfg.vocab_size}}.get(
        cfg.vocab, {})


def train_lm(data: LMDataConfig, model_cfg: LMConfig, train: TrainConfig,
             out: str | Path = "runs", resume: str | Path | None = None,
             callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a language model; returns the run folder. ``resume`` continues a run folder."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        data, model_cfg, train = config_from_dict(cfg)
        vocab = Vocab.load(run / "vocab.json")
        train_text, val_text, source = load_texts(data)
    else:
        torch.manual_seed(train.seed)
        train_text, val_text, source = load_texts(data)
        vocab = build_vocab(data.vocab, train_text, **_vocab_kwargs(data))
    model_cfg.vocab_size = len(vocab)
    train_ids = torch.tensor(vocab.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(vocab.encode(val_text), dtype=torch.long)
    torch.manual_seed(train.seed)
    model = LanguageModel(model_cfg)
    task = LMTask(train_ids, val_ids, data.batch_size, data.chunk_len, data.stride or None,
                  data.random_len, train.seed, data.eval_batch_size, val_chars=len(val_text))
    resolved = {"task": "lm", "rnnkit": __version__, "source": source,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "sizes": {"train_chars": len(train_text), "val_chars": len(val_text),
                          "train_tokens": len(train_ids), "val_tokens": len(val_ids),
                          "vocab": len(vocab),
                          "parameters": sum(p.numel() for p in model.parameters())}}
    # Only now that data and model are known to be good is anything written.
    run, _ = train_in_run(model, task, train, resolved, out=out, name="lm", resume=resume,
                          artifacts={"vocab.json": vocab}, callbacks=callbacks,
                          title=f"{model_cfg.encoder.cell} LM: {source}")
    return run


def config_from_dict(cfg: dict) -> tuple[LMDataConfig, LMConfig, TrainConfig]:
    m = dict(cfg["model"])
    m["encoder"] = EncoderConfig(**m["encoder"])
    return LMDataConfig(**cfg["data"]), LMConfig(**m), TrainConfig(**cfg["train"])


def load_lm(run: str | Path, which: str = "best") -> tuple[LanguageModel, Vocab, dict]:
    """The trained model (eval mode), its vocabulary and its resolved config."""
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "lm")
    _, model_cfg, _ = config_from_dict(cfg)
    model = LanguageModel(model_cfg)
    load_weights(model, run, which)
    model.eval()
    return model, Vocab.load(run / "vocab.json"), cfg


def eval_lm_file(run: str | Path, path: str | Path, encoding: str = "utf-8",
                 batch_size: int = 64) -> dict:
    """Loss, perplexity and bits/char of a trained model on any text file or folder."""
    model, vocab, _ = load_lm(run)
    text = read_text(path, encoding)
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)
    if ids.numel() < 2:
        raise DataError(f"{path}: needs at least 2 tokens to evaluate, found {ids.numel()}")
    metrics = evaluate_lm(model, ids, len(text), batch_size)
    unk = sum(1 for i in ids.tolist() if i == vocab.unk_id) if vocab.unk_id is not None else 0
    return metrics | {"unknown_tokens": unk, "chars": len(text)}
