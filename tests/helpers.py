"""Shared test helpers."""

from __future__ import annotations

import csv
import random

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


TAG_LEXICON = {"DET": ["the", "a"], "NOUN": ["dog", "cat", "bird"], "VERB": ["saw", "likes"]}


def write_conllu(path, sentences: int, lexicon=None, seed: int = 0):
    """A CoNLL-U file of ``sentences`` "DET NOUN VERB DET NOUN" sentences, words drawn from
    ``lexicon`` (tag -> words; default :data:`TAG_LEXICON`); returns ``path``."""
    lexicon, r = lexicon or TAG_LEXICON, random.Random(seed)
    with open(path, "w") as f:
        for _ in range(sentences):
            for i, t in enumerate(["DET", "NOUN", "VERB", "DET", "NOUN"], 1):
                w = r.choice(lexicon[t])
                f.write(f"{i}\t{w}\t{w}\t{t}\t_\t_\t0\tdep\t_\t_\n")
            f.write("\n")
    return path


def write_polarity_csv(path, rows: int = 40, pos: str = "good great fine",
                       neg: str = "bad awful poor"):
    """A text,label CSV alternating ``neg`` and ``pos`` texts (labels neg, pos); ``path``."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(rows):
            w.writerow([pos, "pos"] if i % 2 else [neg, "neg"])
    return path


def fit_running_sum(layer, steps: int, lr: float, batch: int, scale: float):
    """Train ``layer`` and a linear head on a running-sum task (the target at every step is the
    sum of the inputs so far, 2 features, 8 steps); returns the loss before and after."""
    head = torch.nn.Linear(layer.cells[-1].hidden_size, 1)
    opt = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=lr)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(batch, 8, 2, generator=g) * scale
    y = x.sum(2).cumsum(1).unsqueeze(2)

    def loss_fn():
        return torch.nn.functional.mse_loss(head(layer(x)[0]), y)

    first = loss_fn().item()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    return first, loss_fn().item()


def assert_padded_rows_equal_rows_alone(layer, input_size: int, dtype=torch.float64):
    """Each row of a padded batch (garbage past its length) gives the outputs and final state
    of that row run alone."""
    from rnnkit.kernels.common import state_leaves

    x = torch.randn(3, 7, input_size, dtype=dtype)
    x_padded = x.clone()
    x_padded[1, 3:] = 1e3  # garbage in the padding must not leak in
    lengths = torch.tensor([7, 3, 5])
    out, final = layer(x_padded, lengths=lengths)
    for b, L in enumerate(lengths.tolist()):
        alone, fin_alone = layer(x[b : b + 1, :L])
        torch.testing.assert_close(out[b : b + 1, :L], alone, atol=1e-12, rtol=1e-10)
        for got, want in zip(state_leaves(final), state_leaves(fin_alone)):
            torch.testing.assert_close(got[:, b : b + 1], want, atol=1e-12, rtol=1e-10)
