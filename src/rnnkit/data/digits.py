"""Captioning data with no download: rows of handwritten digits and their captions in words.

The source images are scikit-learn's bundled digits (``sklearn.datasets.load_digits``: 1,797
grey 8 x 8 images, values 0..16, scaled here to [0, 1]). A *composite* puts 1 to ``max_digits``
of them side by side, left aligned, on a blank canvas ``8 x (8 * max_digits)``; its caption is
the digits as words::

    [3][1][4][ ]  ->  "three one four"

The source images are first split into disjoint train / dev / test *pools* (seeded, stratified
by digit), and each split's composites only use images of its own pool, so a test composite is
made of handwriting the model never saw in training (not merely a new arrangement).

>>> caption([3, 1, 4])
'three one four'
>>> parse_caption("three one four")
[3, 1, 4]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..extras import need

__all__ = ["DIGIT_SIZE", "WORDS", "Composites", "DigitSplits", "ascii_image", "caption",
           "compose", "digit_splits", "load_digit_images", "parse_caption", "parse_digits",
           "split_sources"]

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_SIZE = 8  # the source images are 8 x 8


def caption(digits: Sequence[int]) -> str:
    """The caption of a row of digits: their words, space separated."""
    return " ".join(WORDS[int(d)] for d in digits)


def parse_caption(text: str) -> list[int] | None:
    """The digits a caption names, or None when a word is not a digit word."""
    index = {w: i for i, w in enumerate(WORDS)}
    out = [index.get(w) for w in text.split()]
    return None if any(d is None for d in out) else out  # type: ignore[misc]


def parse_digits(spec: str, max_digits: int) -> list[int]:
    """``"3,1,4"``, ``"3 1 4"`` or ``"314"`` -> ``[3, 1, 4]``; a ValueError explains bad input."""
    s = spec.strip()
    parts = s.replace(",", " ").split() if ("," in s or " " in s) else list(s)
    if not parts or not all(len(p) == 1 and p in "0123456789" for p in parts):
        raise ValueError(f"digits must be single digits 0-9 separated by commas (e.g. 3,1,4), "
                         f"got {spec!r}")
    if len(parts) > max_digits:
        raise ValueError(f"at most {max_digits} digits fit a composite of this model, got "
                         f"{len(parts)} in {spec!r}")
    return [int(p) for p in parts]


def load_digit_images() -> tuple[Tensor, Tensor]:
    """scikit-learn's bundled digits: images ``(1797, 8, 8)`` float in [0, 1], labels long."""
    d = need("sklearn.datasets", "vision", "the digit-captioning data").load_digits()
    images = torch.as_tensor(d.images, dtype=torch.float32) / 16.0
    return images, torch.as_tensor(d.target, dtype=torch.long)


def split_sources(labels: Tensor, test_fraction: float = 0.2, dev_fraction: float = 0.1,
                  seed: int = 0) -> tuple[list[int], list[int], list[int]]:
    """Disjoint (train, dev, test) pools of source-image indices, stratified by digit: of each
    digit's images, a seeded ``test_fraction`` goes to test, ``dev_fraction`` to dev (0: no dev
    pool), the rest to train. Each pool is sorted."""
    if not 0 < test_fraction < 1 or not 0 <= dev_fraction < 1 or test_fraction + dev_fraction >= 1:
        raise ValueError(f"need 0 < test_fraction < 1, 0 <= dev_fraction < 1 and their sum < 1; "
                         f"got {test_fraction} and {dev_fraction}")
    gen = torch.Generator().manual_seed(seed)
    train: list[int] = []
    dev: list[int] = []
    test: list[int] = []
    for d in sorted(set(labels.tolist())):
        idx = (labels == d).nonzero().view(-1)
        idx = idx[torch.randperm(len(idx), generator=gen)].tolist()
        n_test = max(1, round(len(idx) * test_fraction))
        n_dev = round(len(idx) * dev_fraction)
        if n_test + n_dev >= len(idx):
            raise ValueError(f"digit {d} has only {len(idx)} images: too few to split")
        test += idx[:n_test]
        dev += idx[n_test:n_test + n_dev]
        train += idx[n_test + n_dev:]
    return sorted(train), sorted(dev), sorted(test)


@dataclass
class Composites:
    """``images (N, 1, 8, 8 * max_digits)``, the ``digits`` of each (left to right) and the
    source-image index of each digit (``sources``)."""

    images: Tensor
    digits: list[list[int]]
    sources: list[list[int]]

    def __len__(self) -> int:
        return len(self.digits)

    def captions(self) -> list[str]:
        return [caption(d) for d in self.digits]


