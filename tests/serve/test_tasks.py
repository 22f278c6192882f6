"""The endpoints of the other tasks, each over a tiny run trained here and served by a real
server: tag and frame-tag predictions, series classification, forecasts, translations and
conditioned samples, each equal to the loaded run's own answer, and the endpoints a run does
not answer."""

import random

import numpy as np
import pytest

import rnnkit
from rnnkit.cli.main import main
from rnnkit.data.series import SeriesData
from rnnkit.tasks.common.sampling import SampleConfig
from tests.helpers import write_conllu

from .conftest import need_serve, start

httpx = need_serve()

FAST = ["--log-every", "1000", "--threads", "1"]


def _train(root, *argv) -> object:
    out = root / "runs"
    assert main(["train", *argv, "--out", str(out), *FAST]) == 0
    (run,) = out.iterdir()
    return run


@pytest.fixture
def served():
    """``served(run)``: a started server and the run loaded; stopped after the test."""
    servers = []

    def serve(run):
        servers.append(start(run))
        return servers[-1].url, rnnkit.load(run)

    yield serve
    for s in servers:
        s.stop()


def test_tag_predict(tmp_path, served, client):
    lex = {"DET": ["the", "a"], "NOUN": ["dog", "cat"], "VERB": ["saw", "likes"]}
    write_conllu(tmp_path / "t.conllu", 30, lex)
    run = _train(tmp_path, "tag", "--data", str(tmp_path / "t.conllu"), "--steps", "15",
                 "--hidden", "8", "--embed", "8")
    url, loaded = served(run)
    sentences = [["the", "dog", "saw", "a", "cat"], ["a", "cat"]]
    got = client.post(url + "/v1/predict", json={"sentences": sentences}).json()
    assert [p["tags"] for p in got["predictions"]] == loaded.tag(sentences)
    texts = client.post(url + "/v1/predict", json={"texts": ["the dog saw a cat"]}).json()
    assert texts["predictions"][0] == got["predictions"][0]
    both = client.post(url + "/v1/predict", json={"texts": ["a"], "sentences": [["a"]]})
    assert both.status_code == 422
    assert client.post(url + "/v1/sample", json={}).status_code == 404


def test_series_classify_and_frame_tag_predict(tmp_path, served, client):
    rng = np.random.default_rng(0)
    lines = ["@problemName S", "@univariate true", "@equalLength false",
             "@classLabel true down up", "@data"]
    for i in range(24):
        sign = 1 if i % 2 else -1
        a = sign * np.linspace(0, 3, 8) + rng.normal(scale=0.2, size=8)
        lines.append(",".join(f"{v:.3f}" for v in a) + (":up" if sign > 0 else ":down"))
    (tmp_path / "s.ts").write_text("\n".join(lines) + "\n")
    run = _train(tmp_path / "c", "series-classify", "--data", str(tmp_path / "s.ts"),
                 "--steps", "15", "--hidden", "8")
    url, loaded = served(run)
    series = [list(np.linspace(0, 3, 8)), [[-v] for v in np.linspace(0, 3, 6)]]
    got = client.post(url + "/v1/predict", json={"series": series}).json()
    arrays = [np.asarray(s, np.float32).reshape(len(s), 1) for s in series]
    probs = loaded.predict_proba(SeriesData(arrays, features=loaded.config["features"]))
    for p, row in zip(got["predictions"], probs.tolist()):
        assert {c["label"]: c["probability"] for c in p["top"]} == pytest.approx(
            dict(zip(loaded.labels.itos, row)), abs=1e-6)
    wrong = client.post(url + "/v1/predict", json={"series": [[[1.0, 2.0]]]})
    assert wrong.status_code == 400 and "trained on 1" in wrong.json()["detail"]

    rows = ["id,t,a,y"] + [f"s{s},{t},{v:.2f},{'hi' if v > 50 else 'lo'}"
                           for s in range(8) for t, v in enumerate(rng.uniform(0, 100, 10))]
    (tmp_path / "f.csv").write_text("\n".join(rows) + "\n")
    run = _train(tmp_path / "t", "tag", "--data", str(tmp_path / "f.csv"), "--series-col",
                 "id", "--time-col", "t", "--label-col", "y", "--steps", "10", "--hidden", "8")
    url, loaded = served(run)
    frames = [[[10.0], [90.0], [40.0]]]
    got = client.post(url + "/v1/predict", json={"series": frames}).json()
    want = loaded.predict(SeriesData([np.asarray(frames[0], np.float32)],
                                     features=loaded.config["features"]))
    assert [p["labels"] for p in got["predictions"]] == want


