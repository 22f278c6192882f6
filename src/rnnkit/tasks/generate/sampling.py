"""Generating from a trained generator: conditions from their command-line form, samples or
beam search per condition, and their text form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from ...data.digits import ascii_image, caption, compose, parse_digits
from .data import DIGITS
from .model import beam_ids, generate_ids


class GeneratorRun(Protocol):
    """What sampling reads of a trained generator (:class:`.task.LoadedGenerator`)."""

    model: Any
    labels: Any  # the condition labels (texts), or None
    data: Any  # the data settings
    kind: str  # "texts" | "digits"
    end_id: int
    max_len: int

    def digits(self) -> Any: ...

    def decode(self, ids: Sequence[int]) -> str: ...


@dataclass
class Condition:
    """One condition to generate from: ``tensor`` is a batch of one."""

    name: str  # the label, or a description of the image
    tensor: torch.Tensor
    image: torch.Tensor | None = None  # digits: the (1, H, W) image
    truth: str | None = None  # digits: the true caption


def resolve_condition(gen: GeneratorRun, spec: str, seed: int = 0) -> Condition:
    """A condition from its command-line form.

    * texts: a label seen in training (exact, else a unique case-insensitive match);
    * digits: ``3,1,4`` (or ``314``) composes those digits from held-out test-pool images
      (which image of each digit is seeded); ``test:17`` is test composite 17.
    """
    spec = spec.strip()
    if gen.kind != DIGITS:
        labels = gen.labels
        assert labels is not None
        if spec not in labels.stoi:
            folded = [x for x in labels.itos if x.lower() == spec.lower()]
            if len(folded) != 1:
                raise ValueError(f"unknown condition {spec!r}; known labels: "
                                 f"{', '.join(labels.itos)}")
            spec = folded[0]
        return Condition(spec, torch.tensor([labels.stoi[spec]]))
    d = gen.digits()
    if spec.lower().startswith("test:"):
        try:
            i = int(spec[5:])
        except ValueError:
            raise ValueError(f"test:N needs an index, got {spec!r}") from None
        if not 0 <= i < len(d.test):
            raise ValueError(f"test composite {i} does not exist: there are {len(d.test)} "
                             f"(0..{len(d.test) - 1})")
        return Condition(f"test:{i}", d.test.images[i:i + 1], d.test.images[i],
                         caption(d.test.digits[i]))
    digits = parse_digits(spec, gen.data.max_digits)
    c = compose(d.images, d.labels, d.pools["test"], 1, seed=seed,
                max_digits=gen.data.max_digits, fixed=[digits])
    return Condition(",".join(map(str, digits)), c.images, c.images[0], caption(digits))


def default_conditions(gen: GeneratorRun, count: int = 5) -> list[str]:
    """Every label (texts), or the first ``count`` test composites (digits)."""
    if gen.kind == DIGITS:
        return [f"test:{i}" for i in range(min(count, len(gen.digits().test)))]
    assert gen.labels is not None
    return list(gen.labels.itos)


@dataclass
class Generated:
    condition: Condition
    texts: list[str]  # samples, or the n best of a beam search (best first)
    scores: list[float] | None = None  # beam search: the hypotheses' scores


def sample(gen: GeneratorRun, conditions: Sequence[str] | None = None, num: int = 1, *,
           max_len: int | None = None, greedy: bool | None = None, temperature: float = 0.8,
           top_k: int | None = None, top_p: float | None = None, beam: int = 0,
           seed: int | None = None) -> list[Generated]:
    """Generate for each condition (default: :func:`default_conditions`).

    ``num`` samples per condition (one when greedy; with ``beam`` > 0 a beam search of that
    width and its ``min(num, beam)`` best hypotheses).
    ``greedy=None`` samples for text labels and decodes greedily for images. ``max_len``:
    tokens before the end token (default: the longest training target + 10 for texts, its
    length for captions). A ``seed`` makes sampling reproducible.
    """
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if beam < 0:
        raise ValueError(f"beam must be >= 0, got {beam}")
    if greedy is None:
        greedy = gen.kind == DIGITS
    if max_len is None:
        max_len = gen.max_len + (0 if gen.kind == DIGITS else 10)
    specs = list(conditions) if conditions else default_conditions(gen)
    rng = torch.Generator().manual_seed(seed) if seed is not None else None
    out = []
    for spec in specs:
        cond = resolve_condition(gen, spec, seed or 0)
        if beam > 0:
            (row,) = beam_ids(gen.model, cond.tensor, gen.end_id, gen.end_id, max_len,
                              beam_size=beam, n_best=min(num, beam))
            out.append(Generated(cond, [gen.decode(ids) for ids, _ in row],
                                 [s for _, s in row]))
            continue
        reps = 1 if greedy else num
        batch = cond.tensor.expand(reps, *cond.tensor.shape[1:])
        ids = generate_ids(gen.model, batch, gen.end_id, gen.end_id, max_len, greedy=greedy,
                           temperature=temperature, top_k=top_k, top_p=top_p, generator=rng)
        out.append(Generated(cond, [gen.decode(x) for x in ids]))
    return out


def format_generated(items: Sequence[Generated], show_images: bool = True) -> str:
    """Samples as text: ``label<TAB>sample`` lines, or for images the picture (ASCII), the
    caption and the truth."""
    lines: list[str] = []
    for g in items:
        c = g.condition
        if c.image is None:
            for i, t in enumerate(g.texts):
                score = f"\t{g.scores[i]:.4f}" if g.scores else ""
                lines.append(f"{c.name}\t{t}{score}")
            continue
        if show_images:
            lines.append(ascii_image(c.image))
        for i, t in enumerate(g.texts):
            score = f" (score {g.scores[i]:.4f})" if g.scores else ""
            lines.append(f"{c.name}\tcaption: {t}{score}")
        lines.append(f"{c.name}\ttruth:   {c.truth}")
    return "\n".join(lines) + ("\n" if lines else "")
