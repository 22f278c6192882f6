"""The NB-weighted n-gram model (NBSVM / NB logistic regression) and its combination with the
recurrent classifier: log-count ratios by hand, separable and multi-class data, files, errors."""

import math

import pytest
import torch

from rnnkit.tasks.classify.branch import choose_ngram_weight, combine
from rnnkit.tasks.classify.model import ClassifierConfig
from rnnkit.tasks.classify.ngram import (
    MODEL_FILE,
    VOCAB_FILE,
    NgramConfig,
    NgramModel,
    build_ngram_vocab,
    indicator_matrix,
    log_count_ratios,
    ngrams,
)

# class 1: [1, 1, 2] (token 1 twice: counted once), [1]; class 0: [2, 3]
SEQS, LABELS = [[1, 1, 2], [1], [2, 3]], [1, 1, 0]


def test_ngrams_are_distinct_and_up_to_n():
    assert ngrams([1, 1, 2], 1) == {(1,), (2,)}
    assert ngrams([1, 1, 2], 2) == {(1,), (2,), (1, 1), (1, 2)}
    assert ngrams([4], 3) == {(4,)} and ngrams([], 2) == set()


def test_log_count_ratios_equal_a_hand_computation():
    vocab = build_ngram_vocab(SEQS, 1)
    assert vocab == {(1,): 0, (2,): 1, (3,): 2}
    X = indicator_matrix(SEQS, vocab, 1)
    assert X.to_dense().tolist() == [[1, 1, 0], [1, 0, 0], [0, 1, 1]]  # binarised
    r = log_count_ratios(X, torch.tensor(LABELS), 2, alpha=1.0)
    # class 1: p = 1 + [2, 1, 0] = [3, 2, 1], |p| = 6; others: q = 1 + [0, 1, 1] = [1, 2, 2], 5
    want = [math.log((3 / 6) / (1 / 5)), math.log((2 / 6) / (2 / 5)), math.log((1 / 6) / (2 / 5))]
    torch.testing.assert_close(r[:, 1], torch.tensor(want, dtype=torch.float64))
    torch.testing.assert_close(r[:, 0], -r[:, 1])  # two classes: mirror images
    # alpha 0.5 and bigrams: columns (1,) (2,) (1, 1) (1, 2) (3,) (2, 3)
    vocab2 = build_ngram_vocab(SEQS, 2)
    assert sorted(vocab2) == [(1,), (1, 1), (1, 2), (2,), (2, 3), (3,)]
    r2 = log_count_ratios(indicator_matrix(SEQS, vocab2, 2), torch.tensor(LABELS), 2, 0.5)
    # class 1 counts: (1,) 2, (2,) 1, (1,1) 1, (1,2) 1, (3,) 0, (2,3) 0 -> |p| = 5 + 6 * 0.5 = 8
    # class 0 counts: (2,) 1, (3,) 1, (2,3) 1 -> |q| = 3 + 3 = 6
    assert r2[vocab2[(1, 2)], 1].item() == pytest.approx(math.log((1.5 / 8) / (0.5 / 6)))
    assert r2[vocab2[(2, 3)], 1].item() == pytest.approx(math.log((0.5 / 8) / (1.5 / 6)))
    assert r2[vocab2[(2,)], 1].item() == pytest.approx(math.log((1.5 / 8) / (1.5 / 6)))


