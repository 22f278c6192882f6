"""Delayed many-to-many: the attentional encoder-decoder (translation).

The output starts after the whole input has been read::

    source (B, S) -> embedding -> dropout -> (bi)directional recurrent encoder
                  -> memory (B, S, D*H)                  (padded steps masked out of attention)
    bridge:  s_0 = tanh(W_b [final state of every direction])          (per decoder layer)
    target step t, input y_{t-1} (<bos> first), e_t = dropout(embedding(y_{t-1})):
      input_feeding off (Bahdanau et al. 2015): c_t = attend(s_{t-1}, memory)
          s_t = cell([e_t; c_t], s_{t-1});  o_t = [s_t; c_t; e_t]
      input_feeding on (Luong et al. 2015):     s_t = cell([e_t; h~_{t-1}], s_{t-1})
          c_t = attend(s_t, memory);  h~_t = tanh(W_c [c_t; s_t]);  o_t = h~_t
      logits_t = W_out dropout(o_t)

``attend`` scores every source step with one of (:class:`Attention`):

* ``additive`` (Bahdanau): ``v . tanh(W_m m_j + W_q q)``;
* ``dot`` (Luong): ``m_j . q`` (needs the memory size to equal the decoder's hidden size);
* ``general`` (Luong): ``m_j . W q``;

then ``softmax`` over the valid source steps only, and ``c_t = sum_j a_tj m_j``.

Training is teacher-forced with probability ``teacher_forcing`` per step (one seeded coin per
step for the whole batch; 1.0 always feeds the reference, which also lets the output layer run
once for all steps). Inference goes through the one decoding module (:mod:`rnnkit.decode`):
:meth:`Seq2Seq.start` encodes a batch and returns ``(step, state)`` for ``generate`` (greedy,
sampling) and ``beam_search``. The decoding state keeps the batch on dimension 1 throughout
(memory as ``(S, B, M)``) so beam search can reorder it with ``select_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...cells import GRUCell, LSTMCell, LSTMState, RNNCell
from ...config import derived, section
from ...decode import beam_search, generate
from ..common.encoder import EncoderConfig, build_encoder

ATTENTIONS = ("additive", "dot", "general", "none")
DECODER_CELLS = ("gru", "lstm", "rnn")

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"


def _encoder_defaults() -> EncoderConfig:
    return EncoderConfig(cell="gru", hidden=512, bidirectional=True)


@dataclass
class Seq2SeqConfig:
    src_vocab: int = derived(0)  # source vocabulary size, set from the data
    tgt_vocab: int = derived(0)  # target vocabulary size, set from the data
    embed: int = 256  # E, embedding size (source and target)
    encoder: EncoderConfig = section(_encoder_defaults, prefix="")
    decoder_cell: Literal["gru", "lstm", "rnn"] = "gru"  # the decoder's cell
    decoder_hidden: int = 512  # hidden units of the decoder
    decoder_layers: int = 1  # stacked decoder cells (attention reads the top one)
    attention: Literal["additive", "dot", "general", "none"] = "additive"  # Bahdanau / Luong
    attention_size: int = 512  # hidden size of the additive scorer
    input_feeding: bool = False  # Luong: attend after the step and feed h~ to the next input
    dropout: float = 0.5  # dropout on embeddings and before the output layer
    tie_embeddings: bool = False  # share source/target embeddings (needs --shared-vocab)
    pad_id: int = derived(0)  # set from the target vocabulary
    bos_id: int = derived(1)
    eos_id: int = derived(2)

    def validate(self) -> None:
        if self.src_vocab < 4 or self.tgt_vocab < 4:
            raise ValueError(f"vocabularies need at least 4 ids (specials + one token), got "
                             f"{self.src_vocab} and {self.tgt_vocab}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")
        if self.decoder_cell not in DECODER_CELLS:
            raise ValueError(f"decoder_cell must be one of {DECODER_CELLS}, got "
                             f"{self.decoder_cell!r}")
        if self.decoder_hidden < 1 or self.decoder_layers < 1 or self.embed < 1:
            raise ValueError("embed, decoder_hidden and decoder_layers must be >= 1")
        if self.input_feeding and self.attention == "none":
            raise ValueError("input feeding feeds the attentional vector: it needs attention")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.tie_embeddings and self.src_vocab != self.tgt_vocab:
            raise ValueError("tie_embeddings needs one shared vocabulary (--shared-vocab)")
        self.encoder.validate()
        memory = self.memory_size
        if self.attention == "dot" and memory != self.decoder_hidden:
            raise ValueError(
                f"dot attention compares the decoder state with the encoder outputs, so their "
                f"sizes must match: decoder_hidden {self.decoder_hidden} vs encoder outputs "
                f"{memory} (hidden x directions); use attention general or additive, or set "
                f"decoder_hidden={memory}")

    @property
    def memory_size(self) -> int:
        return self.encoder.hidden * (2 if self.encoder.bidirectional else 1)


class Attention(nn.Module):
    """Scores of a query against every source step, softmax over the valid ones, and the
    weighted sum of the memory.

    ``keys(memory (B, S, M)) -> keys`` is computed once per source batch; then each step calls
    ``forward(query (B, Q), keys, memory, mask (B, S) bool, True = valid)`` and gets
    ``(context (B, M), weights (B, S))``; weights are exactly 0 on padded steps and sum to 1.
    """

    def __init__(self, kind: str, query_size: int, memory_size: int, size: int = 256):
        super().__init__()
        if kind not in ATTENTIONS or kind == "none":
            raise ValueError(f"attention kind must be additive, dot or general, got {kind!r}")
        self.kind = kind
        if kind == "additive":
            self.w_memory = nn.Linear(memory_size, size, bias=False)
            self.w_query = nn.Linear(query_size, size)
            self.v = nn.Linear(size, 1, bias=False)
        elif kind == "general":
            self.w = nn.Linear(query_size, memory_size, bias=False)
        elif query_size != memory_size:
            raise ValueError(f"dot attention needs equal query and memory sizes, got "
                             f"{query_size} and {memory_size}")

    def keys(self, memory: Tensor) -> Tensor:
        if self.kind == "additive":
            return self.w_memory(memory)  # (B, S, A)
        return memory  # dot / general score against the memory itself

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores (B, S)."""
        if self.kind == "additive":
            return self.v(torch.tanh(keys + self.w_query(query).unsqueeze(1))).squeeze(2)
        q = self.w(query) if self.kind == "general" else query  # (B, M)
        return torch.bmm(keys, q.unsqueeze(2)).squeeze(2)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor,
                mask: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.scores(query, keys).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, M)
        return context, weights


