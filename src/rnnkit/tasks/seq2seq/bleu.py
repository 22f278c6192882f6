"""BLEU (Papineni et al. 2002), the two ways translation papers report it.

* :func:`corpus_bleu` on token lists: the "tokenised BLEU" of older papers and tutorials (e.g.
  the bentrevett/pytorch-seq2seq Multi30k numbers: lowercased spaCy-style tokens, one
  reference). Corpus-level clipped n-gram precisions for n = 1..4, geometric mean, brevity
  penalty ``exp(1 - r/c)`` when the hypotheses are shorter than the references (``r`` the
  closest reference length per sentence, ties to the shorter). No smoothing, so a corpus with
  no matching 4-gram scores 0, as in ``nltk``/``evaluate``/``torchtext``.
* :func:`sacre_bleu` on detokenised text: the standard, comparable score (sacreBLEU's own
  13a tokenisation), with its signature.

>>> h = [["the", "cat", "sat", "on", "the", "mat"]]
>>> round(corpus_bleu(h, [[["the", "cat", "sat", "on", "the", "mat"]]])["bleu"], 2)
100.0
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from ...extras import need

__all__ = ["corpus_bleu", "detokenize", "sacre_bleu"]


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: Sequence[Sequence[str]],
                references: Sequence[Sequence[Sequence[str]]], max_n: int = 4) -> dict:
    """Corpus BLEU in 0..100 with its parts.

    Args:
        hypotheses: one token list per sentence.
        references: per sentence, a list of reference token lists (one or more).

    Returns ``{"bleu", "precisions" (per n, 0..100), "bp", "ratio", "hyp_len", "ref_len"}``.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference sets")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references):
        if not refs:
            raise ValueError("every hypothesis needs at least one reference")
        hyp_len += len(hyp)
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            max_ref: Counter = Counter()
            for r in refs:
                max_ref |= _ngrams(r, n)
            matches[n - 1] += sum(min(c, max_ref[g]) for g, c in counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    precisions = [m / t if t else 0.0 for m, t in zip(matches, totals)]
    if hyp_len >= ref_len:
        bp = 1.0
    else:
        bp = 0.0 if hyp_len == 0 else math.exp(1 - ref_len / hyp_len)
    bleu = 0.0
    if min(precisions) > 0:
        bleu = 100 * bp * math.exp(sum(math.log(p) for p in precisions) / max_n)
    return {"bleu": bleu, "precisions": [100 * p for p in precisions], "bp": bp,
            "ratio": hyp_len / max(ref_len, 1), "hyp_len": hyp_len, "ref_len": ref_len}


_NO_SPACE_BEFORE = re.compile(
    r" ([.,!?;:%)\]}\u201d]|'s|n't|'re|'ve|'ll|'d|'m)(?=[\s\"'\u201d)\]}.,!?;:]|$)")
_NO_SPACE_AFTER = re.compile(r"([(\[{$\u201c\u00bf\u00a1]) ")
_NUMBER = re.compile(r"(\d) ([.,]) (?=\d)")


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens into text with the usual spacing: no space before closing punctuation or
    after opening brackets; quotes alternate open/close.

    >>> detokenize(["a", "man", "(", "left", ")", "sits", ",", "smiling", "."])
    'a man (left) sits, smiling.'
    """
    out: list[str] = []
    open_quote = False
    for tok in tokens:
        if tok == '"':
            if open_quote:
                out[-1:] = [out[-1] + '"'] if out else ['"']
            else:
                out.append('"')
            open_quote = not open_quote
            continue
        if out and out[-1] == '"' and open_quote:
            out[-1] = '"' + tok
            continue
        out.append(tok)
    text = _NUMBER.sub(r"\1\2", " ".join(out))  # 3 . 5 -> 3.5, 1 , 000 -> 1,000
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)  # again: runs like `yes . "` need two passes
    return _NO_SPACE_AFTER.sub(r"\1", text)


def sacre_bleu(hypotheses: Sequence[str], references: Sequence[str],
               lowercase: bool = False) -> dict:
    """sacreBLEU of detokenised hypotheses against raw references (one each):
    ``{"bleu", "signature"}``. Needs the ``sacrebleu`` package (``pip install 'rnnkit[bleu]'``)."""
    sacrebleu = need("sacrebleu", "bleu", "sacreBLEU scores")
    metric = sacrebleu.metrics.BLEU(lowercase=lowercase)
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return {"bleu": score.score, "signature": str(metric.get_signature())}
