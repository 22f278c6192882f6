"""The word representation shared by the sentence classifier and the tagger.

    words (B, T) -> word embedding (B, T, E)
                    [++ char features (B, T, 2*Hc): a char BiLSTM/GRU per word, its final
                     states in both directions]

:class:`WordFeatures` owns the word embedding and, with char features (``char_embed > 0``),
the char embedding and the bidirectional char encoder. :func:`word_batch` pads a batch and
gives each distinct spelling of the batch to the char encoder once, as one batch of U words
(padding words left out) with the words' own lengths; each of the N valid words then takes its
row. A word never seen in training (``<unk>``) still gets features from its characters.

Word dropout (:func:`word_dropout`) replaces word ids by ``<unk>`` and leaves the characters
alone: a dropped word looks like an unseen word at prediction time (the ``<unk>`` embedding
plus its real spelling), which is what trains the char features to stand in for the word.

In a run folder the characters are ``chars.json`` (:func:`build_char_vocab`,
:func:`load_char_vocab`, :data:`CHARS_FILE`); :class:`WordEncoders` turns words into model
inputs as in training.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ...data import CharVocab, DataError, Vocab
from ...data.batching import pad
from ...data.tokens import TokenVocab
from ...data.vectors import load_vectors
from .encoder import CELLS, EncoderConfig, build_encoder
from .pooling import last_outputs, step_mask

CHARS_FILE = "chars.json"  # the char vocabulary in a run folder (with char features)


@dataclass
class WordBatch:
    words: Tensor  # (B, T) word ids
    lengths: Tensor  # (B,)
    chars: Tensor | None = None  # (U, W) char ids of the U distinct words of the batch
    char_lengths: Tensor | None = None  # (U,)
    word_index: Tensor | None = None  # (N,) row of `chars` of each valid word, row-major


def word_batch(words: Sequence[Sequence[int]],
               chars: Sequence[Sequence[Sequence[int]]] | None = None) -> WordBatch:
    """Pad a batch of word ids; each distinct spelling in ``chars`` (char ids per word per
    sequence) is given to the char encoder once."""
    x, lengths = pad(words)
    if chars is None:
        return WordBatch(x, lengths)
    rows: dict[tuple, int] = {}
    index = torch.tensor([rows.setdefault(tuple(w), len(rows)) for sent in chars for w in sent],
                         dtype=torch.long)
    c, cl = pad(list(rows))
    return WordBatch(x, lengths, c, cl, index)


def as_word_batch(words: Tensor | WordBatch, lengths: Tensor | None = None) -> WordBatch:
    """A :class:`WordBatch` as given, or one of padded ids (B, T) and lengths (B,)."""
    if isinstance(words, WordBatch):
        return words
    if lengths is None:
        raise TypeError("give the lengths (B,) with the word ids (B, T), or a WordBatch")
    return WordBatch(words, lengths)


def word_dropout(x: Tensor, p: float, unk_id: int, gen: torch.Generator) -> Tensor:
    """Replace each token by ``unk_id`` with probability ``p`` (training only). Applied to
    :attr:`WordBatch.words` only: a dropped word keeps its characters (module docstring)."""
    if p <= 0:
        return x
    drop = torch.rand(x.shape, generator=gen) < p
    return x.masked_fill(drop, unk_id)


def validate_char_config(cfg) -> None:
    """The char-feature fields of a head's config (``char_vocab_size``, ``char_embed``,
    ``char_cell``)."""
    if cfg.char_embed < 0:
        raise ValueError(f"char_embed must be >= 0, got {cfg.char_embed}")
    if cfg.char_embed and cfg.char_vocab_size < 1:
        raise ValueError("char features need char_vocab_size >= 1")
    if cfg.char_cell not in CELLS:
        raise ValueError(f"char_cell must be one of {CELLS}, got {cfg.char_cell!r}")


class WordFeatures(nn.Module):
    """``forward(batch: WordBatch) -> (B, T, size)``: each word's embedding, with char
    features concatenated after it; zero char features at padding."""

    def __init__(self, vocab_size: int, embed: int, embed_init: float = 0.05,
                 char_vocab_size: int = 0, char_embed: int = 0, char_hidden: int = 50,
                 char_cell: str = "lstm", backend: str = "auto"):
        super().__init__()
        self.char_embed = char_embed
        self.embedding = nn.Embedding(vocab_size, embed)
        self.size = embed  # E (+ 2*Hc)
        if char_embed:
            self.char_embedding = nn.Embedding(char_vocab_size, char_embed)
            self.char_encoder = build_encoder(
                EncoderConfig(cell=char_cell, hidden=char_hidden, bidirectional=True,
                              backend=backend), char_embed)
            self.size += 2 * char_hidden
        for emb in (self.embedding, getattr(self, "char_embedding", None)):
            # Small initial vectors: Adam moves each row by about lr per update, so rows that
            # start at N(0, 1) barely move from their random start (measured on rt-polarity).
            if emb is not None and embed_init > 0:
                nn.init.uniform_(emb.weight, -embed_init, embed_init)

    @classmethod
    def from_config(cls, cfg) -> WordFeatures:
        """From a head's config (:class:`~rnnkit.tasks.classify.ClassifierConfig`,
        :class:`~rnnkit.tasks.tag.TaggerConfig`): the char encoder uses the word encoder's
        backend."""
        return cls(cfg.vocab_size, cfg.embed, cfg.embed_init, cfg.char_vocab_size,
                   cfg.char_embed, cfg.char_hidden, cfg.char_cell, cfg.encoder.backend)

    def extra_repr(self) -> str:
        return f"size={self.size}"

    def char_features(self, batch: WordBatch) -> Tensor:
        """(B, T, 2*Hc): each valid word's char-encoder final states, zero at padding."""
        if batch.chars is None:
            raise ValueError("this model reads char features: build its batches with the "
                             "words' char ids (word_batch(words, chars))")
        out, _ = self.char_encoder(self.char_embedding(batch.chars),
                                   lengths=batch.char_lengths)  # (U, W, 2*Hc)
        vec = last_outputs(out, batch.char_lengths.to(out.device), 2)  # (U, 2*Hc)
        vec = vec[batch.word_index.to(vec.device)]  # (N, 2*Hc)
        B, T = batch.words.shape
        feats = vec.new_zeros(B, T, vec.shape[1])
        feats[step_mask(batch.lengths.to(vec.device), T)] = vec
        return feats

    def forward(self, batch: WordBatch) -> Tensor:
        x = self.embedding(batch.words)  # (B, T, E)
        if self.char_embed:
            x = torch.cat([x, self.char_features(batch)], dim=2)  # (B, T, E + 2*Hc)
        return x


