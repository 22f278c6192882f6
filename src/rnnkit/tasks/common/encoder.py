"""The shared recurrent encoder every task head sits on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...layers import GRU, LSTM, RNN, Recurrent

CELLS = ("lstm", "gru", "rnn", "rnn_relu")


@dataclass
class EncoderConfig:
    cell: Literal["lstm", "gru", "rnn", "rnn_relu"] = "lstm"  # recurrent cell (rnn: tanh)
    hidden: int = 512  # H, hidden units per direction
    layers: int = 1  # L, stacked recurrent layers
    bidirectional: bool = False  # D = 2 reads the sequence both ways (not for language models)
    # dropout between stacked layers (None: the task chooses; the language model from the
    # epochs its budget holds, see rnnkit.tasks.lm.budget)
    rnn_dropout: float | None = 0.0
    backend: Literal["auto", "kernel", "reference", "torch"] = "auto"  # see rnnkit.Recurrent

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.hidden < 1 or self.layers < 1:
            raise ValueError(f"hidden and layers must be >= 1, got {self.hidden}, {self.layers}")


def build_encoder(cfg: EncoderConfig, input_size: int) -> Recurrent:
    """A recurrent layer reading ``input_size`` features per step."""
    cfg.validate()
    kw = dict(num_layers=cfg.layers, dropout=(cfg.rnn_dropout or 0.0) if cfg.layers > 1 else 0.0,
              bidirectional=cfg.bidirectional, backend=cfg.backend)
    if cfg.cell == "lstm":
        return LSTM(input_size, cfg.hidden, **kw)
    if cfg.cell == "gru":
        return GRU(input_size, cfg.hidden, **kw)
    return RNN(input_size, cfg.hidden, nonlinearity="relu" if cfg.cell == "rnn_relu" else "tanh",
               **kw)
