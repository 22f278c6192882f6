"""Vocabularies: characters, words and byte-level BPE behind one interface.

Every vocabulary maps text to ids and back (``encode``/``decode``), has a size (``len``), shows
one id for plots and logs (``token``), and saves to and loads from JSON (``to_dict``/``save``,
``Vocab.from_dict``/``Vocab.load``, which dispatch on the ``"kind"`` key).

One module per idea: :mod:`.base` (the interface and shared helpers), :mod:`.char`,
:mod:`.word` (with its spacing rules) and :mod:`.bpe`; :func:`build_vocab` picks one by name.

>>> v = CharVocab.build("hello")
>>> v.encode("hole"), v.decode(v.encode("hello")), len(v)
([2, 4, 3, 1], 'hello', 5)
"""

from __future__ import annotations

from typing import Any

# FORMAT_VERSION, UNK, GLUE and _token_list still import from here, as before the split.
from rnnkit.data.vocab.base import FORMAT_VERSION, UNK, Vocab, _token_list  # noqa: F401
from rnnkit.data.vocab.bpe import BPEVocab
from rnnkit.data.vocab.char import CharVocab
from rnnkit.data.vocab.word import GLUE, WordVocab  # noqa: F401

__all__ = ["BPEVocab", "CharVocab", "Vocab", "WordVocab", "build_vocab"]


_BUILDERS: dict[str, type[CharVocab] | type[WordVocab] | type[BPEVocab]] = {
    "char": CharVocab,
    "word": WordVocab,
    "bpe": BPEVocab,
}


def build_vocab(kind: str, text: str, **kw: Any) -> Vocab:
    """Build a vocabulary of ``kind`` (``"char"``, ``"word"`` or ``"bpe"``) from ``text``.

    Keyword arguments go to that class's ``build`` (``min_freq``, ``max_size``, ``vocab_size``).

    >>> build_vocab("word", "a b a b c", min_freq=2).to_dict()
    {'kind': 'word', 'version': 1, 'tokens': ['<unk>', '<glue>', 'a', 'b']}
    """
    cls = _BUILDERS.get(kind)
    if cls is None:
        raise ValueError(f"unknown vocabulary kind {kind!r}; choose one of {sorted(_BUILDERS)}")
    return cls.build(text, **kw)
