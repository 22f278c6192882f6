"""Simple features of a text, one value per character, to find interpretable hidden units by
correlation (as Karpathy, Johnson & Fei-Fei 2016 found quote, bracket and line-length cells).

>>> f = text_features('a "b" (c)\\nD')
>>> f["inside quotes"][:6], f["inside brackets"][6:9], f["after newline"][-1]
([0.0, 0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 1.0)
"""

from __future__ import annotations

import string

import torch
from torch import Tensor

OPEN, CLOSE = "([{", ")]}"


def _is_apostrophe(text: str, i: int) -> bool:
    """A ' between two letters (don't, it's) is an apostrophe, not a quote."""
    return 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha()


def text_features(text: str) -> dict[str, list[float]]:
    """Per character: inside quotes ("..." or '...', the quote marks excluded), inside
    brackets (any of ([{ open, the brackets excluded), bracket depth, position in line,
    characters to the end of the line, after a newline, whitespace, uppercase, digit,
    punctuation, position in word."""
    names = ["inside quotes", "inside brackets", "bracket depth", "position in line",
             "to end of line", "after newline", "whitespace", "uppercase", "digit",
             "punctuation", "position in word"]
    out: dict[str, list[float]] = {n: [] for n in names}
    in_double = in_single = False
    depth = col = word = 0
    line_ends = _line_ends(text)
    for i, ch in enumerate(text):
        is_quote = ch == '"' or (ch == "'" and not _is_apostrophe(text, i))
        if ch == '"':
            in_double = not in_double
        elif is_quote:
            in_single = not in_single
        if ch in CLOSE:
            depth = max(0, depth - 1)
        out["inside quotes"].append(float((in_double or in_single) and not is_quote))
        out["inside brackets"].append(float(depth > 0))
        out["bracket depth"].append(float(depth))
        out["position in line"].append(float(col))
        out["to end of line"].append(float(line_ends[i] - i))
        out["after newline"].append(float(i > 0 and text[i - 1] == "\n"))
        out["whitespace"].append(float(ch.isspace()))
        out["uppercase"].append(float(ch.isupper()))
        out["digit"].append(float(ch.isdigit()))
        out["punctuation"].append(float(ch in string.punctuation))
        word = word + 1 if ch.isalnum() else 0
        out["position in word"].append(float(word))
        if ch in OPEN:
            depth += 1
        col = 0 if ch == "\n" else col + 1
        if ch == "\n":  # an unclosed quote does not run past the end of its line
            in_double = in_single = False
    return out


def _line_ends(text: str) -> list[int]:
    ends, nxt = [0] * len(text), len(text)
    for i in range(len(text) - 1, -1, -1):
        if text[i] == "\n":
            nxt = i
        ends[i] = nxt
    return ends


def correlations(acts: Tensor, features: Tensor) -> Tensor:
    """Pearson correlation of every unit (``acts`` (N, H)) with every feature (``features``
    (N, F)): (F, H); 0 where either is constant."""
    a = acts.double() - acts.double().mean(0)
    f = features.double() - features.double().mean(0)
    num = f.t() @ a  # (F, H)
    den = torch.outer(f.norm(dim=0), a.norm(dim=0))
    return torch.where(den > 1e-12, num / den.clamp_min(1e-12), torch.zeros_like(num)).float()
