"""Tiny runs trained once per session (a character LM, a bidirectional text classifier), and
helpers to train the other tasks through the CLI and to run ONNX graphs in onnxruntime."""

import numpy as np
import pytest

import rnnkit
from rnnkit.cli.main import main
from tests.helpers import write_polarity_csv

TEXT = "the quick brown fox jumps over the lazy dog.\nthe dog sleeps; the fox runs.\n" * 20
FAST = ["--log-every", "1000", "--threads", "1"]


def need_onnx():
    """Skip unless the export extra's onnx and onnxruntime are installed; returns onnxruntime."""
    pytest.importorskip("onnx", reason="the export extra (onnx, onnxruntime) is not installed")
    return pytest.importorskip("onnxruntime", reason="the export extra (onnx, onnxruntime) is "
                               "not installed")


def session(path):
    ort = need_onnx()
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run(sess, **feeds) -> dict:
    """The graph's outputs by name, for inputs given by name."""
    names = [o.name for o in sess.get_outputs()]
    got = sess.run(None, {k: np.asarray(v) for k, v in feeds.items()})
    return dict(zip(names, got))


def train_cli(root, *argv):
    """Train a run with ``rnnkit train ...`` into ``root/runs``; its folder."""
    out = root / "runs"
    assert main(["train", *argv, "--out", str(out), *FAST]) == 0
    (folder,) = out.iterdir()
    return folder


def pad(rows, value=0):
    """(B, T) int64 array of id lists, and their lengths."""
    T = max(len(r) for r in rows)
    x = np.full((len(rows), T), value, dtype=np.int64)
    for b, r in enumerate(rows):
        x[b, : len(r)] = r
    return x, np.array([len(r) for r in rows], dtype=np.int64)


@pytest.fixture(scope="session")
def lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-lm")
    (root / "t.txt").write_text(TEXT)
    return rnnkit.fit("lm", data={"data": str(root / "t.txt"), "batch_size": 8, "chunk_len": 16},
                      model={"embed": 16, "encoder": {"hidden": 24}},
                      train={"steps": 30, "lr": 0.03, "log_every": 1000}, out=root / "runs")


@pytest.fixture(scope="session")
def lm_export(lm_run, tmp_path_factory):
    need_onnx()
    from rnnkit.export import export_run

    out = tmp_path_factory.mktemp("export-lm-onnx")
    return out, export_run(lm_run, out)


@pytest.fixture(scope="session")
def classify_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-classify")
    write_polarity_csv(root / "c.csv", pos="good great fine day")
    return rnnkit.fit("classify", data={"data": str(root / "c.csv"), "batch_size": 4},
                      model={"embed": 8, "encoder": {"hidden": 8, "layers": 2}},
                      train={"steps": 10, "log_every": 1000}, out=root / "runs")
