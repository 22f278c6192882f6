"""Digit-captioning data: composites, captions, held-out source images."""

import pytest
import torch

from rnnkit.data.digits import (
    WORDS,
    ascii_image,
    caption,
    compose,
    digit_splits,
    load_digit_images,
    parse_caption,
    parse_digits,
    split_sources,
)


@pytest.fixture(scope="module")
def digits():
    return load_digit_images()


def test_source_images(digits):
    images, labels = digits
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert 0.0 <= float(images.min()) and float(images.max()) == 1.0
    assert sorted(set(labels.tolist())) == list(range(10))


def test_captions_round_trip():
    assert caption([3, 1, 4]) == "three one four"
    assert caption([0]) == "zero" and len(WORDS) == 10
    assert parse_caption("nine eight") == [9, 8]
    assert parse_caption("nine cats") is None
    assert parse_digits("3,1,4", 4) == [3, 1, 4] == parse_digits("314", 4) == parse_digits(
        "3 1 4", 4)
    for bad in ("", "3,x", "12,3", "a"):
        with pytest.raises(ValueError, match="single digits"):
            parse_digits(bad, 4)
    with pytest.raises(ValueError, match="at most 4 digits"):
        parse_digits("1,2,3,4,5", 4)


def test_composites_have_the_right_shape_and_captions(digits):
    images, labels = digits
    pool = list(range(0, 1797, 3))
    c = compose(images, labels, pool, 50, seed=1, max_digits=4)
    assert c.images.shape == (50, 1, 8, 32) and len(c) == 50
    assert {len(d) for d in c.digits} == {1, 2, 3, 4}
    for n in range(50):
        k = len(c.digits[n])
        assert c.digits[n] == labels[c.sources[n]].tolist()
        assert parse_caption(c.captions()[n]) == c.digits[n]
        assert set(c.sources[n]) <= set(pool)
        for j, s in enumerate(c.sources[n]):  # each slot holds its source image
            assert torch.equal(c.images[n, 0, :, 8 * j:8 * j + 8], images[s])
        assert c.images[n, 0, :, 8 * k:].abs().sum() == 0  # the rest is blank
    again = compose(images, labels, pool, 50, seed=1, max_digits=4)
    assert torch.equal(again.images, c.images) and again.digits == c.digits  # seeded


def test_fixed_digits_come_from_the_pool(digits):
    images, labels = digits
    pool = list(range(100))
    c = compose(images, labels, pool, 0, seed=3, max_digits=3, fixed=[[3, 1, 4], [7]])
    assert c.images.shape == (2, 1, 8, 24) and c.digits == [[3, 1, 4], [7]]
    assert all(s < 100 for src in c.sources for s in src)
    with pytest.raises(ValueError, match="1 to 3 digits"):
        compose(images, labels, pool, 0, max_digits=3, fixed=[[1, 2, 3, 4]])


def test_held_out_sources_never_in_the_train_pool(digits):
    _, labels = digits
    train, dev, test = split_sources(labels, 0.2, 0.1, seed=5)
    assert not set(train) & set(test) and not set(train) & set(dev) and not set(dev) & set(test)
    assert len(train) + len(dev) + len(test) == 1797
    assert abs(len(test) - 0.2 * 1797) < 10
    for pool in (train, dev, test):  # stratified: every digit in every pool
        assert set(labels[pool].tolist()) == set(range(10))
    assert split_sources(labels, 0.2, 0.1, seed=5) == (train, dev, test)
    assert split_sources(labels, 0.2, 0.1, seed=6)[2] != test


def test_splits_use_only_their_own_pool():
    s = digit_splits(300, 40, 60, test_fraction=0.2, dev_fraction=0.1, max_digits=4, seed=2)
    assert (s.height, s.width) == (8, 32)
    for name, comps in (("train", s.train), ("dev", s.dev), ("test", s.test)):
        used = {i for src in comps.sources for i in src}
        assert used <= set(s.pools[name]), name
    test_used = {i for src in s.test.sources for i in src}
    assert not test_used & set(s.pools["train"])
    with pytest.raises(ValueError, match="composites must be >= 1"):
        digit_splits(0, 1, 1)


def test_ascii_image(digits):
    images, _ = digits
    art = ascii_image(images[0])
    assert len(art.split("\n")) == 8 and "@" in art
