"""``rnnkit train series-classify``, ``rnnkit train forecast`` and ``rnnkit forecast`` end to end
on tiny data written by the tests."""

import json

import numpy as np
import pytest

from rnnkit.cli.main import main


def _ts(path, n, seed):
    rng = np.random.default_rng(seed)
    lines = ["@problemName Slopes", "@univariate false", "@dimensions 2", "@equalLength false",
             "@classLabel true down up", "@data"]
    for i in range(n):
        T = int(rng.integers(6, 15))
        sign = 1 if i % 2 else -1
        a = sign * np.linspace(0, 3, T) + rng.normal(scale=0.2, size=T)
        b = rng.normal(size=T)
        lines.append(",".join(f"{v:.3f}" for v in a) + ":" + ",".join(f"{v:.3f}" for v in b)
                     + (":up" if sign > 0 else ":down"))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_series_classify_end_to_end(tmp_path, capsys):
    train, dev = _ts(tmp_path / "S_TRAIN.ts", 48, 0), _ts(tmp_path / "S_TEST.ts", 20, 1)
    rc = main(["train", "series-classify", "--data", str(train), "--dev", str(dev),
               "--test", str(dev),
               "--hidden", "16", "--steps", "60", "--lr", "1e-2", "--batch-size", "16",
               "--out", str(tmp_path / "runs")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "accuracy" in out
    (run,) = (tmp_path / "runs").glob("series-classify-*")
    report = json.loads((run / "dev_report.json").read_text())
    assert report["accuracy"] >= 0.9 and report["labels"] == ["down", "up"]
    norm = json.loads((run / "normalizer.json").read_text())
    assert norm["mode"] == "feature" and len(norm["mean"]) == 2
    assert (run / "checkpoints" / "best.safetensors").is_file()
    test = json.loads((run / "test_report.json").read_text())
    assert test["accuracy"] == report["accuracy"] and test["n"] == 20  # same file, same model
    # resuming a finished run re-reads its data and config and only re-evaluates
    assert main(["train", "series-classify", "--resume", str(run)]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 60


def test_series_classify_bad_file_names_line(tmp_path, capsys):
    bad = tmp_path / "bad.ts"
    bad.write_text("@classLabel true a b\n@data\n1,2:a\n1,2:3,4:b\n")
    rc = main(["train", "series-classify", "--data", str(bad), "--steps", "1",
               "--out", str(tmp_path / "runs")])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: expected 1 dimensions" in err
    assert not (tmp_path / "runs").exists()  # nothing written for bad data


def test_forecast_end_to_end(tmp_path, capsys):
    t = np.arange(120)
    y = 100 + t + 10 * np.sin(2 * np.pi * t / 12)
    data = tmp_path / "sales.csv"
    data.write_text("Date,Sales\n" + "".join(f"2000-{i},{v:.3f}\n" for i, v in zip(t, y)))
    rc = main(["train", "forecast", "--data", str(data), "--time-col", "Date", "--target",
               "Sales", "--horizon", "6", "--context", "12", "--season", "12", "--hidden", "16",
               "--steps", "40", "--out", str(tmp_path / "runs")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "seasonal_naive" in out and "MASE" in out
    (run,) = (tmp_path / "runs").glob("forecast-*")
    report = json.loads((run / "test_report.json").read_text())
    assert report["holdout"] == 6 and len(report["forecast"][0]) == 6
    assert (run / "forecast.png").is_file()

    plot = tmp_path / "f.png"
    assert main(["forecast", str(run), "--horizon", "9", "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "series,step,Sales" and len(lines) == 10
    assert lines[-1].startswith("0,+9,")
    values = [float(x.split(",")[2]) for x in lines[1:]]
    assert all(np.isfinite(values)) and 100 < min(values) and plot.is_file()

    # rnnkit predict: the same forecasts; rnnkit eval: the hold-out scores of a file
    assert main(["predict", str(run), str(data), "--horizon", "9"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == lines
    assert main(["eval", str(run), "--data", str(data), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["model"] == pytest.approx(report["model"]) and scores["holdout"] == 6
    assert set(scores["model"]) >= {"mae", "rmse", "smape", "mase"}
    assert main(["eval", str(run), "--data", str(data)]) == 0
    assert "seasonal_naive" in capsys.readouterr().out
    assert (run / "eval-sales.csv-forecast.png").is_file()

    other = tmp_path / "other.csv"
    other.write_text("Date,Units\n1,2\n")
    assert main(["forecast", str(run), "--data", str(other)]) == 2
    assert "no value column named 'Sales'" in capsys.readouterr().err
    assert main(["eval", str(run), "--data", str(other)]) == 2
    assert "no value column named 'Sales'" in capsys.readouterr().err
    short = tmp_path / "short.csv"
    short.write_text("Date,Sales\n" + "".join(f"{i},{i}\n" for i in range(15)))
    assert main(["eval", str(run), "--data", str(short)]) == 2
    assert "no series is longer than the forecaster's context (12 steps)" in (
        capsys.readouterr().err)


def _promo_csv(path, n=100, future=8, seed=0):
    """sales = 3 * promo + noise; the last ``future`` rows have the promotion but no sales."""
    rng = np.random.default_rng(seed)
    promo = rng.integers(0, 2, size=n + future)
    sales = 10 + 3 * promo[:n] + rng.normal(scale=0.2, size=n)
    rows = [f"{i},{p},{s:.3f}\n" for i, (p, s) in enumerate(zip(promo, sales))]
    rows += [f"{n + i},{p},\n" for i, p in enumerate(promo[n:])]
    path.write_text("day,promo,sales\n" + "".join(rows))
    return path, promo


def test_forecast_autoregressive_quantile_covariates_end_to_end(tmp_path, capsys):
    data, promo = _promo_csv(tmp_path / "shop.csv")
    rc = main(["train", "forecast", "--data", str(data), "--time-col", "day", "--target",
               "sales", "--covariate-cols", "promo", "--strategy", "autoregressive",
               "--output", "quantile", "--quantiles", "0.1,0.9", "--samples", "50",
               "--horizon", "6", "--context", "12", "--hidden", "16", "--steps", "60",
               "--lr", "1e-2", "--out", str(tmp_path / "runs")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "interval q0.1-q0.9" in out and "nominal 80%" in out
    (run,) = (tmp_path / "runs").glob("forecast-*")
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["covariates"] == ["promo"] and cfg["model"]["strategy"] == "autoregressive"
    assert len(json.loads((run / "normalizer.json").read_text())["mean"]) == 2  # sales, promo
    report = json.loads((run / "test_report.json").read_text())
    assert 0 <= report["model"]["coverage"] <= 1 and len(report["lower"][0]) == 6

    # the training file's 8 trailing rows (empty sales) hold the future promotions
    plot = tmp_path / "f.png"
    assert main(["forecast", str(run), "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "series,step,sales_q0.1,sales_q0.5,sales_q0.9" and len(lines) == 7
    q = np.array([[float(v) for v in x.split(",")[2:]] for x in lines[1:]])
    assert (np.diff(q, axis=1) >= 0).all() and plot.stat().st_size > 1000
    # the promotion is read: promoted days are forecast higher
    up, down = q[promo[100:106] == 1, 1], q[promo[100:106] == 0, 1]
    assert up.min() > down.max()
    assert main(["forecast", str(run), "--horizon", "8"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 9
    assert main(["predict", str(run), str(data), "--horizon", "8"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 9

    # more steps than future rows: the error names the file and the series' last line
    assert main(["forecast", str(run), "--horizon", "9"]) == 2
    err = capsys.readouterr().err
    assert f"{data}:109: series '0': the forecaster reads the known future covariates " \
           "(promo) of every step it forecasts; 9 steps need 9 rows" in err and "found 8" in err
    hist = tmp_path / "hist.csv"
    hist.write_text("\n".join(data.read_text().splitlines()[:101]) + "\n")  # no future rows
    assert main(["forecast", str(run), "--data", str(hist)]) == 2
    assert f"{hist}:101: series '0'" in capsys.readouterr().err
    gap = tmp_path / "gap.csv"
    gap.write_text(hist.read_text() + "100,1,\n101,,\n")
    assert main(["forecast", str(run), "--data", str(gap)]) == 2
    assert f"{gap}:103: no value of covariate 'promo' in a future row" in (
        capsys.readouterr().err)
    nocov = tmp_path / "nocov.csv"
    nocov.write_text("day,sales\n1,2\n")
    assert main(["forecast", str(run), "--data", str(nocov)]) == 2
    assert f"{nocov}:1: no covariate column named 'promo'" in capsys.readouterr().err
    assert main(["eval", str(run), "--data", str(data), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["model"] == pytest.approx(report["model"])  # seeded sample paths


def test_forecast_gaussian_direct_columns(tmp_path, capsys):
    data, _ = _promo_csv(tmp_path / "shop.csv", future=0)
    assert main(["train", "forecast", "--data", str(data), "--time-col", "day", "--target",
                 "sales", "--output", "gaussian", "--horizon", "4", "--context", "8",
                 "--hidden", "8", "--steps", "30", "--out", str(tmp_path / "runs")]) == 0
    assert "interval mean+-1.96std" in capsys.readouterr().out
    (run,) = (tmp_path / "runs").glob("forecast-*")
    assert main(["forecast", str(run), "--horizon", "6"]) == 0  # beyond H: rolled out
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "series,step,sales_mean,sales_std" and len(lines) == 7
    assert all(float(x.split(",")[3]) > 0 for x in lines[1:])


def test_forecast_bad_options(tmp_path, capsys):
    data, _ = _promo_csv(tmp_path / "shop.csv", future=0)
    base = ["train", "forecast", "--data", str(data), "--time-col", "day", "--target", "sales",
            "--steps", "1", "--out", str(tmp_path / "runs")]
    assert main([*base, "--output", "quantile", "--quantiles", "0.1,1.5"]) == 2
    assert "quantiles must lie strictly between 0 and 1, got 1.5" in capsys.readouterr().err
    assert main([*base, "--covariate-cols", "price"]) == 2
    assert f"{data}:1: no covariate column named 'price'" in capsys.readouterr().err
    assert main([*base, "--strategy", "recursive"]) == 2
    assert "strategy must be one of ('direct', 'autoregressive')" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing written for bad options