class DecodeState(NamedTuple):
    """Everything one decoder step needs, batch on dimension 1 (for ``select_state``)."""

    hidden: Tensor  # (L, B, H) decoder states (LSTM: h and c stacked as (2L, B, H))
    feed: Tensor | None  # (1, B, H) the previous attentional vector (input feeding)
    memory: Tensor | None  # (S, B, M) encoder outputs
    keys: Tensor | None  # (S, B, K) attention keys
    mask: Tensor | None  # (S, B) True on valid source steps


class Seq2Seq(nn.Module):
    """``forward(src (B, S), src_lengths (B,), tgt_in (B, T)) -> logits (B, T, V)``."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        # No padding_idx: id 0 is also <unk>, which must learn; padding never reaches the
        # output (the encoder reads lengths, attention masks, the loss masks by length).
        self.src_embedding = nn.Embedding(cfg.src_vocab, cfg.embed)
        self.tgt_embedding = (self.src_embedding if cfg.tie_embeddings else
                              nn.Embedding(cfg.tgt_vocab, cfg.embed))
        self.encoder = build_encoder(cfg.encoder, cfg.embed)
        D = 2 if cfg.encoder.bidirectional else 1
        H, M = cfg.decoder_hidden, cfg.memory_size
        self.bridge = nn.Linear(D * cfg.encoder.hidden, cfg.decoder_layers * H)
        self.attention = (None if cfg.attention == "none" else
                          Attention(cfg.attention, H, M, cfg.attention_size))
        A = 0 if self.attention is None else M
        if cfg.input_feeding:
            first_in = cfg.embed + H
            self.combine = nn.Linear(M + H, H, bias=False)
            out_in = H
        else:
            first_in = cfg.embed + A
            out_in = H + A + cfg.embed
        cell = {"gru": GRUCell, "lstm": LSTMCell, "rnn": RNNCell}[cfg.decoder_cell]
        self.cells = nn.ModuleList(cell(first_in if i == 0 else H, H)
                                   for i in range(cfg.decoder_layers))
        self.drop = nn.Dropout(cfg.dropout)
        self.output = nn.Linear(out_in, cfg.tgt_vocab)

    # -- encoder ---------------------------------------------------------------------------

    def encode(self, src: Tensor, src_lengths: Tensor) -> DecodeState:
        """Read the source; the decoder's initial state (memory as (S, B, M))."""
        cfg = self.cfg
        x = self.drop(self.src_embedding(src))  # (B, S, E)
        memory, final = self.encoder(x, lengths=src_lengths)  # (B, S, M), (L*D, B, He)
        h_n = final[0] if isinstance(final, tuple) else final
        D = 2 if cfg.encoder.bidirectional else 1
        top = h_n[-D:]  # (D, B, He) the top layer's directions
        B = src.size(0)
        s0 = torch.tanh(self.bridge(top.transpose(0, 1).reshape(B, -1)))  # (B, L*H)
        hidden = s0.view(B, cfg.decoder_layers, -1).transpose(0, 1).contiguous()  # (L, B, H)
        if cfg.decoder_cell == "lstm":
            hidden = torch.cat([hidden, torch.zeros_like(hidden)], 0)  # (2L, B, H): h then c
        mask = (torch.arange(src.size(1), device=src.device).unsqueeze(1)
                < src_lengths.to(src.device).unsqueeze(0))  # (S, B)
        mem = memory.transpose(0, 1)  # (S, B, M)
        keys = None if self.attention is None else self.attention.keys(memory).transpose(0, 1)
        feed = (memory.new_zeros(1, B, cfg.decoder_hidden) if cfg.input_feeding else None)
        return DecodeState(hidden, feed, mem if self.attention is not None else None, keys,
                           mask if self.attention is not None else None)

    # -- one decoder step ------------------------------------------------------------------

    def _cells(self, x: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        L = self.cfg.decoder_layers
        lstm = self.cfg.decoder_cell == "lstm"
        new = []
        for i, cell in enumerate(self.cells):
            state = LSTMState(hidden[i], hidden[L + i]) if lstm else hidden[i]
            x, state = cell.step(x, state)
            new.append(state)
        if lstm:
            return x, torch.stack([s[0] for s in new] + [s[1] for s in new])
        return x, torch.stack(new)

    def decode_step(self, tokens: Tensor, state: DecodeState
                    ) -> tuple[Tensor, DecodeState, Tensor | None]:
        """One target step: ``(pre-output (B, O), new state, attention weights (B, S))``.
        The logits are ``self.output(self.drop(pre-output))``."""
        e = self.drop(self.tgt_embedding(tokens))  # (B, E)
        L = self.cfg.decoder_layers
        weights = None
        if self.attention is not None:
            memory, keys = state.memory.transpose(0, 1), state.keys.transpose(0, 1)
            mask = state.mask.transpose(0, 1)
        if self.cfg.input_feeding:
            top, hidden = self._cells(torch.cat([e, state.feed[0]], 1), state.hidden)
            context, weights = self.attention(top, keys, memory, mask)
            attn_vec = torch.tanh(self.combine(torch.cat([context, top], 1)))  # (B, H)
            return attn_vec, state._replace(hidden=hidden, feed=attn_vec.unsqueeze(0)), weights
        if self.attention is not None:
            context, weights = self.attention(state.hidden[L - 1], keys, memory, mask)
            top, hidden = self._cells(torch.cat([e, context], 1), state.hidden)
            pre = torch.cat([top, context, e], 1)
        else:
            top, hidden = self._cells(e, state.hidden)
            pre = torch.cat([top, e], 1)
        return pre, state._replace(hidden=hidden), weights

    # -- training --------------------------------------------------------------------------

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor,
                teacher_forcing: float = 1.0, generator: torch.Generator | None = None,
                return_attention: bool = False):
        """Logits ``(B, T, V)`` for every target position (and attention ``(B, T, S)``).

        With ``teacher_forcing < 1`` each step after the first feeds the reference token with
        that probability (one coin per step from ``generator``, for the whole batch), else the
        model's own argmax of the previous step.
        """
        state = self.encode(src, src_lengths)
        T = tgt_in.size(1)
        if teacher_forcing >= 1:
            pres, attn = [], []
            for t in range(T):
                pre, state, w = self.decode_step(tgt_in[:, t], state)
                pres.append(pre)
                attn.append(w)
            logits = self.output(self.drop(torch.stack(pres, 1)))  # one product for all steps
        else:
            steps, attn = [], []
            tokens = tgt_in[:, 0]
            for t in range(T):
                pre, state, w = self.decode_step(tokens, state)
                step_logits = self.output(self.drop(pre))
                steps.append(step_logits)
                attn.append(w)
                if t + 1 < T:
                    coin = float(torch.rand(1, generator=generator))
                    tokens = (tgt_in[:, t + 1] if coin < teacher_forcing
                              else step_logits.argmax(1).detach())
            logits = torch.stack(steps, 1)
        if return_attention:
            return logits, (torch.stack(attn, 1) if self.attention is not None else None)
        return logits

    # -- inference -------------------------------------------------------------------------

    def start(self, src: Tensor, src_lengths: Tensor):
        """``(step, state)`` for :func:`rnnkit.decode.generate` / ``beam_search``."""
        state = self.encode(src, src_lengths)

        def step(tokens: Tensor, st: DecodeState):
            pre, st, _ = self.decode_step(tokens, st)
            return self.output(pre), st

        return step, state