def test_forecast(tmp_path, served, client):
    t = np.arange(80)
    y = 100 + t + 10 * np.sin(2 * np.pi * t / 12)
    (tmp_path / "y.csv").write_text("Date,Sales\n" + "".join(
        f"2000-{i},{v:.3f}\n" for i, v in zip(t, y)))
    run = _train(tmp_path, "forecast", "--data", str(tmp_path / "y.csv"), "--time-col", "Date",
                 "--target", "Sales", "--horizon", "4", "--context", "12", "--season", "12",
                 "--hidden", "8", "--steps", "10")
    url, loaded = served(run)
    history = [[float(v)] for v in y[-20:]]
    got = client.post(url + "/v1/forecast", json={"history": [history], "steps": 6}).json()
    want = loaded.predict(np.asarray(history, np.float32), 6)
    assert np.allclose(got["forecasts"][0]["point"], want, atol=1e-4)
    assert got["targets"] == ["Sales"]
    short = client.post(url + "/v1/forecast", json={"history": [history[:3]]})
    assert short.status_code == 400 and "context" in short.json()["detail"]
    huge = client.post(url + "/v1/forecast", json={"history": [history], "steps": 10**6})
    assert huge.status_code == 422 and "max_length" in huge.json()["detail"]


def test_translate_and_generate(tmp_path, served, client):
    words, r = "a b c d".split(), random.Random(0)
    src = [" ".join(r.choice(words) for _ in range(3)) for _ in range(60)]
    (tmp_path / "s.txt").write_text("\n".join(src) + "\n")
    (tmp_path / "t.txt").write_text("\n".join(s.upper() for s in src) + "\n")
    run = _train(tmp_path / "m", "seq2seq", "--src", str(tmp_path / "s.txt"), "--tgt",
                 str(tmp_path / "t.txt"), "--min-freq", "1", "--embed", "8", "--hidden", "8",
                 "--steps", "10", "--batch-size", "8")
    url, loaded = served(run)
    texts = ["a b c", "d a"]
    got = client.post(url + "/v1/translate", json={"texts": texts, "beam": 2}).json()
    assert got["translations"] == loaded.translate(texts, 2)
    kw = SampleConfig(seed=3).decode_kwargs() | {"greedy": False}
    sampled = client.post(url + "/v1/translate",
                          json={"texts": texts, "beam": 1, "sample": True, "seed": 3}).json()
    assert sampled["translations"] == loaded.translate(texts, 1, 1, **kw)
    assert client.post(url + "/v1/translate",
                       json={"texts": texts, "sample": True}).status_code == 422

    names = tmp_path / "names"
    names.mkdir()
    (names / "Alpha.txt").write_text("\n".join(["Abab", "Abba", "Abaab", "Abbb", "Aab"] * 4))
    (names / "Omega.txt").write_text("\n".join(["Zyzy", "Zyyz", "Zzy", "Zyzzy", "Zyz"]) + "\n")
    run = _train(tmp_path / "g", "generate", "--data", str(names), "--steps", "10",
                 "--hidden", "8", "--embed", "8", "--condition-dim", "8", "--batch-size", "4")
    url, loaded = served(run)
    body = {"condition": "Alpha", "num": 3, "seed": 5}
    got = client.post(url + "/v1/sample", json=body).json()["samples"]
    want = loaded.sample(["Alpha"], 3, SampleConfig(seed=5))
    assert got[0]["condition"] == "Alpha" and got[0]["texts"] == want[0].texts
    stream = client.post(url + "/v1/sample", json=body | {"stream": True})
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: sample" in stream.text and "event: done" in stream.text
    unknown = client.post(url + "/v1/sample", json={"condition": "Nope"})
    assert unknown.status_code == 400 and "known labels" in unknown.json()["detail"]
    assert client.post(url + "/v1/sample", json={"prompt": "x"}).status_code == 400
    assert client.get(url + "/").status_code == 200
