"""The numeric tasks' ONNX graphs against the loaded runs: the series classifier and the
per-frame tagger (bidirectional, padded batches), the forecaster (direct with a known
covariate, in the data's units through the manifest's normaliser; autoregressive quantiles)
and the long-lag models."""

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.data.series import SeriesData
from rnnkit.export import export_run

from .conftest import need_onnx, run, session, train_cli


def pad_series(arrays):
    T = max(len(a) for a in arrays)
    x = np.zeros((len(arrays), T, arrays[0].shape[1]), np.float32)
    for b, a in enumerate(arrays):
        x[b, : len(a)] = a
    return x, np.array([len(a) for a in arrays], np.int64)


def normalised(manifest, arrays):
    n = manifest["preprocessing"]["normalizer"]
    return [((a - np.array(n["mean"])) / np.array(n["std"])).astype(np.float32) for a in arrays]


def test_series_classifier_and_frame_tagger(tmp_path):
    need_onnx()
    rng = np.random.default_rng(0)
    lines = ["@problemName S", "@univariate true", "@equalLength false",
             "@classLabel true down up", "@data"]
    for i in range(16):
        sign = 1 if i % 2 else -1
        a = sign * np.linspace(0, 3, 8 + i % 5) + rng.normal(scale=0.2, size=8 + i % 5)
        lines.append(",".join(f"{v:.3f}" for v in a) + (":up" if sign > 0 else ":down"))
    (tmp_path / "s.ts").write_text("\n".join(lines) + "\n")
    folder = train_cli(tmp_path / "c", "series-classify", "--data", str(tmp_path / "s.ts"),
                       "--steps", "5", "--hidden", "6")
    m = rnnkit.load(folder)
    manifest = export_run(folder, tmp_path / "c-out")
    assert manifest["preprocessing"]["labels"] == ["down", "up"]
    sess = session(tmp_path / "c-out" / "forward.onnx")
    for lengths in ([6], [9, 4, 12]):
        arrays = [rng.normal(size=(n, 1)).astype(np.float32) for n in lengths]
        x, L = pad_series(normalised(manifest, arrays))
        got = run(sess, x=x, lengths=L)
        want = m.predict_proba(SeriesData(arrays, features=m.config["features"]))
        np.testing.assert_allclose(got["probs"], want.numpy(), atol=1e-5)

    rows = ["id,t,a,b,y"] + [f"s{s},{t},{v:.2f},{v / 2:.2f},{'hi' if v > 50 else 'lo'}"
                             for s in range(6) for t, v in enumerate(rng.uniform(0, 100, 9))]
    (tmp_path / "f.csv").write_text("\n".join(rows) + "\n")
    folder = train_cli(tmp_path / "t", "series-tag", "--data", str(tmp_path / "f.csv"),
                       "--series-col", "id", "--time-col", "t", "--label-col", "y", "--steps",
                       "4", "--hidden", "6")
    m = rnnkit.load(folder)
    manifest = export_run(folder, tmp_path / "t-out")
    arrays = [rng.uniform(0, 100, (n, 2)).astype(np.float32) for n in (7, 3)]
    x, L = pad_series(normalised(manifest, arrays))
    got = run(session(tmp_path / "t-out" / "forward.onnx"), x=x, lengths=L)
    labels = manifest["preprocessing"]["labels"]
    pred = [[labels[k] for k in got["logits"][b, :n].argmax(1)] for b, n in enumerate(L)]
    assert pred == m.predict(SeriesData(arrays, features=m.config["features"]))


def covariate_csv(path, n=60):
    t = np.arange(n)
    x = (t % 5 == 0).astype(float)
    y = 10 + np.sin(t / 3) + 3 * x
    path.write_text("t,x,y\n" + "".join(f"{i},{a:.0f},{b:.4f}\n" for i, a, b in zip(t, x, y)))
    return path, np.stack([y, x], 1).astype(np.float32)


def test_direct_forecaster_with_a_covariate_in_the_data_units(tmp_path):
    need_onnx()
    path, rows = covariate_csv(tmp_path / "c.csv")
    folder = rnnkit.fit("forecast", data={"data": str(path), "time_col": "t", "target": "y",
                                          "covariate_cols": "x", "holdout": 6},
                        model={"context": 10, "horizon": 4, "output": "gaussian",
                               "encoder": {"hidden": 6, "layers": 2}},
                        train={"steps": 5, "log_every": 1000}, out=tmp_path / "runs")
    m = rnnkit.load(folder)
    manifest = export_run(folder, tmp_path / "out")
    pre = manifest["preprocessing"]
    assert pre["targets"] == ["y"] and pre["covariates"] == ["x"] and pre["context"] == 10
    mean, std = np.array(pre["normalizer"]["mean"]), np.array(pre["normalizer"]["std"])
    history, future = rows[:30], rows[30:34, 1:]
    ctx = ((history[-10:] - mean) / std).astype(np.float32)[None]
    fut = ((future - mean[1:]) / std[1:]).astype(np.float32)[None]
    got = run(session(tmp_path / "out" / "forward.onnx"), context=ctx, future=fut)
    assert got["params"].shape == (1, 4, 1, 2)
    point = got["point"][0] * std[0] + mean[0]  # (4, 1) in the data's units
    np.testing.assert_allclose(point, m.predict(history, 4, future), atol=1e-4)


def test_autoregressive_quantile_forecaster(tmp_path):
    need_onnx()
    path, rows = covariate_csv(tmp_path / "c.csv")
    folder = rnnkit.fit("forecast", data={"data": str(path), "time_col": "t", "target": "y",
                                          "holdout": 6},
                        model={"context": 8, "horizon": 3, "strategy": "autoregressive",
                               "output": "quantile", "encoder": {"hidden": 6}},
                        train={"steps": 3, "log_every": 1000}, out=tmp_path / "runs")
    m = rnnkit.load(folder)
    manifest = export_run(folder, tmp_path / "out")
    assert manifest["preprocessing"]["levels"] == [0.1, 0.5, 0.9]
    sess = session(tmp_path / "out" / "forward.onnx")
    for B, T in ((1, 8), (3, 13)):
        ctx = torch.randn(B, T, 1)
        got = run(sess, context=ctx.numpy())
        with torch.no_grad():
            want = m.model(ctx)
        np.testing.assert_allclose(got["params"], want.numpy(), atol=1e-5)
        assert (np.diff(got["params"], axis=-1) > 0).all()  # ordered quantiles


@pytest.mark.parametrize("problem", ["adding", "copy"])
def test_longlag_models(tmp_path, problem):
    need_onnx()
    folder = rnnkit.fit("longlag", data={"task": problem, "T": 8, "batch_size": 4,
                                         "eval_size": 8, "encoder": {"hidden": 6,
                                                                     "cell": "rnn"}},
                        train={"steps": 2, "log_every": 1000}, out=tmp_path / "runs")
    m = rnnkit.load(folder)
    manifest = export_run(folder, tmp_path / "out")
    assert manifest["preprocessing"] == {"problem": problem, "T": 8}
    sess = session(tmp_path / "out" / "forward.onnx")
    for B, T in ((1, 8), (3, 21)):
        x = torch.rand(B, T, 2) if problem == "adding" else torch.randint(0, 10, (B, T))
        got = list(run(sess, **{sess.get_inputs()[0].name: x.numpy()}).values())[0]
        with torch.no_grad():
            np.testing.assert_allclose(got, m.model(x).numpy(), atol=1e-5)
