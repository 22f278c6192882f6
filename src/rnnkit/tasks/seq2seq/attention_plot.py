"""The attention heatmap of one translated sentence (``attention.png``, ``translate
--attention``)."""

from __future__ import annotations

from pathlib import Path

import torch

from ...data.parallel import Seq2SeqVocab
from ...plotting import new_figure, save_figure
from ...train.device import device_of
from .data import translate_ids
from .model import Seq2Seq


@torch.no_grad()
def attention_matrix(tr_model: Seq2Seq, src_vocab: Seq2SeqVocab, tgt_vocab: Seq2SeqVocab,
                     text: str, max_len: int = 60) -> tuple[list[str], list[str], torch.Tensor]:
    """(source tokens, greedy output tokens, attention weights (T_out, S)) for one sentence."""
    ids = src_vocab.encode(text) or [0]
    out = translate_ids(tr_model, [ids], beam=1, max_len=max_len)[0]
    dev = device_of(tr_model)
    y_in = torch.tensor([[tgt_vocab.bos_id, *out]], device=dev)
    _, attn = tr_model(torch.tensor([ids], device=dev), torch.tensor([len(ids)]), y_in,
                       return_attention=True)
    src_toks = [src_vocab.itos[i] for i in ids]
    tgt_toks = [tgt_vocab.itos[i] for i in out] + ["<eos>"]  # the step that ends (or stops)
    return src_toks, tgt_toks, attn[0]


def save_attention_plot(model: Seq2Seq, src_vocab, tgt_vocab, text: str,
                        path: Path) -> Path | None:
    """Heatmap PNG of the attention while translating ``text`` (None without matplotlib or
    for a model without attention)."""
    if model.attention is None:
        return None
    src, tgt, w = attention_matrix(model, src_vocab, tgt_vocab, text)
    fig = new_figure((max(4, 0.45 * len(src) + 2), max(3, 0.4 * len(tgt) + 1.5)),
                     "attention heatmap")
    if fig is None:
        return None
    ax = fig.subplots()
    ax.imshow(w.numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(src)), src, rotation=60, ha="right")
    ax.set_yticks(range(len(tgt)), tgt)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.set_title("attention weights")
    return save_figure(fig, path, dpi=110)
