"""Numeric series through ``rnnkit train classify|tag``, ``rnnkit predict`` and ``rnnkit eval``:
per-frame labelling of CSV frames, the hand-over of ``.ts`` files to the series classifier,
forecaster evaluation, and a closed output pipe. Tiny data written by the tests."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.cli.train_cmd import route

TINY = ["--hidden", "12", "--proj", "8", "--lr", "2e-2", "--warmup-steps", "5",
        "--batch-size", "8", "--log-every", "100"]


def frames_csv(path, n_series, seed, lo=0.0, hi=100.0, steps=(10, 20)):
    """Rows ``id,t,who,a,b,y``: label ``hi`` when feature a > 50 (a in [lo, hi]); ``who`` is
    text (left out of the features), b is noise."""
    rng = np.random.default_rng(seed)
    rows = ["id,t,who,a,b,y"]
    for s in range(n_series):
        for t in range(int(rng.integers(*steps))):
            a = rng.uniform(lo, hi)
            rows.append(f"s{s},{t},p{s},{a:.3f},{rng.normal():.3f},{'hi' if a > 50 else 'lo'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _run(root, kind):
    (run,) = root.glob(f"{kind}-*")
    return run


@pytest.fixture(scope="module")
def tag_run(tmp_path_factory):
    """A per-frame tagger trained through `rnnkit train tag` on a CSV of frames."""
    tmp = tmp_path_factory.mktemp("tag")
    train = frames_csv(tmp / "frames.csv", 16, 0)
    dev = frames_csv(tmp / "dev.csv", 6, 1)
    rc = main(["train", "tag", "--data", str(train), "--dev", str(dev), "--series-col", "id",
               "--time-col", "t", "--label-col", "y", "--steps", "60", *TINY,
               "--out", str(tmp / "runs")])
    assert rc == 0
    return _run(tmp / "runs", "series-tag"), train, dev


def test_train_tag_on_frames_writes_a_series_tag_run(tag_run):
    run, train, _ = tag_run
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "series-tag" and cfg["labels"] == ["hi", "lo"]
    assert cfg["features"] == ["a", "b"]  # `who` holds no numbers; id, t and y are named
    assert cfg["data"]["series_col"] == "id" and cfg["model"]["encoder"]["bidirectional"]
    for f in ["labels.json", "normalizer.json", "dev_report.json", "confusion.png",
              "checkpoints/best.safetensors", "summary.json"]:
        assert (run / f).is_file(), f
    assert json.loads((run / "dev_report.json").read_text())["accuracy"] > 0.9
    # normalisation statistics: the training file only (the --dev file is not in them)
    a = np.loadtxt(train, delimiter=",", skiprows=1, usecols=(3, 4))
    norm = json.loads((run / "normalizer.json").read_text())
    np.testing.assert_allclose(norm["mean"], a.mean(0), rtol=1e-4)


def test_predict_and_eval_round_trip(tag_run, capsys, tmp_path):
    run, _, dev = tag_run
    assert main(["predict", str(run), str(dev)]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    gold = [r.split(",") for r in dev.read_text().strip().split("\n")[1:]]
    assert lines[0] == "id,t,y" and len(lines) == len(gold) + 1
    pred = [r.split(",") for r in lines[1:]]
    assert [p[:2] for p in pred] == [g[:2] for g in gold]  # one row per frame, file order
    acc = np.mean([p[2] == g[5] for p, g in zip(pred, gold)])

    assert main(["eval", str(run), "--data", str(dev), "--json",
                 "--plot", str(tmp_path / "cm.png")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == len(gold) and report["accuracy"] == pytest.approx(acc)
    assert report["accuracy"] > 0.9 and (tmp_path / "cm.png").is_file()
    assert main(["eval", str(run), "--data", str(dev)]) == 0
    assert "macro-F1" in capsys.readouterr().out


def test_predict_applies_the_training_normalisation(tag_run, capsys, tmp_path):
    """Every frame of this file has a > 70: all `hi`. Statistics fitted on this file itself
    would centre it and call about half of them `lo`. No label column is needed."""
    run = tag_run[0]
    rows = frames_csv(tmp_path / "high.csv", 3, 2, lo=70, hi=100).read_text().split("\n")
    high = tmp_path / "high-unlabelled.csv"
    high.write_text("\n".join(r.rsplit(",", 1)[0] for r in rows if r) + "\n")
    assert main(["predict", str(run), str(high)]) == 0
    labels = [r.split(",")[2] for r in capsys.readouterr().out.strip().split("\n")[1:]]
    assert labels and set(labels) == {"hi"}


@pytest.mark.parametrize("edit, line, problem", [
    (lambda rows: [r.replace(",y", ",z") for r in rows], 1,
     "no per-step label column named 'y'"),
    (lambda rows: rows[:3] + [rows[3].replace("s0,2,p0,", "s0,2,p0,abc")] + rows[4:], 4,
     "not a number in column 'a'"),
    (lambda rows: rows[:5] + [",".join(rows[5].split(",")[:4] + [""] + rows[5].split(",")[5:])]
     + rows[6:], 6, "missing value at step 4, feature 1"),
    (lambda rows: rows[:2] + [rows[2].rsplit(",", 1)[0] + ","] + rows[3:], 3,
     "empty label in column 'y'"),
])
def test_bad_frames_name_file_and_line(tmp_path, capsys, edit, line, problem):
    good = frames_csv(tmp_path / "f.csv", 4, 3).read_text().strip().split("\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(edit(good)) + "\n")
    rc = main(["train", "tag", "--data", str(bad), "--series-col", "id", "--time-col", "t",
               "--label-col", "y", "--steps", "1", "--out", str(tmp_path / "runs")])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{bad}:{line}: {problem}" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # nothing written for bad data


def test_train_tag_other_errors(tmp_path, capsys, tag_run):
    f = frames_csv(tmp_path / "f.csv", 4, 3)
    out = ["--steps", "1", "--out", str(tmp_path / "runs")]
    # one series (no --series-col) cannot be split into training and validation series
    assert main(["train", "tag", "--data", str(f), "--label-col", "y", *out]) == 2
    assert "1 series: validation holds out whole series" in capsys.readouterr().err
    # a label in the validation file that training never saw: its line
    dev = tmp_path / "dev.csv"
    dev.write_text("id,t,who,a,b,y\nq,0,x,1,2,lo\nq,1,x,1,2,mid\n")
    assert main(["train", "tag", "--data", str(f), "--dev", str(dev), "--series-col", "id",
                 "--label-col", "y", *out]) == 2
    assert f"{dev}:3: label 'mid' was not seen in training" in capsys.readouterr().err
    # predict needs a file; its columns are the training's
    assert main(["predict", str(tag_run[0])]) == 2
    assert "reads its series from a file" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    other.write_text("id,t,a\ns,0,1\n")
    assert main(["predict", str(tag_run[0]), str(other)]) == 2
    assert f"{other}:1: no value column named 'b'" in capsys.readouterr().err


def test_frames_from_npz_and_parquet(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 100, size=(12, 9, 1)).astype(np.float32)
    y = np.where(X[:, :, 0] > 50, "hi", "lo")
    np.savez(tmp_path / "f.npz", X=X, y=y)
    assert main(["train", "tag", "--data", str(tmp_path / "f.npz"), "--steps", "5", *TINY,
                 "--out", str(tmp_path / "runs")]) == 0
    run = _run(tmp_path / "runs", "series-tag")
    capsys.readouterr()
    assert main(["predict", str(run), str(tmp_path / "f.npz")]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert lines[0] == "series,step,label" and len(lines) == 1 + 12 * 9
    assert lines[1].startswith("0,0,") and lines[-1].startswith("11,8,")
    # `train tag --resume` of a finished series-tag run re-reads its config and re-evaluates
    assert main(["train", "tag", "--resume", str(run)]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 5

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": np.repeat(np.arange(12), 9), "x": X.reshape(-1),
                             "y": y.reshape(-1)}), tmp_path / "f.parquet")
    assert main(["train", "tag", "--data", str(tmp_path / "f.parquet"), "--series-col", "id",
                 "--label-col", "y", "--steps", "5", *TINY, "--out", str(tmp_path / "pq")]) == 0
    run = _run(tmp_path / "pq", "series-tag")
    assert json.loads((run / "config.json").read_text())["features"] == ["x"]
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(tmp_path / "f.parquet"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 12 * 9


def test_route_argv(tag_run, tmp_path):
    run = str(tag_run[0])
    series = {
        ("train", "tag", "--data", "f.csv"),
        ("train", "tag", "--data=f.parquet"),
        ("train", "tag", "--data", "f.txt", "--series-col", "id"),
        ("train", "tag", "--data", "f.txt", "--format", "csv"),
        ("-v", "train", "tag", "--data", "x", "--label-col", "y"),
        ("train", "tag", "--resume", run),
        ("train", "classify", "--data", "X_TRAIN.ts", "--dev", "X_TEST.ts"),
        ("train", "classify", "--data", "x.npz"),
        ("train", "classify", "--data", "x.csv", "--id-col", "id"),
        ("train", "classify", "--data", "x.csv", "--format", "wide"),
    }
    text = {
        ("train", "tag", "--data", "train.conllu"),
        ("train", "tag", "--data", "train.tsv", "--column", "3"),
        ("train", "tag", "--data", "f.csv", "--format", "columns"),
        ("train", "tag", "--resume", str(tmp_path)),  # not a run folder: the tagger reports it
        ("train", "classify", "--data", "reviews.csv", "--label-col", "y"),
        ("train", "classify", "--data", "x.ts", "--format", "lines"),
        ("train", "classify", "--data"),  # bad command lines go on to the real parser
        ("train", "series-tag", "--data", "f.csv"),
        ("predict", "RUN", "f.csv"),
        ("train", "lm", "--data", "f.csv"),
    }
    for argv in series:
        routed = route(list(argv))[0]
        i = argv.index("train")
        assert routed[i + 1] == f"series-{argv[i + 1]}" and len(routed) == len(argv), argv
    for argv in text:
        assert route(list(argv))[0] == list(argv), argv


def test_train_classify_on_ts_is_the_series_classifier(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name, n in (("S_TRAIN.ts", 32), ("S_TEST.ts", 12)):
        lines = ["@problemName Slopes", "@dimensions 1", "@classLabel true down up", "@data"]
        for i in range(n):
            T = int(rng.integers(6, 12))
            sign = 1 if i % 2 else -1
            a = sign * np.linspace(0, 3, T) + rng.normal(scale=0.2, size=T)
            lines.append(",".join(f"{v:.3f}" for v in a) + (":up" if sign > 0 else ":down"))
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    train, test = tmp_path / "S_TRAIN.ts", tmp_path / "S_TEST.ts"
    assert main(["train", "classify", "--data", str(train), "--dev", str(test), "--steps",
                 "40", *TINY, "--out", str(tmp_path / "runs")]) == 0
    run = _run(tmp_path / "runs", "series-classify")
    out, err = capsys.readouterr()
    assert "running `rnnkit train series-classify`" in err and "validation" in out
    assert main(["predict", str(run), str(test)]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert lines[0] == "series,label,probability" and len(lines) == 13
    assert [r.split(",")[1] for r in lines[1:4]] == ["down", "up", "down"]
    assert main(["eval", str(run), "--data", str(test), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 12 and report["accuracy"] > 0.9 and "macro_f1" in report
    assert (run / "eval-S_TEST.ts-confusion.png").is_file()


def test_closed_stdout_pipe_exits_quietly(tag_run, tmp_path):
    """`rnnkit predict RUN FILE | head -1`: no BrokenPipeError traceback."""
    big = frames_csv(tmp_path / "big.csv", 40, 4, steps=(500, 501))  # ~200 kB of output
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "predict", str(tag_run[0]),
                             str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    assert proc.stdout.readline() == b"id,t,y\n"
    proc.stdout.close()  # what `head -1` does after one line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err