_LEGACY = ("embedding.", "char_embedding.", "char_encoder.")


def legacy_word_keys(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """A load_state_dict pre-hook for a head whose :class:`WordFeatures` is ``words``: reads
    checkpoints written before it, when the head held ``embedding``, ``char_embedding`` and
    ``char_encoder`` itself."""
    for key in list(state_dict):
        rest = key[len(prefix):]
        if key.startswith(prefix) and rest.startswith(_LEGACY):
            new = f"{prefix}words.{rest}"
            if new not in state_dict:
                state_dict[new] = state_dict.pop(key)


def spell(word: str, max_chars: int = 0) -> str:
    """The characters a word is read by: all, or the first and last ``max_chars``/2."""
    k = max_chars
    return word if not k or len(word) <= k else word[: (k + 1) // 2] + word[len(word) - k // 2 :]


@dataclass
class WordEncoders:
    """Words to model inputs, as in training: word ids (looked up lowercased with
    ``lowercase``) and, with a char vocabulary, the char ids of each word (case kept)."""

    words: TokenVocab
    chars: CharVocab | None
    lowercase: bool
    max_chars: int = 0

    def _spell(self, w: str) -> str:
        return spell(w, self.max_chars)

    def encode(self, words: Sequence[str]) -> tuple[list[int], list[list[int]] | None]:
        ids = self.words.encode_tokens([w.lower() for w in words] if self.lowercase else words)
        chars = None if self.chars is None else [self.chars.encode(self._spell(w)) or [0]
                                                 for w in words]
        return ids, chars


def build_char_vocab(words: Iterable[str]) -> CharVocab:
    """The characters of the training words."""
    return CharVocab.build("".join(words))


def load_char_vocab(run: str | Path, char_embed: int) -> CharVocab | None:
    """A run's ``chars.json`` when its model has char features (``char_embed > 0``)."""
    if not char_embed:
        return None
    path = Path(run) / CHARS_FILE
    chars = Vocab.load(path)
    if not isinstance(chars, CharVocab):
        raise DataError(f"expected a char vocabulary, found {chars.kind!r}", path=path)
    return chars


def vectors_init(vectors: str | None, stoi: dict[str, int]):
    """A word model's ``Prepared.init_model``: copy the pretrained ``vectors`` file's rows into
    ``model.words.embedding`` (``sizes["vectors_found"]``: how many words it had; None
    without a file)."""
    def init_model(model: nn.Module) -> dict:
        found = (load_vectors(vectors, stoi, model.words.embedding.weight)
                 if vectors else None)
        return {"vectors_found": found}

    return init_model
