"""The sequence tagger head (synchronous many-to-many): one tag per word.

    words (B, T) -> word representation (B, T, E [+ 2*Hc])
                    (:class:`..common.words.WordFeatures`: the word embedding
                    [++ char features, a char BiLSTM/GRU per word])
                 [++ feature columns (B, T, F) -> one embedding each (B, T, F*Ef)]
                 -> dropout -> bidirectional recurrent encoder (B, T, D*H)
                 -> dropout -> linear: emission scores (B, T, K)
                 -> per-step softmax, or a CRF over the whole sentence (:mod:`.crf`)

The char encoder reads each distinct word of the batch once (:func:`..common.words.word_batch`).

Training goes through the one loop with :class:`TagTask`; the loss is per token (the CRF's
sentence negative log-likelihoods summed and divided by the number of words).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...config import derived, section
from ...data.batching import BucketBatcher, eval_batches, pad
from ...train.device import device_of, to_device
from ...train.task import BatchedTask, StepOutput
from ..common.encoder import EncoderConfig, build_encoder
from ..common.metrics import accuracy, chunk_scores, is_chunk_tagset
from ..common.pooling import step_mask
from ..common.words import (
    WordBatch,
    WordFeatures,
    legacy_word_keys,
    validate_char_config,
    word_batch,
    word_dropout,
)
from .crf import CRF


def _encoder_defaults() -> EncoderConfig:
    return EncoderConfig(hidden=128, bidirectional=True)


@dataclass
class TaggerConfig:
    vocab_size: int = derived(0)  # V, set from the word vocabulary
    num_tags: int = derived(0)  # K, set from the tags
    char_vocab_size: int = derived(0)  # set from the characters when char features are on
    feature_vocab_sizes: tuple[int, ...] = derived(())  # one per feature column (:mod:`.features`)
    embed: int = 100  # E, word embedding size (the vectors' size when --vectors is given)
    embed_init: float = 0.05  # embeddings start uniform in [-a, a] (0: torch's N(0, 1))
    encoder: EncoderConfig = section(_encoder_defaults, prefix="")
    char_embed: int = 50  # character embedding size for char-level word features (0: off)
    char_hidden: int = 50  # Hc, hidden units per direction of the char encoder
    char_cell: str = "lstm"  # lstm | gru | rnn: the char encoder's cell
    feature_embed: int = 16  # Ef, embedding size of each feature column (--feature-cols)
    crf: bool = False  # a CRF output layer (Viterbi decoding) instead of per-step softmax
    embed_dropout: float = 0.3  # dropout on the word representation (embedding ++ chars)
    out_dropout: float = 0.3  # dropout on the encoder outputs before the output layer

    def validate(self) -> None:
        if self.vocab_size < 1 or self.num_tags < 1:
            raise ValueError(f"need vocab_size and num_tags >= 1, got {self.vocab_size} and "
                             f"{self.num_tags}")
        validate_char_config(self)
        if self.feature_vocab_sizes and (self.feature_embed < 1 or
                                         min(self.feature_vocab_sizes) < 1):
            raise ValueError(f"feature columns need feature_embed >= 1 and vocabulary sizes "
                             f">= 1, got {self.feature_embed} and "
                             f"{list(self.feature_vocab_sizes)}")


@dataclass
class TagBatch(WordBatch):
    tags: Tensor | None = None  # (B, T) gold tag ids (0 past each length)
    features: Tensor | None = None  # (B, T, F) feature-column ids (0 past each length)


def pad_features(features: Sequence[Sequence[Sequence[int]]]) -> Tensor:
    """(B, T, F) from each sentence's (T_b, F) feature ids, 0 past each length."""
    T, F = max(len(f) for f in features), len(features[0][0])
    out = torch.zeros(len(features), T, F, dtype=torch.long)
    for b, f in enumerate(features):
        out[b, : len(f)] = torch.as_tensor(f, dtype=torch.long).view(len(f), F)
    return out