def compose(images: Tensor, labels: Tensor, pool: Sequence[int], count: int, seed: int = 0,
            max_digits: int = 4, min_digits: int = 1,
            fixed: Sequence[Sequence[int]] | None = None) -> Composites:
    """``count`` composites of 1..``max_digits`` images drawn (uniformly, with replacement)
    from ``pool``; the number of digits is uniform in [min_digits, max_digits].

    ``fixed`` gives the digits of each composite instead (``count`` is then its length): each
    digit's image is drawn from the pool's images of that digit.
    """
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
    pool_t = torch.as_tensor(list(pool), dtype=torch.long)
    if pool_t.numel() == 0:
        raise ValueError("the pool of source images is empty")
    gen = torch.Generator().manual_seed(seed)
    if fixed is None:
        ks = torch.randint(min_digits, max_digits + 1, (count,), generator=gen)
        src = pool_t[torch.randint(len(pool_t), (count, max_digits), generator=gen)]
    else:
        count = len(fixed)
        ks = torch.tensor([len(f) for f in fixed], dtype=torch.long)
        src = torch.zeros(count, max_digits, dtype=torch.long)
        by_digit = {d: pool_t[labels[pool_t] == d] for d in range(10)}
        for n, want in enumerate(fixed):
            if not 1 <= len(want) <= max_digits:
                raise ValueError(f"a composite holds 1 to {max_digits} digits, got {list(want)}")
            for j, d in enumerate(want):
                choices = by_digit.get(int(d))
                if choices is None or len(choices) == 0:
                    raise ValueError(f"no image of digit {d} in the pool")
                src[n, j] = choices[torch.randint(len(choices), (1,), generator=gen)]
    used = torch.arange(max_digits).unsqueeze(0) < ks.unsqueeze(1)  # (N, max_digits)
    h, w = images.shape[1:]
    tiles = images[src] * used[:, :, None, None].to(images.dtype)  # (N, max_digits, h, w)
    canvas = tiles.permute(0, 2, 1, 3).reshape(count, 1, h, max_digits * w)
    sources = [row[:k] for row, k in zip(src.tolist(), ks.tolist())]
    digits = [labels[row].tolist() for row in sources]
    return Composites(canvas, digits, sources)


@dataclass
class DigitSplits:
    """Train / dev / test composites and the source pools they were drawn from."""

    train: Composites
    dev: Composites
    test: Composites
    pools: dict[str, list[int]]
    images: Tensor  # all source images (1797, 8, 8)
    labels: Tensor

    @property
    def height(self) -> int:
        return int(self.train.images.shape[2])

    @property
    def width(self) -> int:
        return int(self.train.images.shape[3])


def digit_splits(train_count: int = 20000, dev_count: int = 1000, test_count: int = 2000,
                 test_fraction: float = 0.2, dev_fraction: float = 0.1, max_digits: int = 4,
                 seed: int = 0) -> DigitSplits:
    """The captioning data, reproducible from the arguments: source pools from
    :func:`split_sources`, then each split's composites from its own pool. Without a dev pool
    (``dev_fraction=0``) the dev composites are drawn from the train pool."""
    for name, n in (("train", train_count), ("dev", dev_count), ("test", test_count)):
        if n < 1:
            raise ValueError(f"{name} composites must be >= 1, got {n}")
    if not 1 <= max_digits <= 16:
        raise ValueError(f"max_digits must be in 1..16, got {max_digits}")
    images, labels = load_digit_images()
    train_pool, dev_pool, test_pool = split_sources(labels, test_fraction, dev_fraction, seed)
    kw = dict(max_digits=max_digits)
    return DigitSplits(
        train=compose(images, labels, train_pool, train_count, seed=seed + 1, **kw),
        dev=compose(images, labels, dev_pool or train_pool, dev_count, seed=seed + 2, **kw),
        test=compose(images, labels, test_pool, test_count, seed=seed + 3, **kw),
        pools={"train": train_pool, "dev": dev_pool, "test": test_pool},
        images=images, labels=labels)


def ascii_image(image: Tensor) -> str:
    """A grey image ``(H, W)`` or ``(1, H, W)`` in [0, 1] as text, two characters a pixel."""
    ramp = " .:-=+*#%@"
    img = image.reshape(image.shape[-2], image.shape[-1]).clamp(0, 1)
    rows = []
    for row in img.tolist():
        rows.append("".join(ramp[min(int(v * len(ramp)), len(ramp) - 1)] * 2 for v in row))
    return "\n".join(r.rstrip() for r in rows)

