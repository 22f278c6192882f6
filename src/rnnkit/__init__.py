"""rnnkit: recurrent neural networks on PyTorch.

The public API::

    rnnkit.RNNCell, rnnkit.LSTMCell, rnnkit.GRUCell, rnnkit.RecurrentCell, rnnkit.LSTMState
    rnnkit.Recurrent, rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU (LSTM proj_size: rnnkit.ProjLSTMCell)
    rnnkit.MinGRU, rnnkit.MinLSTM (parallel scan; cells rnnkit.MinGRUCell, rnnkit.MinLSTMCell)
    rnnkit.LayerNormLSTMCell, LayerNormGRUCell, PeepholeLSTMCell: more cells (docs/cells.md)
    rnnkit.IndRNN (cell rnnkit.IndRNNCell); rnnkit.StackedRecurrent: per-layer hidden sizes
        (rnnkit.LSTM(16, hidden_size=[64, 32]) builds one)
    rnnkit.LockedDropout, EmbeddingDropout, WeightDrop, Zoneout, ar_tar_penalty: regularisers
    rnnkit.fit(task, ...) -> run folder        rnnkit.load(run) -> the trained run
    rnnkit.TextClassifier, SequenceTagger, LanguageModel, SeriesClassifier, Forecaster:
        estimators over Python data (fit / predict / predict_proba / sample / save)

``fit`` and ``load`` go through the task registry (:mod:`rnnkit.tasks.registry`), imported
on first use so that ``import rnnkit`` stays light.
"""

from ._version import __version__
from .cells import (
    GRUCell,
    IndRNNCell,
    LayerNormGRUCell,
    LayerNormLSTMCell,
    LSTMCell,
    LSTMState,
    MinGRUCell,
    MinLSTMCell,
    PeepholeLSTMCell,
    ProjLSTMCell,
    RecurrentCell,
    RNNCell,
)
from .layers import GRU, LSTM, RNN, IndRNN, MinGRU, MinLSTM, Recurrent, StackedRecurrent
from .layers.regularizers import (
    EmbeddingDropout,
    LockedDropout,
    WeightDrop,
    Zoneout,
    ar_tar_penalty,
)

__all__ = [
    "RecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "LSTMState",
    "Recurrent", "RNN", "LSTM", "GRU", "MinGRUCell", "MinLSTMCell", "ProjLSTMCell", "MinGRU",
    "MinLSTM", "LayerNormLSTMCell", "LayerNormGRUCell", "PeepholeLSTMCell",
    "IndRNNCell", "IndRNN", "StackedRecurrent",
    "LockedDropout", "EmbeddingDropout", "WeightDrop", "Zoneout", "ar_tar_penalty",
    "fit", "load", "__version__",
    "TextClassifier", "SequenceTagger", "LanguageModel", "SeriesClassifier", "Forecaster",
]


def load(run, which: str = "best", device: str = "auto"):
    """Any trained run folder (see :func:`rnnkit.tasks.registry.load`)."""
    from .tasks.registry import load as _load

    return _load(run, which, device)


def fit(task, settings=None, **kwargs):
    """Train a model of ``task``; returns its run folder (see
    :func:`rnnkit.tasks.registry.train`). (``rnnkit.train`` is the training-loop package.)"""
    from .tasks.registry import train as _train

    return _train(task, settings, **kwargs)


_ESTIMATORS = ("TextClassifier", "SequenceTagger", "LanguageModel", "SeriesClassifier",
               "Forecaster")


def __getattr__(name: str):
    if name in _ESTIMATORS:  # imported on first use, with the task registry
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