def sequence_loss(logits: Tensor, target: Tensor, lengths: Tensor,
                  label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy over the valid target positions (``t < lengths``)."""
    mask = (torch.arange(target.size(1), device=target.device).unsqueeze(0)
            < lengths.to(target.device).unsqueeze(1))  # (B, T)
    return F.cross_entropy(logits[mask], target[mask], label_smoothing=label_smoothing)


@torch.no_grad()
def translate_batch(model: Seq2Seq, src: Tensor, src_lengths: Tensor, *, beam: int = 1,
                    max_len: int | None = None, length_penalty: float = 1.0, n_best: int = 1,
                    greedy: bool = True, temperature: float = 1.0, top_k: int | None = None,
                    top_p: float | None = None, generator: torch.Generator | None = None
                    ) -> list[list[tuple[list[int], float]]]:
    """Decode a batch through :mod:`rnnkit.decode`; per row, up to ``n_best`` (ids, score)
    without ``<eos>``. ``beam > 1`` (or ``n_best > 1``) runs beam search and scores are its
    length-normalised log-probabilities; otherwise greedy (or sampling with ``greedy=False``)
    and the score is 0.0. At most ``max_len`` tokens per sentence (default: twice its source
    length plus 10); a row that reaches it ends there."""
    cfg = model.cfg
    B = src.size(0)
    # Each sentence's own limit, so a translation never depends on its batch neighbours.
    limits = (2 * src_lengths.cpu() + 10 if max_len is None
              else torch.full((B,), int(max_len), dtype=torch.long))
    inner, state = model.start(src, src_lengths)
    produced = [0]

    def step(tokens: Tensor, st):
        logits, st = inner(tokens, st)
        produced[0] += 1
        over = limits.repeat_interleave(logits.size(0) // B) < produced[0]
        if bool(over.any()):  # past its limit a row can only end
            ended = torch.full_like(logits[0], float("-inf"))
            ended[cfg.eos_id] = 0.0
            logits = torch.where(over.to(logits.device).unsqueeze(1), ended, logits)
        return logits, st

    first = torch.full((B,), cfg.bos_id, dtype=torch.long, device=src.device)
    max_new = int(limits.max()) + 1  # + the forced <eos>
    if beam > 1 or n_best > 1:
        found = beam_search(step, state, first, max_new, beam_size=max(beam, n_best),
                            eos_id=cfg.eos_id, length_penalty=length_penalty, n_best=n_best)
        return [[(_strip(ids, cfg.eos_id), s) for ids, s in row] for row in found]
    tokens, _ = generate(step, state, first, max_new, greedy=greedy, temperature=temperature,
                         top_k=top_k, top_p=top_p, generator=generator, eos_id=cfg.eos_id)
    return [[(_strip(row, cfg.eos_id), 0.0)] for row in tokens.tolist()]


def _strip(ids: list[int], eos: int) -> list[int]:
    return ids[: ids.index(eos)] if eos in ids else list(ids)
