"""Estimators on Python data: fit / predict / predict_proba / sample, scikit-learn's parameter
protocol, save() writing a run folder that rnnkit.load and the CLI read back."""

import numpy as np
import pytest

import rnnkit
from rnnkit.cli.main import main
from rnnkit.estimators import NotFittedError

TEXTS = [f"the film was {'good and great' if i % 2 else 'bad and awful'}" for i in range(48)]
LABELS = ["pos" if i % 2 else "neg" for i in range(48)]


@pytest.fixture(scope="module")
def clf():
    return rnnkit.TextClassifier(hidden=8, embed=8, steps=40, lr=0.02, device="cpu").fit(
        TEXTS, LABELS)


def test_text_classifier_learns_and_follows_sklearn_conventions(clf):
    assert list(clf.classes_) == ["neg", "pos"]
    assert clf.score(TEXTS, LABELS) == 1.0
    p = clf.predict_proba(TEXTS[:3])
    assert p.shape == (3, 2) and np.allclose(p.sum(1), 1)
    assert list(clf.predict(["bad and awful", "good and great"])) == ["neg", "pos"]
    assert clf.get_params() == {"hidden": 8, "embed": 8, "steps": 40, "lr": 0.02,
                                "device": "cpu"}
    assert clf.set_params(hidden=12) is clf and clf.get_params()["hidden"] == 12
    with pytest.raises(ValueError, match="unknown parameter 'hiden'"):
        rnnkit.TextClassifier(hiden=3)
    with pytest.raises(NotFittedError, match="not fitted"):
        rnnkit.TextClassifier().predict(["x"])


def test_the_estimator_trains_what_the_command_trains(clf):
    cfg = rnnkit.load(clf.run_).settings
    assert cfg.model.encoder.hidden == 8 and cfg.model.ngram.weight == -1  # CLI's defaults
    assert cfg.train.steps == 40 and cfg.train.epochs is None  # the budget given replaces


def test_save_writes_a_run_folder_the_cli_reads(clf, tmp_path, capsys):
    path = clf.save(tmp_path / "model")
    loaded = rnnkit.load(path)
    assert loaded.task == "classify"
    np.testing.assert_allclose(loaded.proba(TEXTS[:4]).numpy(), clf.predict_proba(TEXTS[:4]))
    (tmp_path / "in.txt").write_text("bad and awful\ngood and great\n")
    capsys.readouterr()
    assert main(["predict", str(path), str(tmp_path / "in.txt")]) == 0
    assert [ln.split("\t")[0] for ln in capsys.readouterr().out.split()[::2]] == ["neg", "pos"]
    with pytest.raises(FileExistsError):
        clf.save(path)


def test_labels_keep_their_type():
    y = [i % 2 for i in range(48)]
    c = rnnkit.TextClassifier(hidden=8, embed=8, steps=40, lr=0.02).fit(TEXTS, y)
    assert list(c.classes_) == [0, 1] and type(c.predict(TEXTS[:2]).tolist()[0]) is int
    assert c.predict(TEXTS[:2]).tolist() == [0, 1]


def test_sklearn_clone():
    base = pytest.importorskip("sklearn.base")
    c = base.clone(rnnkit.TextClassifier(hidden=8, epochs=2))
    assert c.get_params() == {"hidden": 8, "epochs": 2}


def test_series_classifier_on_arrays_with_lengths():
    rng = np.random.default_rng(0)
    X = np.zeros((40, 30, 2), np.float32)
    lengths = rng.integers(10, 31, size=40)
    y = []
    for i in range(40):
        up = i % 2
        t = np.linspace(0, 1, lengths[i])
        X[i, : lengths[i], 0] = (t if up else -t) + 0.05 * rng.normal(size=lengths[i])
        y.append("up" if up else "down")
    m = rnnkit.SeriesClassifier(hidden=8, steps=60, lr=0.02, device="cpu").fit(X, y, lengths)
    assert list(m.classes_) == ["down", "up"] and m.score(X, y, lengths) >= 0.9
    assert m.predict_proba([x[:n] for x, n in zip(X, lengths)])[:3].shape == (3, 2)
    with pytest.raises(ValueError, match="lengths must be"):
        m.predict(X, lengths[:3])


def test_forecaster_and_language_model_and_tagger(tmp_path):
    f = rnnkit.Forecaster(hidden=8, steps=40, horizon=4, context=12, season=12).fit(
        10 + np.sin(np.arange(96) * 2 * np.pi / 12)
        + 0.1 * np.random.default_rng(0).normal(size=96))
    ahead = f.predict()
    assert ahead.shape == (4, 1) and np.isfinite(ahead).all()
    assert f.predict(6, history=np.ones(30)).shape == (6, 1)
    lm = rnnkit.LanguageModel(hidden=16, embed=8, steps=30, batch_size=4, chunk_len=16,
                              lr=0.01).fit("to be or not to be\n" * 40)
    assert len(lm.sample("to", 12, greedy=True)) == 12
    assert lm.sample("to", 12, greedy=True) == lm.sample("to", 12, greedy=True)
    assert lm.score("to be or not to be\n" * 4)["tokens"] == 75
    t = rnnkit.SequenceTagger(hidden=8, embed=8, char_embed=0, steps=40, lr=0.02).fit(
        [["the", "dog", "runs"], ["a", "cat", "sleeps"]] * 10,
        [["DET", "NOUN", "VERB"]] * 20)
    assert t.predict([["a", "dog", "sleeps"]]) == [["DET", "NOUN", "VERB"]]
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        t.fit([["a", "b"]], [["X"]])
