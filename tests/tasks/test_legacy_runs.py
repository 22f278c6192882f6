"""Run folders written by rnnkit 0.1.0 (before the task registry) still load and give what
0.1.0 printed for them (tests/fixtures/runs_0_1_0/README.md)."""

import json
import shutil
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_0_1_0"
TASKS = ["lm", "classify", "tag", "series-classify", "series-tag", "forecast", "seq2seq",
         "generate"]


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    """A copy of the fixtures (loading may write next to a run, e.g. plots)."""
    dest = tmp_path_factory.mktemp("legacy") / "runs"
    shutil.copytree(FIXTURES, dest)
    return dest


def _out(capsys, *argv) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 0
    return capsys.readouterr().out


def _expected(legacy: Path, name: str) -> str:
    return (legacy / name).read_text()


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") if "\t" in line else line.split(",")
            for line in text.strip().split("\n")]


def _same_table(got: str, want: str) -> None:
    """Same labels and texts; numbers within 1e-3 (other CPUs round the last digit apart)."""
    g, w = _rows(got), _rows(want)
    assert len(g) == len(w)
    for a, b in zip(g, w):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            try:
                assert float(x) == pytest.approx(float(y), abs=1e-3, rel=1e-3)
            except ValueError:
                assert x == y


@pytest.mark.parametrize("task", TASKS)
def test_every_legacy_run_loads(legacy, task):
    loaded = rnnkit.load(legacy / task)
    assert loaded.task == task and not loaded.model.training
    assert loaded.config["rnnkit"] == "0.1.0"


def test_language_model(legacy, capsys):
    run = legacy / "lm"
    assert _out(capsys, "sample", run, "--prime", "to be", "--length", "30", "--greedy") == \
        _expected(legacy, "lm.greedy.txt")
    assert _out(capsys, "sample", run, "--prime", "to be", "--length", "20", "--seed", "1") == \
        _expected(legacy, "lm.sample.txt")
    got = json.loads(_out(capsys, "eval", run, "--data", legacy / "data" / "lm.txt"))
    want = json.loads(_expected(legacy, "lm.eval.json"))
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-4), k


def test_classifier_with_its_ngram_branch(legacy, capsys):
    loaded = rnnkit.load(legacy / "classify")
    assert loaded.ngram is not None and loaded.settings.model.ngram.n == 2
    _same_table(_out(capsys, "predict", legacy / "classify", legacy / "data" / "classify.csv"),
                _expected(legacy, "classify.predict.txt"))


@pytest.mark.parametrize("task,data,expected", [
    ("tag", "tag.conllu", "tag.predict.txt"),
    ("series-classify", "series.ts", "series-classify.predict.csv"),
    ("series-tag", "frames.csv", "series-tag.predict.csv"),
])
def test_predictions(legacy, capsys, task, data, expected):
    _same_table(_out(capsys, "predict", legacy / task, legacy / "data" / data),
                _expected(legacy, expected))


def test_forecaster(legacy, capsys):
    _same_table(_out(capsys, "forecast", legacy / "forecast", "--data",
                     legacy / "data" / "forecast.csv"),
                _expected(legacy, "forecast.forecast.csv"))


def test_translator(legacy, capsys):
    assert _out(capsys, "translate", legacy / "seq2seq", legacy / "data" / "s2s.src", "--beam",
                "2") == _expected(legacy, "seq2seq.translate.txt")


def test_generator(legacy, capsys):
    run = legacy / "generate"
    assert _out(capsys, "sample", run, "--condition", "Omega", "--condition", "Alpha",
                "--greedy") == _expected(legacy, "generate.greedy.txt")
    assert _out(capsys, "sample", run, "--condition", "Omega", "--num", "3", "--seed",
                "0") == _expected(legacy, "generate.sample.txt")
