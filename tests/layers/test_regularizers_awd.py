"""Regularisers together: an AWD-LSTM-style model (embedding dropout, locked dropout, weight
drop, AR/TAR) trains, is the plain model in eval mode, and saves like the plain model."""

from __future__ import annotations

import io

import torch
from torch import nn

import rnnkit
from rnnkit.layers.regularizers import EmbeddingDropout, LockedDropout, WeightDrop, ar_tar_penalty


# An AWD-LSTM -------------------------------------------------------------------------------------
class _AWD(nn.Module):
    def __init__(self, V=20, H=6):
        super().__init__()
        self.embedding = EmbeddingDropout(nn.Embedding(V, H), embed_dropout=0.1)
        self.locked = LockedDropout(0.3)
        self.encoder = WeightDrop(rnnkit.LSTM(H, H, num_layers=2), weight_dropout=0.5)
        self.decoder = nn.Linear(H, V)
        self.decoder.weight = self.embedding.weight

    def forward(self, tokens):
        out, _ = self.encoder(self.locked(self.embedding(tokens)))
        dropped = self.locked(out)
        return self.decoder(dropped), out, dropped


def test_an_awd_lstm_trains_is_plain_in_eval_and_saves_like_the_plain_model():
    model = _AWD()
    tokens = torch.randint(0, 20, (3, 8))
    logits, out, dropped = model(tokens)
    loss = logits.logsumexp(-1).mean() + ar_tar_penalty(out, dropped, 2.0, 1.0)
    loss.backward()
    assert model.encoder.layer.weight_hh_l1.grad.abs().sum() > 0
    assert model.embedding.weight.grad.abs().sum() > 0
    model.eval()
    plain = model.decoder(model.encoder.layer(model.embedding.embedding(tokens))[0])
    assert torch.equal(model(tokens)[0], plain)
    assert sorted(model.state_dict()) == sorted(
        ["embedding.weight", "decoder.weight", "decoder.bias",
         *(f"encoder.{k}" for k in rnnkit.LSTM(6, 6, num_layers=2).state_dict())])
    buf = io.BytesIO()
    torch.save(model, buf)  # the state dict hooks are plain functions: the module pickles
    buf.seek(0)
    again = torch.load(buf, weights_only=False)
    assert torch.equal(again(tokens)[0], plain)
