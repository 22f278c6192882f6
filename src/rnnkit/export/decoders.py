"""The graphs of the conditioned decoders: the encoder-decoder (translation) and the generator
(one condition, many tokens). Both decode one token per step with the state explicit: the
seq2seq ``encoder`` graph gives the decoder's first state and what attention reads, the
generator's ``start`` graph its first state and condition vector; the step graphs then take
one token per row and return the next state (``states`` in the manifest)."""

from __future__ import annotations

from torch import Tensor, nn

from ..tasks.seq2seq.model import DecodeState
from .graph import Graph, Port, as_state, leaves_of, pairs, state_ports

# Seq2seq -----------------------------------------------------------------------------------


def _s2s_parts(model) -> dict:
    """Which parts of the decoding state this model has."""
    return {"feed": model.cfg.input_feeding, "attention": model.attention is not None}


class Seq2SeqEncoder(nn.Module):
    """``(src, src_lengths) -> (hidden, [feed], [memory, keys, mask])``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, src_lengths: Tensor):
        st = self.model.encode(src, src_lengths)
        return tuple(t for t in (st.hidden, st.feed, st.memory, st.keys, st.mask)
                     if t is not None)


class Seq2SeqStep(nn.Module):
    """``(token, hidden, [feed], [memory, keys, mask]) -> (logits, hidden_out, [feed_out])``."""

    def __init__(self, model):
        super().__init__()
        self.model, self.parts = model, _s2s_parts(model)

    def forward(self, token: Tensor, hidden: Tensor, *rest: Tensor):
        rest = list(rest)
        feed = rest.pop(0) if self.parts["feed"] else None
        memory, keys, mask = rest if self.parts["attention"] else (None, None, None)
        pre, st, _ = self.model.decode_step(token, DecodeState(hidden, feed, memory, keys, mask))
        out = (self.model.output(pre), st.hidden)
        return out + ((st.feed,) if feed is not None else ())


def seq2seq_graphs(loaded) -> list[Graph]:
    model = loaded.model
    cfg, parts = model.cfg, _s2s_parts(model)
    H, M = cfg.decoder_hidden, cfg.memory_size
    rows = cfg.decoder_layers * (2 if cfg.decoder_cell == "lstm" else 1)
    hidden = Port("hidden", "float32", (rows, "batch", H),
                  doc="decoder states per layer (an LSTM: all h, then all c)")
    state = [hidden]
    if parts["feed"]:
        state.append(Port("feed", "float32", (1, "batch", H), doc="the last attentional vector"))
    memory = []
    if parts["attention"]:
        K = M if cfg.attention != "additive" else cfg.attention_size
        memory = [Port("memory", "float32", ("source", "batch", M), doc="encoder outputs"),
                  Port("keys", "float32", ("source", "batch", K), doc="attention keys"),
                  Port("mask", "bool", ("source", "batch"), ("mask", "source"),
                       "True on valid source steps")]
    src = [Port("src", "int64", ("batch", "source"), ("ids", cfg.src_vocab),
                "source token ids, padded"),
           Port("src_lengths", "int64", ("batch",), ("lengths", "source"), "source lengths")]
    encoder = Graph("encoder", Seq2SeqEncoder(model), src, state + memory,
                    doc="read the source: the decoder's first state and the attention memory")
    token = Port("token", "int64", ("batch",), ("ids", cfg.tgt_vocab),
                 "the previous target token (<bos> first)")
    outs = [Port("logits", "float32", ("batch", cfg.tgt_vocab))]
    outs += [Port(p.name + "_out", "float32", p.axes) for p in state]
    step = Graph("decoder_step", Seq2SeqStep(model), [token, *state, *memory], outs,
                 pairs(state), doc="one target token per row; memory, keys and mask stay fixed")
    return [encoder, step]


# Conditioned generator -----------------------------------------------------------------------

def _condition_port(cfg) -> Port:
    if cfg.condition == "class":
        return Port("condition", "int64", ("batch",), ("ids", cfg.num_classes),
                    "label ids (preprocessing.labels)")
    return Port("condition", "float32", ("batch", 1, cfg.image_height, cfg.image_width),
                ("uniform",), "grey images in [0, 1]")


class GenerateStart(nn.Module):
    """``condition -> (h, [c], condition_vector)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, condition: Tensor):
        vec = self.model.encode_condition(condition)
        return (*leaves_of(self.model.initial_state(vec)), vec)


class GenerateStep(nn.Module):
    """``(token, condition_vector, h, [c]) -> (logits, h_out, [c_out])``."""

    def __init__(self, model, lstm: bool):
        super().__init__()
        self.model, self.lstm = model, lstm

    def forward(self, token: Tensor, vec: Tensor, *state: Tensor):
        logits, (final, _) = self.model.step(token, (as_state(state, self.lstm),
                                                     vec.unsqueeze(0)))
        return (logits, *leaves_of(final))


class GenerateForward(nn.Module):
    """``(condition, tokens, lengths) -> logits`` (teacher forced)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, condition: Tensor, tokens: Tensor, lengths: Tensor):
        return self.model(condition, tokens, lengths)


def generate_graphs(loaded) -> list[Graph]:
    model = loaded.model
    cfg = model.cfg
    enc, V, C = cfg.encoder, cfg.vocab_size, cfg.condition_dim
    lstm = enc.cell == "lstm"
    ins, outs = state_ports(lstm, enc.layers, enc.hidden)
    cond = _condition_port(cfg)
    vec = Port("condition_vector", "float32", ("batch", C), doc="from the start graph")
    ids = ("ids", V)
    start = Graph("start", GenerateStart(model), [cond],
                  [Port(p.name, p.dtype, p.axes) for p in ins] + [vec],
                  doc="the decoder's first state and the condition vector")
    step = Graph("step", GenerateStep(model, lstm),
                 [Port("token", "int64", ("batch",), ids, "the previous token (the end "
                       "token first)"), vec, *ins],
                 [Port("logits", "float32", ("batch", V), doc="id 0 (unknown) is -inf"), *outs],
                 pairs(ins), doc="one streaming step; the condition vector stays fixed")
    forward = Graph("forward", GenerateForward(model),
                    [cond, Port("tokens", "int64", ("batch", "time"), ids,
                                "the end token, then the sequence (teacher forcing)"),
                     Port("lengths", "int64", ("batch",), ("lengths", "time"), "valid steps")],
                    [Port("logits", "float32", ("batch", "time", V))],
                    doc="next-token logits of whole sequences given their condition")
    return [start, step, forward]