def _separable(n=40, seed=0):
    """Class 0 has token 10 or 11 somewhere, class 1 has 20 or 21; fillers 1..6."""
    g = torch.Generator().manual_seed(seed)
    seqs, labels = [], []
    for i in range(n):
        c = i % 2
        s = torch.randint(1, 7, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g)
        s = s.tolist()
        s.insert(len(s) // 2, (10, 20)[c] + i % 4 // 2)
        seqs.append(s)
        labels.append(c)
    return seqs, labels


@pytest.mark.parametrize("loss", ["logistic", "squared_hinge"])
def test_separates_a_separable_set(loss):
    seqs, labels = _separable()
    m = NgramModel.fit(seqs, labels, 2, NgramConfig(loss=loss, l2=1e-3))
    if loss == "squared_hinge":
        assert m.calibrate(seqs, labels) > 0
    p = m.proba(seqs)
    assert p.argmax(1).tolist() == labels
    assert p[torch.arange(len(labels)), labels].min() > 0.7
    torch.testing.assert_close(p.sum(1), torch.ones(len(seqs)))
    # unseen combinations of known words; unknown words have no features: the biases alone
    q = m.proba([[3, 21, 5], [6, 10], [99], [98, 97]])
    assert q[0, 1] > 0.7 and q[1, 0] > 0.7 and torch.equal(q[2], q[3])
    torch.testing.assert_close(m.scores([[99]])[0], m.bias)
    # two classes: the one-vs-rest models mirror each other, so p(1) = sigmoid(s_1)
    s = m.scores(seqs)
    torch.testing.assert_close(s[:, 0], -s[:, 1], atol=1e-6, rtol=0)
    torch.testing.assert_close(p[:, 1].double(), torch.sigmoid(m.scale * s[:, 1]), atol=1e-6,
                               rtol=0)


def test_multiclass_one_vs_rest():
    g = torch.Generator().manual_seed(1)
    seqs, labels = [], []
    for i in range(60):
        c = i % 3
        s = torch.randint(1, 6, (4,), generator=g).tolist()
        s[int(torch.randint(0, 4, (1,), generator=g))] = 10 + c
        seqs.append(s)
        labels.append(c)
    m = NgramModel.fit(seqs, labels, 3, NgramConfig(n=2, l2=1e-3))
    assert m.r.shape == (len(m.vocab), 3) and m.weight.shape == (len(m.vocab), 3)
    p = m.proba(seqs)
    assert p.argmax(1).tolist() == labels
    torch.testing.assert_close(p.sum(1), torch.ones(60))
    assert m.proba([[1, 11, 2], [12], [10, 3]]).argmax(1).tolist() == [1, 2, 0]
    # class 2's ratio: token 12 only in class 2, token 10 never
    assert m.r[m.vocab[(12,)], 2] > 2 and m.r[m.vocab[(10,)], 2] < -1


def test_fit_is_deterministic_and_beta_interpolates():
    seqs, labels = _separable()
    a = NgramModel.fit(seqs, labels, 2)
    b = NgramModel.fit(seqs, labels, 2)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    c = NgramModel.fit(seqs, labels, 2, NgramConfig(beta=0.25))
    mean_abs = a.weight.abs().mean(0, keepdim=True)
    torch.testing.assert_close(c.weight, 0.75 * mean_abs + 0.25 * a.weight)


def test_save_load_round_trip(tmp_path):
    seqs, labels = _separable()
    m = NgramModel.fit(seqs, labels, 2, NgramConfig(n=3, loss="squared_hinge", beta=0.5))
    m.calibrate(seqs, labels)
    m.mix_weight = 0.35
    m.save(tmp_path)
    assert (tmp_path / MODEL_FILE).is_file() and (tmp_path / VOCAB_FILE).is_file()
    k = NgramModel.load(tmp_path)
    assert k.vocab == m.vocab and k.cfg == m.cfg and k.scale == m.scale
    assert k.mix_weight == 0.35 and k.num_classes == 2
    test = seqs + [[10, 20, 99], [5, 5, 5, 5]]
    assert torch.equal(k.proba(test), m.proba(test))


def test_feature_cap_keeps_the_most_frequent_ngrams():
    seqs = [[1, 2], [1, 3], [1, 2], [4]]  # texts with: (1) 3, (2) 2, (1, 2) 2, the rest 1
    full = build_ngram_vocab(seqs, 2)
    assert len(full) == 6  # (1) (2) (1,2) (3) (1,3) (4)
    top3 = build_ngram_vocab(seqs, 2, max_features=3)
    assert set(top3) == {(1,), (2,), (1, 2)}
    assert list(top3.values()) == [0, 1, 2]  # columns stay dense, in first-appearance order
    assert set(build_ngram_vocab(seqs, 2, min_count=2)) == {(1,), (2,), (1, 2)}
    # the automatic cap bounds n-grams x classes, so memory stays bounded with many classes
    from rnnkit.tasks.classify.ngram import MAX_PARAMS
    assert NgramConfig().feature_limit(2) == MAX_PARAMS // 2
    assert NgramConfig().feature_limit(20) == MAX_PARAMS // 20
    assert NgramConfig(max_features=5).feature_limit(20) == 5
    m = NgramModel.fit(seqs, [1, 0, 1, 0], 2, NgramConfig(max_features=3))
    assert len(m.vocab) == 3 and m.weight.shape == (3, 2)


def test_a_half_written_model_does_not_count_as_saved(tmp_path):
    """The vocabulary is written first and the tensors last (through a temporary name), so a
    crash between the two leaves no model that exists() accepts."""
    m = NgramModel.fit(SEQS, LABELS, 2)
    m.save(tmp_path)
    assert NgramModel.exists(tmp_path)
    assert not list(tmp_path.glob(".*tmp"))
    (tmp_path / MODEL_FILE).unlink()
    assert (tmp_path / VOCAB_FILE).is_file() and not NgramModel.exists(tmp_path)


def test_weight_choice_with_nan_probabilities_is_a_clear_error():
    gold = [0, 1]
    ok = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    nan = torch.full((2, 2), float("nan"))
    assert choose_ngram_weight(ok, nan, gold) == 0.0  # only the recurrent model is finite
    for p_rnn in (nan, nan.clone()):
        with pytest.raises(ValueError, match="no combination has a finite"):
            choose_ngram_weight(p_rnn, ok, gold)


def test_probabilities_stay_finite_for_very_negative_scores():
    from rnnkit.tasks.classify.ngram import _proba

    p = _proba(torch.tensor([[-1000.0, -1001.0, -1010.0]], dtype=torch.float64), 1.0)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.sum(1), torch.ones(1, dtype=torch.float64))
    assert p[0, 0] > p[0, 1] > p[0, 2]
    q = _proba(torch.tensor([[0.3, -0.2]], dtype=torch.float64), 2.0)
    s = torch.sigmoid(torch.tensor([0.6, -0.4], dtype=torch.float64))
    torch.testing.assert_close(q[0], s / s.sum())


