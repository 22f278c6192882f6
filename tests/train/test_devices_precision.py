"""Devices and precision: --device resolves or says why not, batches follow the model, a run
moves between devices, bf16 autocast on a CPU trains and tracks float32; CUDA checks run where
a GPU is (skipped here without one)."""

import json

import pytest
import torch

import rnnkit
from rnnkit.cli.main import main
from rnnkit.tasks.common.words import word_batch
from rnnkit.train.device import DeviceError, device_of, resolve_device, to_device
from rnnkit.train.precision import autocast, resolve_precision

TEXT = "to be or not to be, that is the question.\n" * 40
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceError, match="unknown device 'gpu7'"):
        resolve_device("gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU is available here"):
            resolve_device("cuda:1")


def test_cuda_asked_without_one_is_one_line(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    (tmp_path / "t.txt").write_text(TEXT)
    assert main(["train", "lm", "--data", str(tmp_path / "t.txt"), "--steps", "1",
                 "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU is available here" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_batches_follow_the_model_even_to_meta():
    model = torch.nn.Linear(2, 2).to("meta")
    b = to_device(word_batch([[1, 2], [3]], [[[1], [2, 3]], [[4]]]), device_of(model))
    assert b.words.device.type == b.chars.device.type == b.word_index.device.type == "meta"


def _lm(tmp_path, *extra):
    (tmp_path / "t.txt").write_text(TEXT)
    out = tmp_path / ("runs" + "".join(extra).replace("-", ""))
    assert main(["train", "lm", "--data", str(tmp_path / "t.txt"), "--out", str(out),
                 "--steps", "60", "--hidden", "32", "--embed", "16", "--batch-size", "4",
                 "--chunk-len", "32", "--lr", "0.01", "--sample-length", "0", "--log-every",
                 "30", "--device", "cpu", *extra]) == 0
    (run,) = out.iterdir()
    return run


def test_bf16_on_a_cpu_trains_and_tracks_fp32(tmp_path):
    fp32 = json.loads((_lm(tmp_path) / "summary.json").read_text())["final_loss"]
    run = _lm(tmp_path, "--precision", "bf16")
    bf16 = json.loads((run / "summary.json").read_text())["final_loss"]
    saved = json.loads((run / "config.json").read_text())
    assert saved["train"]["precision"] == saved["precision"] == "bf16"
    assert bf16 == pytest.approx(fp32, rel=0.05)
    lm = rnnkit.load(run, device="cpu")
    assert all(p.dtype == torch.float32 for p in lm.model.parameters())  # fp32 master weights


def test_autocast_runs_recurrent_layers_in_float32():
    proj, lstm = torch.nn.Linear(3, 4), rnnkit.LSTM(4, 5)
    x = torch.randn(2, 6, 3)
    with autocast("bf16", torch.device("cpu")):
        h = proj(x)  # bf16 under autocast
        assert h.dtype == torch.bfloat16
        out, (hn, cn) = lstm(h)
    assert out.dtype == hn.dtype == torch.float32
    ref, _ = lstm(h.float())  # the same inputs, in float32, outside autocast
    torch.testing.assert_close(out, ref)


def test_auto_precision_is_bf16_only_on_a_cpu_with_native_bf16(monkeypatch, tmp_path):
    from rnnkit.train import precision

    cpu, info, real = torch.device("cpu"), tmp_path / "cpuinfo", precision.Path
    monkeypatch.setattr(precision, "Path", lambda p: real(info) if p == "/proc/cpuinfo"
                        else real(p))
    for flags, capped, expect in [("avx2 avx512f avx512_bf16", None, "bf16"),
                                  ("avx2 amx_bf16", None, "bf16"),
                                  ("avx2 avx512f avx512bw", None, "fp32"),
                                  ("avx2 avx512_bf16", "AVX2", "fp32")]:
        info.write_text(f"processor : 0\nflags : {flags}\n")
        if capped:
            monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", capped)
        else:
            monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
        monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
        precision.cpu_native_bf16.cache_clear()
        assert resolve_precision("auto", cpu) == expect, (flags, capped)
    precision.cpu_native_bf16.cache_clear()
    assert resolve_precision("auto", torch.device("meta")) == "fp32"


def test_a_run_loads_on_another_device_than_it_trained_on(tmp_path, capsys):
    run = _lm(tmp_path)
    assert json.loads((run / "config.json").read_text())["device"] == "cpu"
    capsys.readouterr()
    assert main(["sample", str(run), "--greedy", "--length", "10", "--device", "cpu"]) == 0
    cpu_text = capsys.readouterr().out
    if torch.cuda.is_available():
        assert main(["sample", str(run), "--greedy", "--length", "10", "--device",
                     "cuda"]) == 0
        assert capsys.readouterr().out == cpu_text


@cuda
def test_cuda_training_resumes_on_the_cpu(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    base = ["train", "lm", "--data", str(tmp_path / "t.txt"), "--hidden", "32", "--embed",
            "16", "--batch-size", "4", "--chunk-len", "32", "--sample-length", "0"]
    assert main([*base, "--steps", "20", "--device", "cuda", "--out", str(tmp_path / "r")]) == 0
    (run,) = (tmp_path / "r").iterdir()
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["steps"] = 30
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "lm", "--resume", str(run), "--device", "cpu",
                 "--sample-length", "0"]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 30
