"""Shared test helpers."""

from __future__ import annotations

import torch

import rnnkit

TORCH_CLASSES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
OUR_CLASSES = {"rnn": rnnkit.RNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}


def pair(kind, I, H, dtype=torch.float64, backend="kernel", **kw):
    """A torch.nn layer and an rnnkit layer with the same weights."""
    ref = TORCH_CLASSES[kind](I, H, batch_first=True, **kw).to(dtype)
    ours = OUR_CLASSES[kind](I, H, backend=backend, **kw).to(dtype)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def hidden(state):
    return state[0] if isinstance(state, tuple) else state


def train_task(name, data, model, train, **kw):
    """Train a ``name`` run from its three settings sections through the generic path."""
    from rnnkit.tasks import lifecycle, registry

    spec = registry.get(name)
    return lifecycle.train(spec, spec.config(data=data, model=model, train=train), **kw)