def test_combination_and_weight_choice():
    gold = [0, 1, 1, 0]
    good = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.8, 0.2]])
    bad = good.flip(1)
    torch.testing.assert_close(combine(good, bad, 0.25), 0.75 * good + 0.25 * bad)
    assert combine(good, bad, 0.0) is good
    assert choose_ngram_weight(good, bad, gold) == 0.0
    assert choose_ngram_weight(bad, good, gold) == 1.0
    assert choose_ngram_weight(good, good, gold) == 0.0  # ties: the first
    # each sure and right on two texts, unsure and wrong on the other two: symmetric in w
    a = torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.4, 0.6]])
    b = torch.tensor([[0.4, 0.6], [0.6, 0.4], [0.1, 0.9], [0.9, 0.1]])
    assert choose_ngram_weight(a, b, gold) == 0.5
    assert combine(a, b, 0.5).argmax(1).tolist() == gold


@pytest.mark.parametrize("kw,msg", [
    ({"n": 0}, "ngram n must be >= 1"),
    ({"alpha": 0.0}, "ngram alpha must be > 0"),
    ({"l2": -1.0}, "ngram l2 must be >= 0"),
    ({"loss": "hinge"}, "ngram loss must be one of"),
    ({"beta": 1.5}, "ngram beta must be in [0, 1]"),
    ({"min_count": 0}, "ngram min_count and max_iter must be >= 1"),
    ({"max_features": -1}, "ngram max_features must be >= 0"),
])
def test_bad_settings_raise(kw, msg):
    with pytest.raises(ValueError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        NgramModel.fit(SEQS, LABELS, 2, NgramConfig(**kw))
    with pytest.raises(ValueError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        ClassifierConfig(vocab_size=5, num_classes=2, ngram=NgramConfig(**kw)).validate()


@pytest.mark.parametrize("w", [1.5, -0.5, float("nan")])
def test_bad_weight_raises(w):
    with pytest.raises(ValueError, match=r"ngram_weight must be in \[0, 1\]"):
        ClassifierConfig(vocab_size=5, num_classes=2, ngram=NgramConfig(weight=w)).validate()


def test_bad_labels_raise():
    with pytest.raises(ValueError, match="as many labels as texts"):
        NgramModel.fit(SEQS, [0, 1], 2)
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        NgramModel.fit(SEQS, [0, 1, 2], 2)
