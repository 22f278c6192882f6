"""The seed's first example: a character model of "hello" with a four-letter vocabulary.

Vocabulary h, e, l, o; inputs are one-hot vectors; the model reads "hell" and must predict
"ello": after "h" comes "e", after "e" comes "l", after the first "l" another "l", after the
second "l" an "o". The last needs memory: the input is "l" both times, only the hidden state
knows which "l" it is. Then the model generates from "h", feeding its predictions back.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.vocab import CharVocab
from ..decode import generate
from .common.encoder import EncoderConfig
from .lm.model import LanguageModel, LMConfig


@dataclass
class HelloResult:
    losses: list[float]  # training loss per step
    table: list[tuple[str, str, dict[str, float]]]  # (input, target, predicted probabilities)
    generated: str  # characters generated after "h"
    model: LanguageModel
    vocab: CharVocab


def hello(word: str = "hello", cell: str = "rnn", hidden: int = 8, steps: int = 150,
          lr: float = 0.05, seed: int = 0) -> HelloResult:
    """Train a one-hot character RNN on ``word`` and let it spell the word from its first
    letter."""
    if len(word) < 2:
        raise ValueError("the word needs at least two characters")
    torch.manual_seed(seed)
    vocab = CharVocab(sorted(set(word), key=word.index))
    cfg = LMConfig(vocab_size=len(vocab), embed=0, out_dropout=0.0,
                   encoder=EncoderConfig(cell=cell, hidden=hidden, layers=1))
    model = LanguageModel(cfg)
    ids = torch.tensor([vocab.encode(word)])  # (1, T+1)
    x, y = ids[:, :-1], ids[:, 1:]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        logits, _ = model(x)
        loss = F.cross_entropy(logits[0], y[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        probs = model(x)[0][0].softmax(-1)  # (T, V)
        table = [(word[t], word[t + 1],
                  {vocab.token(v): probs[t, v].item() for v in range(1, len(vocab))})
                 for t in range(len(word) - 1)]
        out, _ = generate(model.step, None, ids[:, 0], len(word) - 1, greedy=True)
    return HelloResult(losses, table, word[0] + vocab.decode(out[0].tolist()), model, vocab)
