"""``rnnkit export`` end to end: the files and a manifest that describes them, ``--format
torch`` programs that load back and match the ONNX graphs, and the one-line errors (a folder
that is no run, an unknown format, a missing extra)."""

import json
import sys

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main

from .conftest import need_onnx, pad, run, session


def test_cli_writes_graphs_weights_vocab_and_manifest(lm_run, classify_run, tmp_path, capsys):
    need_onnx()
    for folder, graphs, opset in ((lm_run, {"forward", "step"}, []),
                                  (classify_run, {"forward"}, ["--opset", "20"])):
        out = tmp_path / folder.name
        assert main(["export", str(folder), "-o", str(out), *opset]) == 0
        assert "exported the" in capsys.readouterr().err
        manifest = json.loads((out / "manifest.json").read_text())
        assert set(manifest["graphs"]) == graphs
        assert manifest["opset"] == (int(opset[1]) if opset else 17)
        files = manifest["files"]
        for name in [*files["graphs"], files["weights"], *files["run"]]:
            assert (out / name).is_file(), name
        for g in manifest["graphs"].values():
            sess = session(out / g["file"])
            assert [i.name for i in sess.get_inputs()] == [p["name"] for p in g["inputs"]]
            assert [o.name for o in sess.get_outputs()] == [p["name"] for p in g["outputs"]]
            for p, i in zip(g["inputs"], sess.get_inputs()):  # batch and time stay dynamic
                assert [a if isinstance(a, str) else int(a) for a in i.shape] == p["shape"]
            assert g["check"]["sizes"][0]["batch"] == 1 and g["check"]["sizes"][1]["batch"] == 3


def test_torch_format_programs_load_and_match_onnx(lm_run, lm_export, tmp_path):
    out = tmp_path / "pt"
    assert main(["export", str(lm_run), "-o", str(out), "--format", "torch",
                 "--checkpoint", "last"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "torch" and manifest["files"]["graphs"] == ["forward.pt2",
                                                                            "step.pt2"]
    forward = torch.export.load(str(out / "forward.pt2")).module()
    x, lengths = pad([[1, 2, 3, 4, 5, 6, 7], [3, 1], [2, 2, 2, 2]])
    e = manifest["graphs"]["forward"]["inputs"][2]["shape"]
    h = np.zeros((e[0], 3, e[2]), np.float32)
    with torch.no_grad():
        got = forward(*(torch.from_numpy(a) for a in (x, lengths, h, h)))
    onnx_dir, _ = lm_export
    want = run(session(onnx_dir / "forward.onnx"), tokens=x, lengths=lengths, h=h, c=h)
    for a, name in zip(got, ("logits", "h_out", "c_out")):
        np.testing.assert_allclose(a.numpy(), want[name], atol=1e-5)


def test_errors_are_one_line(lm_run, tmp_path, capsys, monkeypatch):
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["export", str(lm_run), "-o", str(tmp_path / "o"), "--format", "tf"]) == 2
    assert "invalid choice: 'tf'" in capsys.readouterr().err
    assert main(["export", str(lm_run)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["export", str(lm_run), "-o", str(tmp_path / "o"), "--opset", "9"]) == 2
    assert "opset must be in 14..20, got 9" in capsys.readouterr().err
    from rnnkit.export import ExportError, export_run

    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_run(lm_run, tmp_path / "o", "tflite")
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the export extra were missing
    assert main(["export", str(lm_run), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'rnnkit[export]'" in err
