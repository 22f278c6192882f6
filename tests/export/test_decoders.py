"""The decoders' graphs: greedy translation through the seq2seq encoder and decoder_step
graphs equal to the run's own, greedy generation through the generator's start and step graphs
equal to its own, and the other decoder layouts (LSTM decoder with input feeding, no
attention; image conditions) checked against their eager models."""

import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.export import export_run
from rnnkit.export.check import check_graph
from rnnkit.export.decoders import generate_graphs, seq2seq_graphs
from rnnkit.export.writers import onnx_runner, write_onnx
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.generate.model import Generator, GeneratorConfig, generate_ids
from rnnkit.tasks.seq2seq.model import Seq2Seq, Seq2SeqConfig

from .conftest import need_onnx, pad, run, session, train_cli


def onnx_greedy_translate(out, src_ids, bos, eos):
    enc, step = session(out / "encoder.onnx"), session(out / "decoder_step.onnx")
    x, lengths = pad(src_ids)
    state = run(enc, src=x, src_lengths=lengths)
    fixed = {k: state[k] for k in ("memory", "keys", "mask") if k in state}
    hidden = state["hidden"]
    limits = 2 * lengths + 10
    token, done, rows = np.full(len(src_ids), bos, np.int64), np.zeros(len(src_ids), bool), []
    for t in range(int(limits.max()) + 1):
        got = run(step, token=token, hidden=hidden, **fixed)
        logits = got["logits"]
        logits[limits < t + 1] = -np.inf  # past its limit a row can only end
        logits[limits < t + 1, eos] = 0.0
        token = np.where(done, eos, logits.argmax(1)).astype(np.int64)
        done |= token == eos
        hidden = got["hidden_out"]
        rows.append(token)
        if done.all():
            break
    out_ids = np.stack(rows, 1).tolist()
    return [r[: r.index(eos)] if eos in r else r for r in out_ids]


def test_seq2seq_greedy_translation_equals_the_run(tmp_path):
    need_onnx()
    words, r = "a b c d".split(), random.Random(0)
    src = [" ".join(r.choice(words) for _ in range(3)) for _ in range(40)]
    (tmp_path / "s.txt").write_text("\n".join(src) + "\n")
    (tmp_path / "t.txt").write_text("\n".join(s.upper() for s in src) + "\n")
    folder = train_cli(tmp_path, "seq2seq", "--src", str(tmp_path / "s.txt"), "--tgt",
                       str(tmp_path / "t.txt"), "--min-freq", "1", "--embed", "6", "--hidden",
                       "6", "--steps", "6", "--batch-size", "8")
    m = rnnkit.load(folder)
    manifest = export_run(folder, tmp_path / "out")
    assert set(manifest["graphs"]) == {"encoder", "decoder_step"}
    assert manifest["graphs"]["decoder_step"]["states"] == {"hidden": "hidden_out"}
    texts = ["a b c", "d a b c d a", "b"]
    ids = [m.src_vocab.encode(t) for t in texts]
    got = onnx_greedy_translate(tmp_path / "out", ids, m.tgt_vocab.bos_id, m.tgt_vocab.eos_id)
    assert [m.tgt_vocab.decode_tokens(r) for r in got] == m.translate(texts, beam=1,
                                                                      detok=False)


def check_all(graphs, tmp_path):
    for g in graphs:
        write_onnx(g, tmp_path / f"{g.name}.onnx")
        assert check_graph(g, onnx_runner(tmp_path / f"{g.name}.onnx"))["max_abs_diff"] < 1e-4


@pytest.mark.parametrize("kw", [
    {"decoder_cell": "lstm", "decoder_layers": 2, "input_feeding": True, "attention": "general"},
    {"attention": "none", "encoder": EncoderConfig(cell="lstm", hidden=5)},
])
def test_other_seq2seq_layouts(tmp_path, kw):
    need_onnx()
    cfg = dict(src_vocab=9, tgt_vocab=8, embed=4, decoder_hidden=6, attention_size=5,
               encoder=EncoderConfig(cell="gru", hidden=3, bidirectional=True, layers=2)) | kw
    model = Seq2Seq(Seq2SeqConfig(**cfg)).eval()
    graphs = seq2seq_graphs(SimpleNamespace(model=model))
    names = [p.name for p in graphs[1].inputs]
    assert ("feed" in names) == cfg.get("input_feeding", False)
    assert ("memory" in names) == (cfg["attention"] != "none")
    check_all(graphs, tmp_path)


def test_generator_greedy_equals_the_run(tmp_path):
    need_onnx()
    names = tmp_path / "names"
    names.mkdir()
    (names / "Alpha.txt").write_text("\n".join(["Abab", "Abba", "Abaab", "Abbb", "Aab"] * 3))
    (names / "Omega.txt").write_text("\n".join(["Zyzy", "Zyyz", "Zzy", "Zyzzy", "Zyz"]) + "\n")
    folder = train_cli(tmp_path, "generate", "--data", str(names), "--steps", "6", "--hidden",
                       "6", "--embed", "5", "--condition-dim", "4", "--batch-size", "4",
                       "--cell", "lstm")
    m = rnnkit.load(folder)
    out = tmp_path / "out"
    manifest = export_run(folder, out)
    assert set(manifest["graphs"]) == {"start", "step", "forward"}
    assert manifest["graphs"]["step"]["states"] == {"h": "h_out", "c": "c_out"}
    end, max_len = manifest["preprocessing"]["end_id"], manifest["preprocessing"]["max_len"]
    cond = np.array([m.labels.stoi["Alpha"], m.labels.stoi["Omega"]], np.int64)
    state = run(session(out / "start.onnx"), condition=cond)
    step = session(out / "step.onnx")
    token, h, c, rows = np.full(2, end, np.int64), state["h"], state["c"], []
    for _ in range(max_len + 1):
        got = run(step, token=token, condition_vector=state["condition_vector"], h=h, c=c)
        assert np.isneginf(got["logits"][:, 0]).all()  # the unknown id is never produced
        token, h, c = got["logits"].argmax(1).astype(np.int64), got["h_out"], got["c_out"]
        rows.append(token)
    ids = [r[: r.index(end)] if end in r else r[:max_len] for r in np.stack(rows, 1).tolist()]
    assert ids == generate_ids(m.model, torch.tensor(cond), end, end, max_len, greedy=True)


def test_image_conditioned_generator_graphs(tmp_path):
    need_onnx()
    cfg = GeneratorConfig(vocab_size=7, condition="image", image_height=8, image_width=12,
                          condition_dim=4, cnn_channels=2, embed=3,
                          encoder=EncoderConfig(cell="rnn", hidden=5, layers=2))
    graphs = generate_graphs(SimpleNamespace(model=Generator(cfg).eval()))
    assert graphs[0].inputs[0].axes == ("batch", 1, 8, 12)
    check_all(graphs, tmp_path)
