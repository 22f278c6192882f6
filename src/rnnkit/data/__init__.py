"""Data: text readers, the built-in corpus and vocabularies."""

from rnnkit.data.errors import DataError
from rnnkit.data.text import DEFAULT_CORPUS_DESCRIPTION, default_corpus, read_text, split_text
from rnnkit.data.vocab import BPEVocab, CharVocab, Vocab, WordVocab, build_vocab

__all__ = [
    "DEFAULT_CORPUS_DESCRIPTION",
    "BPEVocab",
    "CharVocab",
    "DataError",
    "Vocab",
    "WordVocab",
    "build_vocab",
    "default_corpus",
    "read_text",
    "split_text",
]
