"""The language model's ONNX graphs against the eager model: padded batches of 1 and 3 rows
at two lengths (logits and each row's own final state), and a greedy continuation through the
step graph, its state fed back explicitly, equal to ``rnnkit sample --greedy``."""

import json

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.cli.main import main
from rnnkit.tasks.common.sampling import SampleConfig

from .conftest import pad, run, session


def zeros(m, B):
    e = m.model.cfg.encoder
    return {k: np.zeros((e.layers, B, e.hidden), np.float32) for k in ("h", "c")}


def test_files_and_manifest(lm_export):
    out, manifest = lm_export
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["task"] == "lm" and manifest["format"] == "onnx"
    assert set(manifest["graphs"]) == {"forward", "step"}
    step = manifest["graphs"]["step"]
    assert step["states"] == {"h": "h_out", "c": "c_out"}
    assert [p["name"] for p in step["inputs"]] == ["token", "h", "c"]
    forward = manifest["graphs"]["forward"]
    assert forward["inputs"][0]["shape"] == ["batch", "time"]
    assert forward["outputs"][0]["shape"][:2] == ["batch", "time"]
    for name in ("forward.onnx", "step.onnx", "model.safetensors", "vocab.json", "config.json"):
        assert (out / name).is_file(), name
    assert all(g["check"]["max_abs_diff"] < 1e-4 for g in manifest["graphs"].values())
    from safetensors.torch import load_file

    loaded = rnnkit.load(manifest["run"])
    weights = load_file(out / "model.safetensors")
    assert weights.keys() == loaded.model.state_dict().keys()
    assert "encoder.weight_hh_l0" in weights


@pytest.mark.parametrize("B,T", [(1, 5), (3, 17)])
def test_forward_graph_equals_each_row_alone(lm_run, lm_export, B, T):
    out, _ = lm_export
    m = rnnkit.load(lm_run)
    V = m.model.cfg.vocab_size
    g = torch.Generator().manual_seed(B * T)
    rows = [torch.randint(0, V, (n,), generator=g).tolist()
            for n in ([T] if B == 1 else [T, T // 2, 2])]
    x, lengths = pad(rows)
    if B == 1:  # one row shorter than the padded time axis
        x, lengths = np.concatenate([x, x[:, :3]], 1), lengths
    got = run(session(out / "forward.onnx"), tokens=x, lengths=lengths, **zeros(m, B))
    assert got["logits"].shape == (B, x.shape[1], V)
    for b, r in enumerate(rows):
        with torch.no_grad():
            logits, (h, c) = m.model(torch.tensor([r]))
        np.testing.assert_allclose(got["logits"][b, : len(r)], logits[0].numpy(), atol=1e-4)
        np.testing.assert_allclose(got["h_out"][:, b], h[:, 0].numpy(), atol=1e-5)
        np.testing.assert_allclose(got["c_out"][:, b], c[:, 0].numpy(), atol=1e-5)
    assert np.isfinite(got["logits"]).all()


def greedy(out, vocab, prompts, length):
    """Greedy continuations of ``prompts`` from the ONNX graphs, all rows at once."""
    ids = [vocab.encode(p) for p in prompts]
    heads, lengths = pad([i[:-1] for i in ids])
    fwd, step = session(out / "forward.onnx"), session(out / "step.onnx")
    B, e = len(ids), fwd.get_inputs()[2].shape
    state = {k: np.zeros((e[0], B, e[2]), np.float32) for k in ("h", "c")}
    got = run(fwd, tokens=heads, lengths=lengths, **state)
    state = {"h": got["h_out"], "c": got["c_out"]}
    token, produced = np.array([i[-1] for i in ids], np.int64), []
    for _ in range(length):
        got = run(step, token=token, **state)
        token = got["logits"].argmax(1).astype(np.int64)
        state = {"h": got["h_out"], "c": got["c_out"]}
        produced.append(token)
    return [vocab.decode(list(row)) for row in np.stack(produced, 1)]


def test_greedy_continuation_from_the_step_graph_equals_rnnkit_sample(lm_run, lm_export,
                                                                        capsys):
    out, _ = lm_export
    m = rnnkit.load(lm_run)
    prompts = ["the quick brown", "the d"]
    texts = greedy(out, m.vocab, prompts, 40)
    for prompt, text in zip(prompts, texts):
        assert text == m.sample(prompt, 40, SampleConfig(greedy=True))
    capsys.readouterr()
    assert main(["sample", str(lm_run), "--prime", prompts[0], "--length", "40",
                 "--greedy"]) == 0
    assert capsys.readouterr().out == prompts[0] + texts[0] + "\n"


def test_bpe_vocabulary_becomes_a_standard_tokenizer_json(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from rnnkit.export import export_run

    (tmp_path / "t.txt").write_text("the quick brown fox jumps over the lazy dog. " * 30)
    run_dir = rnnkit.fit("lm", data={"data": str(tmp_path / "t.txt"), "vocab": "bpe",
                                     "vocab_size": 270, "batch_size": 4, "chunk_len": 8},
                         model={"embed": 8, "encoder": {"hidden": 8, "cell": "gru"}},
                         train={"steps": 2, "log_every": 1000}, out=tmp_path / "runs")
    manifest = export_run(run_dir, tmp_path / "out")
    assert manifest["files"]["tokenizers"] == {"vocab.json": "tokenizer.json"}
    assert manifest["graphs"]["step"]["states"] == {"h": "h_out"}  # a GRU has no c
    tok = tokenizers.Tokenizer.from_file(str(tmp_path / "out" / "tokenizer.json"))
    vocab = rnnkit.load(run_dir).vocab
    text = "the lazy fox, quickly"
    assert tok.encode(text).ids == vocab.encode(text)
    assert tok.decode(vocab.encode(text)) == text
