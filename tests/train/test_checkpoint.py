import pytest
import torch

from rnnkit.cells import LSTMState
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip_nested_structures(tmp_path):
    payload = {"a": torch.randn(3, 4), "b": {"c": [1, 2.5, "x", None, True]},
               "state": LSTMState(torch.ones(2, 3), torch.zeros(2, 3)),
               "opt": {"state": {0: {"step": torch.tensor(3.0)}}}, "t": (1, torch.arange(4))}
    p = tmp_path / "ck.safetensors"
    save_checkpoint(p, payload)
    got = load_checkpoint(p)
    assert torch.equal(got["a"], payload["a"])
    assert got["b"] == {"c": [1, 2.5, "x", None, True]}
    assert torch.equal(got["state"][1], torch.zeros(2, 3)) and isinstance(got["state"], tuple)
    assert torch.equal(got["opt"]["state"][0]["step"], torch.tensor(3.0))
    assert torch.equal(got["t"][1], torch.arange(4))
    assert [f.name for f in tmp_path.iterdir()] == ["ck.safetensors"]  # no temp file left


def test_shared_and_strided_tensors_are_stored(tmp_path):
    w = torch.randn(4, 4)
    save_checkpoint(tmp_path / "c", {"w": w, "wt": w.t(), "same": w})
    got = load_checkpoint(tmp_path / "c")
    assert torch.equal(got["wt"], w.t()) and torch.equal(got["same"], w)


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(junk)
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, {"x": torch.randn(100)})
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(good.read_bytes()[:-50])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(trunc)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"x": torch.randn(2)}, str(other))
    with pytest.raises(CheckpointError, match="not an rnnkit checkpoint"):
        load_checkpoint(other)
