"""The graphs of the token tasks: the language model (whole sequence and one streaming step),
the classifier and the tagger (with char features when the model has them), and the long-lag
models. Each wrapper calls the model's own layers, so the graph computes what the model does.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..tasks.common.pooling import last_outputs, step_mask
from .graph import Graph, Port, as_state, leaves_of, pairs, state_ports

TOKENS = Port("tokens", "int64", ("batch", "time"), doc="token ids, padded past each length")
LENGTHS = Port("lengths", "int64", ("batch",), ("lengths", "time"),
               doc="valid steps of each row, 1..time")


# Language model ----------------------------------------------------------------------------

class LMForward(nn.Module):
    """``(tokens, lengths, h, [c]) -> (logits, h_out, [c_out])``: the state after each row's
    own last step, to go on with the step graph."""

    def __init__(self, model, lstm: bool):
        super().__init__()
        self.model, self.lstm = model, lstm

    def forward(self, tokens: Tensor, lengths: Tensor, *state: Tensor):
        out, final = self.model.encoder(self.model.embed(tokens), as_state(state, self.lstm),
                                        lengths=lengths)
        return (self.model.decoder(out), *leaves_of(final))


class LMStep(nn.Module):
    """``(token, h, [c]) -> (logits, h_out, [c_out])``: one token per row."""

    def __init__(self, model, lstm: bool):
        super().__init__()
        self.model, self.lstm = model, lstm

    def forward(self, token: Tensor, *state: Tensor):
        logits, final = self.model.step(token, as_state(state, self.lstm))
        return (logits, *leaves_of(final))


def lm_graphs(loaded) -> list[Graph]:
    model = loaded.model
    enc, V = model.cfg.encoder, model.cfg.vocab_size
    lstm = enc.cell == "lstm"
    ins, outs = state_ports(lstm, enc.layers, enc.hidden, doc="zeros to start")
    ids = ("ids", V)
    tokens = Port(TOKENS.name, "int64", TOKENS.axes, ids, TOKENS.doc)
    forward = Graph("forward", LMForward(model, lstm), [tokens, LENGTHS, *ins],
                    [Port("logits", "float32", ("batch", "time", V)), *outs], pairs(ins),
                    doc="next-token logits at every step; the state after each row's last step")
    step = Graph("step", LMStep(model, lstm),
                 [Port("token", "int64", ("batch",), ids, "the last token of each row"), *ins],
                 [Port("logits", "float32", ("batch", V)), *outs], pairs(ins),
                 doc="one streaming step: feed each chosen token back with the state")
    return [forward, step]


# Word features (classifier, tagger) --------------------------------------------------------

def word_features(words, tokens: Tensor, lengths: Tensor, chars: Tensor | None = None,
                  char_lengths: Tensor | None = None, char_index: Tensor | None = None):
    """:class:`~rnnkit.tasks.common.words.WordFeatures` over plain tensors: the char encoder
    reads the U distinct words ``chars`` (U, W) once, and each word position takes the row
    ``char_index`` (B, T) names (padding positions: any row, zeroed)."""
    x = words.embedding(tokens)  # (B, T, E)
    if not words.char_embed:
        return x
    out, _ = words.char_encoder(words.char_embedding(chars), lengths=char_lengths)
    vec = last_outputs(out, char_lengths, 2)  # (U, 2*Hc)
    mask = step_mask(lengths, tokens.shape[1]).unsqueeze(2).to(vec.dtype)  # (B, T, 1)
    return torch.cat([x, vec[char_index] * mask], dim=2)


def word_ports(cfg) -> list[Port]:
    tokens = Port("tokens", "int64", ("batch", "time"), ("ids", cfg.vocab_size),
                  "word ids, padded past each length")
    ports = [tokens, LENGTHS]
    if cfg.char_embed:
        ports += [Port("chars", "int64", ("words", "chars"), ("ids", cfg.char_vocab_size),
                       "char ids of the distinct words of the batch, padded"),
                  Port("char_lengths", "int64", ("words",), ("lengths", "chars"),
                       "characters of each distinct word, >= 1"),
                  Port("char_index", "int64", ("batch", "time"), ("index", "words"),
                       "the row of chars of each word (any row at padding)")]
    return ports


class ClassifyGraph(nn.Module):
    """``(tokens, lengths, [chars, char_lengths, char_index]) -> (logits, probs)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens: Tensor, lengths: Tensor, *chars: Tensor):
        m = self.model
        x = word_features(m.words, tokens, lengths, *chars)
        out, _ = m.encoder(x, lengths=lengths)
        logits = m.output(m.pooling(out, lengths))
        return logits, torch.softmax(logits, dim=1)


class TagGraph(nn.Module):
    """``(tokens, lengths, [chars, char_lengths, char_index], [feature_* ...]) -> logits``
    (emission scores); one (batch, time) input of ids per feature column."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens: Tensor, lengths: Tensor, *rest: Tensor):
        m = self.model
        k = 3 if m.words.char_embed else 0
        x = word_features(m.words, tokens, lengths, *rest[:k])
        feats = [emb(ids) for emb, ids in zip(m.features, rest[k:])]
        if feats:
            x = torch.cat([x, *feats], dim=2)
        out, _ = m.encoder(x, lengths=lengths)
        return m.output(out)


def feature_ports(loaded) -> list[Port]:
    """A tagger's feature-column inputs (``feature_NAME``, NAME the column: ``1``, ``upos``)."""
    sizes = loaded.model.cfg.feature_vocab_sizes
    return [Port(f"feature_{name}", "int64", ("batch", "time"), ("ids", n),
                 f"ids of feature column {name} (features.json; 0: not seen in training)")
            for name, n in zip(loaded.feature_columns, sizes)]


def classify_graphs(loaded) -> list[Graph]:
    cfg = loaded.model.cfg
    C = cfg.num_classes
    return [Graph("forward", ClassifyGraph(loaded.model), word_ports(cfg),
                  [Port("logits", "float32", ("batch", C)),
                   Port("probs", "float32", ("batch", C), doc="softmax of the logits")],
                  doc="class scores of each text")]


def tag_graphs(loaded) -> list[Graph]:
    cfg = loaded.model.cfg
    doc = ("per-word tag scores; argmax is the tag" if not cfg.crf else
           "per-word emission scores; the tags are their Viterbi path under the CRF "
           "(postprocessing.crf)")
    return [Graph("forward", TagGraph(loaded.model), word_ports(cfg) + feature_ports(loaded),
                  [Port("logits", "float32", ("batch", "time", cfg.num_tags))], doc=doc)]


# Long time-lag problems --------------------------------------------------------------------

def longlag_graphs(loaded) -> list[Graph]:
    model = loaded.model
    if model.kind == "adding":
        x = Port("x", "float32", ("batch", "time", 2), ("uniform",),
                 "channel 0: values, channel 1: the two markers")
        out = Port("prediction", "float32", ("batch",), doc="the sum of the two marked values")
        doc = "the adding problem: the sum of the marked values"
    else:
        x = Port("tokens", "int64", ("batch", "time"), ("ids", 10),
                 "blank 0, symbols 1..8, delimiter 9")
        out = Port("logits", "float32", ("batch", "time", 10))
        doc = "the copy task: the symbol at every step"
    return [Graph("forward", model, [x], [out], doc=doc)]
