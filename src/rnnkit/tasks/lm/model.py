"""The language model head: tokens in, next-token logits out.

    tokens (B, T) -> embedding (or one-hot, as in the classic char-rnn) (B, T, E)
                  -> recurrent encoder (B, T, H) -> dropout -> linear (B, T, V)

Generation feeds the model's own prediction back as the next input through
:mod:`rnnkit.decode`, one step at a time, carrying the state (no prefix recomputation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import derived, section
from ...data.streams import StreamBatcher, eval_streams
from ...data.vocab import Vocab
from ...decode import generate, select_state
from ...train.device import device_of, to_device
from ...train.task import StepOutput, Task
from ...train.tbptt import detach_state
from ..common.encoder import EncoderConfig, build_encoder
from .budget import LOW, apply_dropout, plan_dropout

LN2 = math.log(2)


@dataclass
class LMConfig:
    vocab_size: int = derived(0)  # V, set from the vocabulary
    embed: int = 256  # E, embedding size; 0 feeds one-hot vectors (as in the seed's example)
    # 2 x 256: ahead of 1 x 512 at equal wall-clock (docs/design/lm-defaults.md)
    # 2 x 256; its dropout between layers (rnn_dropout None) follows the budget, as out_dropout
    encoder: EncoderConfig = section(lambda: EncoderConfig(hidden=256, layers=2,
                                                           rnn_dropout=None), prefix="")
    embed_dropout: float = 0.0  # dropout on the embeddings
    # dropout on the encoder outputs before the projection (None: from the epochs the budget
    # holds, 0.1 up to 9 epochs and more after; rnnkit.tasks.lm.budget)
    out_dropout: float | None = None
    tie_weights: bool = False  # share embedding and output weights (needs embed == hidden)


class LanguageModel(nn.Module):
    """Next-token model over any recurrent encoder.

    ``forward(tokens (B, T), state=None) -> (logits (B, T, V), state)``;
    ``step(tokens (B,), state) -> (logits (B, V), state)`` is the decoder's step function.
    """

    def __init__(self, cfg: LMConfig):
        super().__init__()
        if cfg.vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {cfg.vocab_size}")
        if cfg.encoder.bidirectional:
            raise ValueError("a language model cannot be bidirectional: it would see the future")
        self.cfg = cfg
        V, E, H = cfg.vocab_size, cfg.embed, cfg.encoder.hidden
        self.embedding = nn.Embedding(V, E) if E > 0 else None
        self.encoder = build_encoder(cfg.encoder, E if E > 0 else V)
        self.embed_dropout = nn.Dropout(cfg.embed_dropout)
        self.out_dropout = nn.Dropout(LOW[1] if cfg.out_dropout is None else cfg.out_dropout)
        self.decoder = nn.Linear(H, V)
        if cfg.tie_weights:
            if E != H:
                raise ValueError(f"tie_weights needs embed == hidden, got {E} and {H}")
            self.decoder.weight = self.embedding.weight

    def embed(self, tokens: Tensor) -> Tensor:
        if self.embedding is None:
            return F.one_hot(tokens, self.cfg.vocab_size).to(self.decoder.weight.dtype)
        return self.embed_dropout(self.embedding(tokens))

    def forward(self, tokens: Tensor, state=None) -> tuple[Tensor, object]:
        out, state = self.encoder(self.embed(tokens), state)  # (B, T, H)
        return self.decoder(self.out_dropout(out)), state  # (B, T, V)

    def step(self, tokens: Tensor, state=None) -> tuple[Tensor, object]:
        logits, state = self(tokens.unsqueeze(1), state)
        return logits[:, 0], state


def lm_metrics(nats_per_token: float, tokens: int, chars: int) -> dict:
    """Loss in nats/token, perplexity, and bits per character (text length in characters)."""
    total_nats = nats_per_token * tokens
    return {
        "loss": nats_per_token,
        "ppl": math.exp(min(nats_per_token, 700.0)),
        "bpc": total_nats / max(chars, 1) / LN2,
        "tokens": tokens,
    }


# Training task ---------------------------------------------------------------------------------

class LMTask(Task):
    """Truncated-BPTT language modelling over B contiguous streams of a token sequence."""

    items_name = "tokens"

    def __init__(self, train_ids: Tensor, val_ids: Tensor, batch_size: int = 32,
                 chunk_len: int = 128, stride: int | None = None, random_len: bool = False,
                 seed: int = 0, eval_batch_size: int = 64, val_chars: int | None = None,
                 eval_chunk_len: int = 256, budget_dropout: tuple[bool, bool] = (False, False)):
        self.batcher = StreamBatcher(train_ids, batch_size, chunk_len, stride, random_len, seed)
        self.val_ids = torch.as_tensor(val_ids, dtype=torch.long)
        self.val_chars = val_chars if val_chars is not None else len(self.val_ids)
        self.eval_batch_size, self.eval_chunk_len = eval_batch_size, eval_chunk_len
        self.state = None  # carried hidden state, detached
        # (between layers, on the outputs): which dropouts follow the epochs in the budget
        self.budget_dropout = budget_dropout

    def train_step(self, model: LanguageModel) -> StepOutput:
        ch = next(self.batcher)
        dev = device_of(model)
        x, y = to_device((self.shard.rows(ch.x), self.shard.rows(ch.y)), dev)  # (b, T): ours
        state = None if ch.reset else to_device(self.state, dev)
        if ch.carry_at < x.shape[1]:  # BPTT(k1 < k2): carry the state from step k1
            head, carry = model(x[:, : ch.carry_at], state)
            tail, _ = model(x[:, ch.carry_at :], carry)
            logits = torch.cat([head, tail], 1)
        else:
            logits, carry = model(x, state)
        self.state = detach_state(carry)
        scored = logits[:, ch.loss_from :]  # (B, n', V)
        loss = F.cross_entropy(scored.reshape(-1, scored.shape[-1]),
                               y[:, ch.loss_from :].reshape(-1))
        L = self.batcher.streams.shape[1]
        return StepOutput(loss, scored.shape[0] * scored.shape[1], ch.lr_scale,
                          ch.epoch + self.batcher.pos / L, share=1 / self.shard.world)

    def check_shard(self, shard) -> None:
        """The streams must split evenly between the processes, and a window must be one
        forward pass (DistributedDataParallel syncs one forward per backward)."""
        B = self.batcher.batch_size
        if B % shard.world:
            raise ValueError(f"--batch-size {B} streams cannot be shared by {shard.world} "
                             f"processes: make it a multiple of {shard.world}")
        if shard.world > 1 and self.batcher.stride < self.batcher.chunk_len:
            raise ValueError("--stride shorter than --chunk-len (k1 < k2) runs two forward "
                             "passes per step, which many processes do not support")

    def evaluate(self, model: LanguageModel, max_items: int | None = None) -> dict:
        return evaluate_lm(model, self.val_ids, self.val_chars, self.eval_batch_size,
                           self.eval_chunk_len, max_items)

    def plan_for_budget(self, model: LanguageModel, epochs: float) -> dict:
        return plan_dropout(model, epochs, *self.budget_dropout)

    def apply_plan(self, model: LanguageModel, plan: dict) -> None:
        apply_dropout(model, plan)

    def state_dict(self) -> dict:
        # The carried state of every stream, whichever process owns it (all processes join
        # the gather), so that a run resumes on any number of processes.
        return {"batcher": self.batcher.state_dict(),
                "state": self.shard.gather_rows(self.state, dim=1)}

    def load_state_dict(self, d: dict) -> None:
        self.batcher.load_state_dict(d["batcher"])
        self.state = self.shard.rows(d["state"], dim=1)


@torch.no_grad()
def evaluate_lm(model: LanguageModel, ids: Tensor, chars: int | None = None,
                batch_size: int = 64, chunk_len: int = 256, max_tokens: int | None = None) -> dict:
    """Loss (nats/token), perplexity and bits/char over every target in ``ids``, each scored
    once with its full left context (B streams carried chunk to chunk, then the leftover
    tokens continue the last stream). ``max_tokens`` scores only a prefix of each stream."""
    was_training = model.training
    model.eval()
    x, y, tail_x, tail_y = to_device(eval_streams(ids, batch_size), device_of(model))
    if max_tokens is not None:
        keep = max(1, min(x.shape[1], max_tokens // x.shape[0]))
        x, y, tail_x = x[:, :keep], y[:, :keep], None
    total, count, state = _score(model, x, y, None, chunk_len)
    if tail_x is not None and tail_x.numel() > 0:
        last = torch.tensor([x.shape[0] - 1], device=x.device)
        state = select_state(state, last)  # the last stream goes on
        more, n, _ = _score(model, tail_x, tail_y, state, chunk_len)
        total, count = total + more, count + n
    model.train(was_training)
    n_targets = max(ids.numel() - 1, 1)
    scored_chars = (chars if chars is not None else n_targets) * count / n_targets
    return lm_metrics(total / count, count, scored_chars)


def _score(model, x: Tensor, y: Tensor, state, chunk_len: int) -> tuple[float, int, object]:
    """Summed cross-entropy of targets y (B, L) given inputs x, carrying ``state`` across
    chunks; returns (total nats, targets, final state)."""
    total, count = 0.0, 0
    for a in range(0, x.shape[1], chunk_len):
        logits, state = model(x[:, a : a + chunk_len], state)
        t = y[:, a : a + chunk_len]
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1),
                                 reduction="sum").item()
        count += t.numel()
    return total, count, state


# Sampling --------------------------------------------------------------------------------------

class _Pieces:
    """Streams each new token's share of the decoded text, so that the pieces join to what the
    whole sample decodes to: words keep the spaces between them, BPE pieces merge, and an
    incomplete UTF-8 character (a trailing U+FFFD) waits for the token that completes it."""

    def __init__(self, vocab: Vocab, on_text: Callable[[str], None]):
        self.vocab, self.on_text, self.ids, self.sent = vocab, on_text, [], ""

    def __call__(self, i: int, tok: Tensor) -> None:
        self.ids.append(int(tok[0]))
        text = self.vocab.decode(self.ids).rstrip("\ufffd")
        self._send(text)

    def _send(self, text: str) -> None:
        if text.startswith(self.sent) and len(text) > len(self.sent):
            piece, self.sent = text[len(self.sent):], text
            self.on_text(piece)

    def flush(self, text: str) -> None:
        """The end of the sample: what is still held back (an unfinished character)."""
        self._send(text)


def sample_text(model: LanguageModel, vocab: Vocab, prime: str = "", length: int = 500, *,
                temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                greedy: bool = False, seed: int | None = None,
                on_text: Callable[[str], None] | None = None) -> str:
    """Generate ``length`` tokens after ``prime``, feeding each prediction back as input.

    The prime is read once (one forward call) and its state carried; each new token costs one
    step. ``on_text`` receives the text as it is produced (for streaming; see
    :class:`_Pieces`).
    """
    was_training = model.training
    model.eval()
    ids = vocab.encode(prime) if prime else []
    if not ids:
        ids = vocab.encode("\n") or [0]
        ids = [i for i in ids if i != vocab.unk_id] or [len(vocab) - 1]
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    dev = device_of(model)
    with torch.no_grad():
        state = None
        if len(ids) > 1:
            _, state = model(torch.tensor([ids[:-1]], device=dev), state)
        emit = None if on_text is None else _Pieces(vocab, on_text)
        tokens, _ = generate(model.step, state, torch.tensor([ids[-1]], device=dev), length,
                             greedy=greedy,
                             temperature=temperature, top_k=top_k, top_p=top_p, generator=gen,
                             on_token=emit)
    model.train(was_training)
    text = vocab.decode(tokens[0].tolist())
    if emit is not None:
        emit.flush(text)
    return text
