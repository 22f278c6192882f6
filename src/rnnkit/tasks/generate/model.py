"""The one-to-many form: a generator conditioned on ONE vector.

    condition (a class id, or an image)
        -> ConditionEncoder: embedding (class) or small CNN (image) -> vector v (B, C)
        -> initial state: tanh(linear(v)) reshaped to (L, B, H) (an LSTM gets h and c)
    tokens (B, T) -> embedding (B, T, E) [++ v at every step when feed_condition] (B, T, E+C)
        -> recurrent decoder (B, T, H) -> dropout -> linear (B, T, V)

Training is teacher forced (:class:`GenerateTask`): the input is ``<bos> t1 .. tn`` and the
target ``t1 .. tn <eos>``; the loss is the mean cross-entropy per target token, end token
included. Generation goes through :mod:`rnnkit.decode` with :meth:`Generator.step`; the
condition vector travels inside the decoding state (``(rnn_state, v (1, B, C))``), so beam
search reorders and repeats it with the recurrent state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...cells import LSTMState
from ...config import derived, section
from ...data.batching import BucketBatcher, eval_batches, pad
from ...decode import beam_search, generate
from ...train.device import device_of, to_device
from ...train.task import StepOutput, Task
from ..common.encoder import EncoderConfig, build_encoder

CONDITIONS = ("class", "image")
IGNORE = -100


def _decoder_defaults() -> EncoderConfig:
    return EncoderConfig(cell="gru", hidden=256)


@dataclass
class GeneratorConfig:
    vocab_size: int = derived(0)  # V, set from the vocabulary
    condition: str = derived("class")  # class | image, set from the data
    num_classes: int = derived(0)  # condition classes (class conditions), set from the labels
    image_height: int = derived(0)  # image conditions: set from the data
    image_width: int = derived(0)
    condition_dim: int = 128  # C, size of the condition vector
    cnn_channels: int = 32  # image conditions: channels of the CNN encoder's first block
    embed: int = 32  # E, token embedding size
    feed_condition: bool = True  # also concatenate the condition vector to every step's input
    encoder: EncoderConfig = section(_decoder_defaults, prefix="")
    embed_dropout: float = 0.0  # dropout on the token embeddings
    out_dropout: float = 0.1  # dropout on the decoder outputs before the projection

    def validate(self) -> None:
        if self.vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2, got {self.vocab_size}")
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {self.condition!r}")
        if self.condition == "class" and self.num_classes < 1:
            raise ValueError(f"a class condition needs num_classes >= 1, got {self.num_classes}")
        if self.condition == "image" and (self.image_height < 4 or self.image_width < 4):
            raise ValueError(f"an image condition needs images of at least 4 x 4, got "
                             f"{self.image_height} x {self.image_width}")
        if self.condition_dim < 1 or self.embed < 1 or self.cnn_channels < 1:
            raise ValueError("condition_dim, embed and cnn_channels must be >= 1")
        if self.encoder.bidirectional:
            raise ValueError("a generator cannot be bidirectional: it would see the future")
        self.encoder.validate()


class ConditionEncoder(nn.Module):
    """``forward(condition) -> (B, C)``: class ids ``(B,)`` through an embedding, or grey
    images ``(B, 1, H, W)`` through a small CNN (two conv blocks, each halving the size, then
    a linear layer over the flattened map, so the vector keeps where things are)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.kind = cfg.condition
        if self.kind == "class":
            self.embedding = nn.Embedding(cfg.num_classes, cfg.condition_dim)
        else:
            c = cfg.cnn_channels
            self.cnn = nn.Sequential(
                nn.Conv2d(1, c, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten())
            flat = 2 * c * (cfg.image_height // 4) * (cfg.image_width // 4)
            self.project = nn.Linear(flat, cfg.condition_dim)
            self.shape = (1, cfg.image_height, cfg.image_width)

    def forward(self, condition: Tensor) -> Tensor:
        if self.kind == "class":
            if condition.dim() != 1 or condition.dtype != torch.long:
                raise ValueError(f"class conditions must be a LongTensor (B,), found "
                                 f"{tuple(condition.shape)} {condition.dtype}")
            return self.embedding(condition)
        if condition.dim() != 4 or tuple(condition.shape[1:]) != self.shape:
            raise ValueError(f"image conditions must be (B, {', '.join(map(str, self.shape))}), "
                             f"found {tuple(condition.shape)}")
        return self.project(self.cnn(condition))


class Generator(nn.Module):
    """``forward(condition, tokens (B, T), lengths (B,)) -> logits (B, T, V)`` (teacher
    forcing); ``start(condition) -> state`` and ``step(tokens (B,), state) -> (logits (B, V),
    state)`` for :mod:`rnnkit.decode`."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        enc = cfg.encoder
        self.condition_encoder = ConditionEncoder(cfg)
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embed)
        inp = cfg.embed + (cfg.condition_dim if cfg.feed_condition else 0)
        self.decoder = build_encoder(enc, inp)
        self.n_parts = 2 if enc.cell == "lstm" else 1  # LSTM: h and c
        self.init_state = nn.Linear(cfg.condition_dim, self.n_parts * enc.layers * enc.hidden)
        self.embed_dropout = nn.Dropout(cfg.embed_dropout)
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        self.output = nn.Linear(enc.hidden, cfg.vocab_size)

    def encode_condition(self, condition: Tensor) -> Tensor:
        """The condition vector, (B, C)."""
        return self.condition_encoder(condition)

    def initial_state(self, vec: Tensor):
        """The decoder's initial state from the condition vector: ``tanh(linear(v))``, shaped
        ``(L, B, H)`` (an :class:`~rnnkit.LSTMState` of two for an LSTM)."""
        B, L, H = vec.shape[0], self.cfg.encoder.layers, self.cfg.encoder.hidden
        z = torch.tanh(self.init_state(vec)).view(B, self.n_parts, L, H).permute(1, 2, 0, 3)
        parts = [p.contiguous() for p in z]  # each (L, B, H)
        return LSTMState(parts[0], parts[1]) if self.n_parts == 2 else parts[0]

    def _inputs(self, tokens: Tensor, vec: Tensor) -> Tensor:
        x = self.embed_dropout(self.embedding(tokens))  # (B, T, E)
        if self.cfg.feed_condition:
            x = torch.cat([x, vec.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=2)
        return x

    def forward(self, condition: Tensor, tokens: Tensor, lengths: Tensor | None = None) -> Tensor:
        vec = self.encode_condition(condition)
        out, _ = self.decoder(self._inputs(tokens, vec), self.initial_state(vec), lengths=lengths)
        return self.output(self.out_dropout(out))  # (B, T, V)

    def start(self, condition: Tensor):
        """The decoding state before the first token: ``(rnn_state, v (1, B, C))``."""
        vec = self.encode_condition(condition)
        return (self.initial_state(vec), vec.unsqueeze(0))

    def step(self, tokens: Tensor, state) -> tuple[Tensor, object]:
        """One decoding step: the step function of :func:`rnnkit.decode.generate`."""
        rnn_state, vec = state
        out, rnn_state = self.decoder(self._inputs(tokens.unsqueeze(1), vec[0]), rnn_state)
        logits = self.output(self.out_dropout(out[:, 0]))
        # id 0 is every generator vocabulary's unknown token: never a training target, so it
        # is never produced either.
        logits[:, 0] = float("-inf")
        return logits, (rnn_state, vec)


# Decoding --------------------------------------------------------------------------------------

def _strip(ids: Sequence[int], eos_id: int, max_len: int) -> list[int]:
    ids = list(ids)
    return ids[: ids.index(eos_id)] if eos_id in ids else ids[:max_len]


@torch.no_grad()
def generate_ids(model: Generator, condition: Tensor, bos_id: int, eos_id: int, max_len: int,
                 *, greedy: bool = False, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None
                 ) -> list[list[int]]:
    """One sequence per condition row (the end token and what follows removed), greedy or
    sampled through :func:`rnnkit.decode.generate`: at most ``max_len`` tokens (one more step
    is decoded for the end token; a sequence that has not ended by then is cut)."""
    was_training = model.training
    model.eval()
    dev = device_of(model)
    condition = condition.to(dev)
    first = torch.full((len(condition),), bos_id, dtype=torch.long, device=dev)
    tokens, _ = generate(model.step, model.start(condition), first, max_len + 1, greedy=greedy,
                         temperature=temperature, top_k=top_k, top_p=top_p, generator=generator,
                         eos_id=eos_id)
    model.train(was_training)
    return [_strip(row, eos_id, max_len) for row in tokens.tolist()]


@torch.no_grad()
def beam_ids(model: Generator, condition: Tensor, bos_id: int, eos_id: int, max_len: int,
             beam_size: int = 5, n_best: int = 1, length_penalty: float = 1.0
             ) -> list[list[tuple[list[int], float]]]:
    """Beam search per condition row through :func:`rnnkit.decode.beam_search`: up to
    ``n_best`` ``(ids without the end token, score)``, best first."""
    was_training = model.training
    model.eval()
    dev = device_of(model)
    condition = condition.to(dev)
    first = torch.full((len(condition),), bos_id, dtype=torch.long, device=dev)
    out = beam_search(model.step, model.start(condition), first, max_len + 1,
                      beam_size=beam_size, eos_id=eos_id, length_penalty=length_penalty,
                      n_best=n_best)
    model.train(was_training)
    return [[(_strip(ids, eos_id, max_len), score) for ids, score in row] for row in out]


# Training task ---------------------------------------------------------------------------------

def teacher_batch(seqs: Sequence[Sequence[int]], bos_id: int, eos_id: int
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """``(inputs (B, T), targets (B, T), lengths (B,))``: ``<bos> + s`` and ``s + <eos>``,
    targets padded with -100 (ignored by the loss)."""
    x, lengths = pad([[bos_id, *s] for s in seqs])
    y, _ = pad([[*s, eos_id] for s in seqs], value=IGNORE)
    return x, y, lengths


def caption_scores(pred: Sequence[Sequence[int]], gold: Sequence[Sequence[int]]) -> dict:
    """Exact match (whole sequence) and token accuracy: tokens equal at the same position,
    over ``max(len(pred), len(gold))`` per sequence, so missing and extra tokens count wrong."""
    exact = sum(list(p) == list(g) for p, g in zip(pred, gold))
    right = sum(sum(a == b for a, b in zip(p, g)) for p, g in zip(pred, gold))
    total = sum(max(len(p), len(g)) for p, g in zip(pred, gold))
    n = max(len(gold), 1)
    return {"exact_match": exact / n, "token_acc": right / max(total, 1), "n": len(gold)}


@torch.no_grad()
def sequence_nll(model: Generator, conditions: Tensor, seqs: Sequence[Sequence[int]],
                 bos_id: int, eos_id: int, batch_size: int = 256) -> Tensor:
    """Summed negative log-likelihood (nats) of each sequence, end token included: (N,)."""
    was_training = model.training
    model.eval()
    out = torch.zeros(len(seqs))
    dev = device_of(model)
    for idx in eval_batches([len(s) for s in seqs], batch_size):
        x, y, lengths = to_device(teacher_batch([seqs[i] for i in idx], bos_id, eos_id), dev)
        logits = model(conditions[idx].to(dev), x, lengths)
        nll = F.cross_entropy(logits.transpose(1, 2).float(), y, ignore_index=IGNORE,
                              reduction="none")  # (B, T)
        out[idx] = nll.sum(1).cpu()
    model.train(was_training)
    return out


class GenerateTask(Task):
    """Conditions (class ids ``(N,)`` or images ``(N, 1, H, W)``) and their target token
    sequences, teacher forced through the one training loop.

    :meth:`evaluate` gives the validation loss (nats per token, end token included) and
    perplexity; with ``decode_dev`` also greedy ``exact_match`` and ``token_acc``.
    """

    items_name = "tokens"

    def __init__(self, train_cond: Tensor, train_seqs: Sequence[Sequence[int]],
                 dev_cond: Tensor, dev_seqs: Sequence[Sequence[int]], bos_id: int, eos_id: int,
                 batch_size: int = 64, seed: int = 0, decode_dev: bool = False,
                 eval_batch_size: int = 256):
        if len(train_cond) != len(train_seqs) or len(dev_cond) != len(dev_seqs):
            raise ValueError("need one condition per target sequence")
        if len(dev_seqs) == 0:
            raise ValueError("no validation examples")
        self.train_cond, self.train_seqs = train_cond, [list(s) for s in train_seqs]
        self.dev_cond, self.dev_seqs = dev_cond, [list(s) for s in dev_seqs]
        self.bos_id, self.eos_id = bos_id, eos_id
        self.batcher = BucketBatcher([len(s) for s in self.train_seqs], batch_size, seed)
        self.decode_dev, self.eval_batch_size = decode_dev, eval_batch_size
        self.max_len = max(len(s) for s in self.train_seqs)

    def train_step(self, model: Generator) -> StepOutput:
        batch = next(self.batcher)
        idx = self.shard.split(batch)
        dev = device_of(model)
        x, y, lengths = to_device(teacher_batch([self.train_seqs[i] for i in idx],
                                                self.bos_id, self.eos_id), dev)
        logits = model(self.train_cond[idx].to(dev), x, lengths)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                               ignore_index=IGNORE)
        return StepOutput(loss, int(lengths.sum()), 1.0, self.batcher.epochs_done,
                          share=self.shard.weight(len(batch)))

    def evaluate(self, model: Generator, max_items: int | None = None) -> dict:
        n = len(self.dev_seqs) if max_items is None else min(len(self.dev_seqs), max_items)
        seqs, cond = self.dev_seqs[:n], self.dev_cond[:n]
        nll = sequence_nll(model, cond, seqs, self.bos_id, self.eos_id, self.eval_batch_size)
        tokens = sum(len(s) + 1 for s in seqs)
        loss = float(nll.sum()) / tokens
        out = {"loss": loss, "ppl": math.exp(min(loss, 700.0))}
        if self.decode_dev:
            pred = []
            for a in range(0, n, self.eval_batch_size):
                pred += generate_ids(model, cond[a:a + self.eval_batch_size], self.bos_id,
                                     self.eos_id, self.max_len, greedy=True)
            scores = caption_scores(pred, seqs)
            out |= {"exact_match": scores["exact_match"], "token_acc": scores["token_acc"]}
        return out

    def state_dict(self) -> dict:
        return {"batcher": self.batcher.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.batcher.load_state_dict(d["batcher"])
