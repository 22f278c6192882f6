"""The rnnkit command end to end on tiny data (in-process, through cli.main.main)."""

import json

import pytest

from rnnkit.cli.main import main

TEXT = "to be or not to be, that is the question.\n" * 40


@pytest.fixture
def corpus(tmp_path):
    p = tmp_path / "tiny.txt"
    p.write_text(TEXT)
    return p


def _train(tmp_path, corpus, *extra):
    args = ["train", "lm", "--data", str(corpus), "--out", str(tmp_path / "runs"), "--steps",
            "60", "--hidden", "48", "--embed", "16", "--batch-size", "4", "--chunk-len", "32",
            "--log-every", "30", "--sample-length", "20", "--lr", "0.01", *extra]
    assert main(args) == 0
    (run,) = (tmp_path / "runs").iterdir()
    return run


def test_train_sample_eval_round_trip(tmp_path, corpus, capsys):
    run = _train(tmp_path, corpus)
    for f in ["config.json", "vocab.json", "log.csv", "loss.png", "summary.json",
              "checkpoints/best.safetensors", "checkpoints/last.safetensors"]:
        assert (run / f).is_file(), f
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["encoder"]["hidden"] == 48 and cfg["data"]["batch_size"] == 4
    capsys.readouterr()
    assert main(["sample", str(run), "--prime", "to be", "--length", "30", "--seed", "1"]) == 0
    a = capsys.readouterr().out
    assert main(["sample", str(run), "--prime", "to be", "--length", "30", "--seed", "1"]) == 0
    assert capsys.readouterr().out == a and a.startswith("to be") and len(a) >= 35
    assert main(["eval", str(run), "--data", str(corpus)]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["loss"] < 2.5 and m["bpc"] > 0 and m["tokens"] == len(TEXT) - 1


def test_resume_continues_a_run(tmp_path, corpus):
    run = _train(tmp_path, corpus)
    assert main(["train", "lm", "--resume", str(run), "--sample-length", "0"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 60  # the budget was reached: resuming adds nothing
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["steps"] = 80
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "lm", "--resume", str(run), "--sample-length", "0"]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 80


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["train", "lm", "--data", str(empty), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "empty.txt" in err and "Traceback" not in err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\n\xff\xfe broken\n")
    assert main(["train", "lm", "--data", str(bad), "--steps", "1"]) == 2
    assert "bad.txt:2: byte 0xff" in capsys.readouterr().err
    short = tmp_path / "short.txt"
    short.write_text("abcd\n")
    assert main(["train", "lm", "--data", str(short), "--steps", "1", "--out",
                 str(tmp_path / "r")]) == 2
    assert "validation split is empty" in capsys.readouterr().err
    assert main(["train", "lm", "--data", str(short), "--val-data", str(short), "--steps", "1",
                 "--out", str(tmp_path / "r")]) == 2
    assert "too short" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "nope")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "lm", "--data", str(bad), "--cell", "lstmx", "--steps", "1"]) == 2


def test_hello_command(capsys):
    assert main(["hello"]) == 0
    out = capsys.readouterr().out
    assert "generated from 'h', feeding each prediction back: hello" in out


def test_bpe_and_word_vocabularies(tmp_path, corpus, capsys):
    for kind in ("bpe", "word"):
        out = tmp_path / kind
        assert main(["train", "lm", "--data", str(corpus), "--out", str(out), "--steps", "20",
                     "--hidden", "32", "--embed", "16", "--batch-size", "2", "--chunk-len", "16",
                     "--vocab", kind, "--vocab-size", "300", "--sample-length", "5"]) == 0
        (run,) = out.iterdir()
        assert json.loads((run / "vocab.json").read_text())["kind"] == kind
        capsys.readouterr()
        assert main(["eval", str(run), "--data", str(corpus)]) == 0
        m = json.loads(capsys.readouterr().out)
        assert m["tokens"] < len(TEXT) - 1  # fewer tokens than characters
        assert m["bpc"] == pytest.approx(m["loss"] * m["tokens"] / m["chars"] / 0.6931, rel=1e-3)


def test_checkpoint_not_matching_the_config_is_a_user_error(tmp_path, corpus, capsys):
    run = _train(tmp_path, corpus)
    cfg = json.loads((run / "config.json").read_text())
    cfg["model"]["encoder"]["hidden"] = 64
    (run / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert main(["sample", str(run), "--length", "5"]) == 2
    err = capsys.readouterr().err
    assert "does not fit the model" in err and "Traceback" not in err
