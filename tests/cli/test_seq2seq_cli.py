"""``rnnkit train seq2seq`` and ``rnnkit translate`` end to end on a tiny reversal task."""

import io
import json
import random

import pytest

from rnnkit.cli.main import main

WORDS = "a b c d e f".split()


def _pairs(path_src, path_tgt, n, seed):
    r = random.Random(seed)
    src, tgt = [], []
    for _ in range(n):
        s = [r.choice(WORDS) for _ in range(r.randint(2, 4))]
        src.append(" ".join(s))
        tgt.append(" ".join(w.upper() for w in reversed(s)))
    path_src.write_text("\n".join(src) + "\n")
    path_tgt.write_text("\n".join(tgt) + "\n")
    return src, tgt


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("seq2seq")
    _pairs(tmp_path / "train.src", tmp_path / "train.tgt", 400, 0)
    _pairs(tmp_path / "dev.src", tmp_path / "dev.tgt", 30, 1)
    rc = main(["train", "seq2seq", "--src", str(tmp_path / "train.src"),
               "--tgt", str(tmp_path / "train.tgt"), "--dev-src", str(tmp_path / "dev.src"),
               "--dev-tgt", str(tmp_path / "dev.tgt"), "--min-freq", "1", "--embed", "16",
               "--hidden", "16", "--decoder-hidden", "24", "--attention-size", "16",
               "--dropout", "0", "--batch-size", "16", "--steps", "300", "--lr", "0.01",
               "--beam", "3", "--out", str(tmp_path / "runs"), "--threads", "1"])
    assert rc == 0
    (run,) = (tmp_path / "runs").glob("seq2seq-*")
    return tmp_path, run


def test_train_translate_and_score(trained, capsys, monkeypatch):
    tmp_path, run = trained
    capsys.readouterr()
    report = json.loads((run / "dev_report.json").read_text())
    assert report["beam1"]["bleu"] > 80 and report["beam3"]["bleu"] > 80
    assert (run / "attention.png").stat().st_size > 1000
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "seq2seq" and cfg["model"]["attention"] == "additive"
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("a b c\n\nf e\n"))
    assert main(["translate", str(run), "--beam", "3"]) == 0
    # lowercased by default: the model learned reversal of the lowercased targets
    assert capsys.readouterr().out.splitlines() == ["c b a", "", "e f"]
    monkeypatch.setattr("sys.stdin", io.StringIO("a b c\n"))
    assert main(["translate", str(run), "--beam", "3", "--n-best", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("0 ||| c b a ||| ")
    scores = [float(x.rsplit("|||", 1)[1]) for x in lines]
    assert scores[0] >= scores[1]
    monkeypatch.setattr("sys.stdin", io.StringIO("a b c\nd e\n"))
    assert main(["translate", str(run), "--sample", "--temperature", "0.1", "--seed", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == ["c b a", "e d"]  # near-greedy sampling
    png = tmp_path / "att.png"
    assert main(["translate", str(run), str(tmp_path / "dev.src"), "--ref",
                 str(tmp_path / "dev.tgt"), "--beam", "1", "--attention", str(png)]) == 0
    cap = capsys.readouterr()
    assert len(cap.out.splitlines()) == 30 and "sacreBLEU" in cap.err
    bleu = float(cap.err.split("beam 1): ")[1].split()[0])
    assert bleu > 80 and png.is_file()


def test_eval_reports_bleu_and_perplexity(trained, capsys):
    tmp_path, run = trained
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(tmp_path / "dev.src"), "--ref",
                 str(tmp_path / "dev.tgt"), "--beam", "2"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["sentences"] == 30 and rep["beam"] == 2
    assert rep["bleu_tok"]["bleu"] > 80 and rep["ppl"] < 2.0 and rep["tokens"] > 30
    assert main(["eval", str(run), "--data", str(tmp_path / "dev.src")]) == 2
    assert "--ref REFERENCE" in capsys.readouterr().err


def test_translate_errors(trained, capsys, tmp_path):
    run = trained[1]
    (tmp_path / "dev.src").write_text((trained[0] / "dev.src").read_text())
    (tmp_path / "short.tgt").write_text("x\n")
    assert main(["translate", str(run), str(tmp_path / "dev.src"), "--ref",
                 str(tmp_path / "short.tgt")]) == 2
    assert "1 lines but the input has 30" in capsys.readouterr().err
    assert main(["translate", str(run), "--beam", "2", "--n-best", "3"]) == 2
    assert "--n-best 3 needs --beam >= 3" in capsys.readouterr().err


def test_train_rejects_misaligned_files(tmp_path, capsys):
    (tmp_path / "s").write_text("a\nb\nc\n")
    (tmp_path / "t").write_text("x\ny\n")
    rc = main(["train", "seq2seq", "--src", str(tmp_path / "s"), "--tgt", str(tmp_path / "t"),
               "--steps", "1", "--out", str(tmp_path / "runs")])
    assert rc == 2
    assert "3 lines in" in capsys.readouterr().err and not (tmp_path / "runs").exists()
    rc = main(["train", "seq2seq", "--src", str(tmp_path / "s"), "--tgt", str(tmp_path / "t"),
               "--dev-src", str(tmp_path / "s"), "--steps", "1"])
    assert rc == 2 and "both --dev-src and --dev-tgt" in capsys.readouterr().err