def make_batch(words: Sequence[Sequence[int]], chars: Sequence[Sequence[Sequence[int]]] | None,
               tags: Sequence[Sequence[int]] | None = None,
               features: Sequence[Sequence[Sequence[int]]] | None = None) -> TagBatch:
    """Pad a batch. Each distinct spelling is given to the char encoder once; ``features``:
    each sentence's feature ids, (T, F) per sentence."""
    b = word_batch(words, chars)
    t = None if tags is None else pad(tags)[0]
    f = None if features is None else pad_features(features)
    return TagBatch(b.words, b.lengths, b.chars, b.char_lengths, b.word_index, t, f)


class Tagger(nn.Module):
    """``forward(batch) -> emissions (B, T, K)``; :meth:`loss` and :meth:`decode`.

    Checkpoints from before :class:`~..common.words.WordFeatures` (``embedding.*``,
    ``char_embedding.*``, ``char_encoder.*`` at the top) load as ``words.*``.
    """

    def __init__(self, cfg: TaggerConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.words = WordFeatures.from_config(cfg)
        self.features = nn.ModuleList(nn.Embedding(n, cfg.feature_embed)
                                      for n in cfg.feature_vocab_sizes)
        for emb in self.features:
            if cfg.embed_init > 0:
                nn.init.uniform_(emb.weight, -cfg.embed_init, cfg.embed_init)
        size = self.words.size + len(self.features) * cfg.feature_embed
        self.encoder = build_encoder(cfg.encoder, size)
        D = 2 if cfg.encoder.bidirectional else 1
        self.embed_dropout = nn.Dropout(cfg.embed_dropout)
        self.out_dropout = nn.Dropout(cfg.out_dropout)
        self.output = nn.Linear(D * cfg.encoder.hidden, cfg.num_tags)
        self.crf = CRF(cfg.num_tags) if cfg.crf else None
        self.register_load_state_dict_pre_hook(legacy_word_keys)

    @property
    def embedding(self) -> nn.Embedding:
        """The word embedding (``words.embedding``)."""
        return self.words.embedding

    def char_features(self, batch: TagBatch) -> Tensor:
        """(B, T, 2*Hc): each valid word's char-encoder final states, zero at padding."""
        return self.words.char_features(batch)

    def feature_embeddings(self, features: Tensor | None) -> list[Tensor]:
        """Each feature column's embeddings, (B, T, Ef) each (none for a words-only model)."""
        if not len(self.features):
            return []
        if features is None or features.shape[-1] != len(self.features):
            got = None if features is None else tuple(features.shape)
            raise ValueError(f"this tagger reads {len(self.features)} feature columns: give "
                             f"their ids (B, T, {len(self.features)}), got {got}")
        return [emb(features[..., j]) for j, emb in enumerate(self.features)]

    def forward(self, batch: TagBatch) -> Tensor:
        x = self.words(batch)  # (B, T, E [+ 2*Hc])
        feats = self.feature_embeddings(getattr(batch, "features", None))
        if feats:
            x = torch.cat([x, *feats], dim=2)  # (B, T, E [+ 2*Hc] + F*Ef)
        out, _ = self.encoder(self.embed_dropout(x), lengths=batch.lengths)  # (B, T, D*H)
        return self.output(self.out_dropout(out))  # (B, T, K)

    def loss(self, batch: TagBatch, emissions: Tensor | None = None) -> Tensor:
        """Mean loss per word (padding excluded)."""
        em = self(batch) if emissions is None else emissions
        lengths = batch.lengths.to(em.device)
        if self.crf is not None:
            return self.crf.nll(em, batch.tags, lengths).sum() / lengths.sum()
        mask = step_mask(lengths, em.shape[1])
        return F.cross_entropy(em[mask], batch.tags[mask])

    @torch.no_grad()
    def decode(self, batch: TagBatch, emissions: Tensor | None = None) -> Tensor:
        """Best tags (B, T): Viterbi with a CRF, per-step argmax otherwise (0 at padding)."""
        em = self(batch) if emissions is None else emissions
        if self.crf is not None:
            return self.crf.decode(em, batch.lengths)
        return em.argmax(2) * step_mask(batch.lengths, em.shape[1])


@torch.no_grad()
def predict_tags(model: Tagger, words: Sequence[Sequence[int]],
                 chars: Sequence[Sequence[Sequence[int]]] | None,
                 batch_size: int = 128,
                 features: Sequence[Sequence[Sequence[int]]] | None = None) -> list[list[int]]:
    """Tag ids per sentence, in the order given (``features``: (T, F) ids per sentence, for a
    model with feature columns)."""
    was_training = model.training
    model.eval()
    out: list[list[int]] = [[] for _ in words]
    dev = device_of(model)
    for idx in eval_batches([len(w) for w in words], batch_size):
        b = make_batch([words[i] for i in idx], None if chars is None else [chars[i] for i in idx],
                       None, None if features is None else [features[i] for i in idx])
        best = model.decode(to_device(b, dev)).cpu()
        for row, i in enumerate(idx):
            out[i] = best[row, : len(words[i])].tolist()
    model.train(was_training)
    return out


class TagTask(BatchedTask):
    """Tagged sentences for :class:`Tagger`, through the one training loop.

    Sentences are ``(word ids, char ids per word or None, tag ids[, feature ids (T, F) or
    None])``. Evaluation reports the
    per-word loss, token accuracy and, for BIO/IOBES tag sets, conlleval chunk F1.
    """

    items_name = "words"

    def __init__(self, train: Sequence[tuple], dev: Sequence[tuple], tag_names: Sequence[str],
                 batch_size: int = 32, seed: int = 0, word_dropout: float = 0.0,
                 unk_id: int = 0, eval_batch_size: int = 256):
        self.train, self.dev = list(train), list(dev)
        self.tag_names = list(tag_names)
        self.chunked = is_chunk_tagset(self.tag_names)
        self.batcher = BucketBatcher([len(s[0]) for s in self.train], batch_size, seed)
        self.word_dropout, self.unk_id = word_dropout, unk_id
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.eval_batch_size = eval_batch_size

    @staticmethod
    def batch(sents: Sequence[tuple]) -> TagBatch:
        chars = None if sents[0][1] is None else [s[1] for s in sents]
        feats = None if len(sents[0]) < 4 or sents[0][3] is None else [s[3] for s in sents]
        return make_batch([s[0] for s in sents], chars, [s[2] for s in sents], feats)

    def train_step(self, model: Tagger) -> StepOutput:
        batch = next(self.batcher)
        b = self.batch([self.train[i] for i in self.shard.split(batch)])
        b.words = word_dropout(b.words, self.word_dropout, self.unk_id, self.gen)
        b = to_device(b, device_of(model))
        loss = model.loss(b, model(b))  # the forward through the (parallel) model itself
        return StepOutput(loss, int(b.lengths.sum()), 1.0, self.batcher.epochs_done,
                          share=self.shard.weight(len(batch)))

    @torch.no_grad()
    def evaluate(self, model: Tagger, max_items: int | None = None) -> dict:
        sents = self.dev if max_items is None else self.dev[: max(1, max_items)]
        total_loss, n_words = 0.0, 0
        gold: list[list[int]] = []
        pred: list[list[int]] = []
        dev = device_of(model)
        for idx in eval_batches([len(s[0]) for s in sents], self.eval_batch_size):
            b = to_device(self.batch([sents[i] for i in idx]), dev)
            em = model(b)
            n = int(b.lengths.sum())
            total_loss += model.loss(b, em).item() * n
            n_words += n
            best = model.decode(b, em).cpu()
            for row, i in enumerate(idx):
                L = len(sents[i][0])
                gold.append(list(sents[i][2]))
                pred.append(best[row, :L].tolist())
        flat_g = [t for s in gold for t in s]
        flat_p = [t for s in pred for t in s]
        out = {"loss": total_loss / max(n_words, 1), "acc": accuracy(flat_g, flat_p)}
        if self.chunked:
            names = self.tag_names
            out["chunk_f1"] = chunk_scores([[names[t] for t in s] for s in gold],
                                           [[names[t] for t in s] for s in pred])["f1"]
        return out
