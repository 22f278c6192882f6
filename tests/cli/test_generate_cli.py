"""``rnnkit train generate`` and ``rnnkit sample RUN --condition ...`` end to end on tiny data."""

import json

import pytest

from rnnkit.cli.main import main

TINY = ["--hidden", "24", "--embed", "8", "--condition-dim", "8", "--threads", "1",
        "--log-every", "20", "--warmup-steps", "5"]


@pytest.fixture
def names(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "Alpha.txt").write_text("\n".join(["Abab", "Abba", "Abaab", "Abbb", "Aab"] * 4))
    (folder / "Omega.txt").write_text("\n".join(["Zyzy", "Zyyz", "Zzy", "Zyzzy", "Zyz"]) + "\n")
    (folder / "SOURCE.md").write_text("# about the data\n")
    return folder


def _run(out):
    (run,) = out.glob("generate-*")
    return run


def test_names_train_sample_resume(tmp_path, names, capsys):
    out = tmp_path / "runs"
    assert main(["train", "generate", "--data", str(names), "--out", str(out), "--steps", "60",
                 "--lr", "0.02", "--batch-size", "4", "--dev-fraction", "0.2", *TINY]) == 0
    run = _run(out)
    for f in ["config.json", "vocab.json", "labels.json", "report.json", "samples.txt",
              "log.csv", "loss.png", "summary.json", "checkpoints/best.safetensors"]:
        assert (run / f).is_file(), f
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["sizes"]["unique_pairs"] == 10 and cfg["sizes"]["dev"] == 2
    assert cfg["model"]["condition"] == "class" and cfg["model"]["num_classes"] == 2
    printed = capsys.readouterr().out
    assert "validation perplexity per token" in printed and "Omega" in printed

    assert main(["sample", str(run), "--condition", "Omega", "--num", "3", "--seed", "0"]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 3 and all(ln.startswith("Omega\tZ") for ln in lines)
    assert main(["sample", str(run), "--condition", "Omega", "--num", "3", "--seed", "0"]) == 0
    assert capsys.readouterr().out.strip().split("\n") == lines  # seeded
    assert main(["sample", str(run), "--seed", "1", "--num", "2"]) == 0  # every label
    labels = [ln.split("\t")[0] for ln in capsys.readouterr().out.strip().split("\n")]
    assert labels == ["Alpha", "Alpha", "Omega", "Omega"]
    assert main(["sample", str(run), "--condition", "Alpha", "--beam", "3", "--num", "2"]) == 0
    beam = capsys.readouterr().out.strip().split("\n")
    assert len(beam) == 2 and all(ln.startswith("Alpha\tA") and ln.count("\t") == 2
                                  for ln in beam)

    assert main(["sample", str(run), "--condition", "Klingon"]) == 2
    err = capsys.readouterr().err
    assert "unknown condition 'Klingon'; known labels: Alpha, Omega" in err
    assert "Traceback" not in err
    assert main(["sample", str(run), "--prime", "Ab"]) == 2
    assert "--prime is for language models" in capsys.readouterr().err

    assert main(["train", "generate", "--resume", str(run)]) == 0  # a finished run: re-reports
    assert json.loads((run / "summary.json").read_text())["step"] == 60


def test_digits_train_and_caption(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["train", "generate", "--data", "digits", "--digits-train", "200",
                 "--digits-dev", "20", "--digits-test", "30", "--max-digits", "3",
                 "--cnn-channels", "4", "--steps", "15", "--out", str(out), *TINY]) == 0
    run = _run(out)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["kind"] == "digits" and cfg["model"]["condition"] == "image"
    assert (cfg["model"]["image_height"], cfg["model"]["image_width"]) == (8, 24)
    report = json.loads((run / "report.json").read_text())
    assert report["test"]["n"] == 30 and 0 <= report["test"]["exact_match"] <= 1
    assert report["test_beam5"]["decoding"] == "beam 5"
    assert "held-out test composites" in capsys.readouterr().out

    assert main(["sample", str(run), "--condition", "3,1,4", "--seed", "2"]) == 0
    text = capsys.readouterr().out
    assert "3,1,4\tcaption: " in text and "3,1,4\ttruth:   three one four" in text
    assert len(text.strip().split("\n")) == 8 + 2  # the picture, caption, truth
    assert main(["sample", str(run), "--condition", "test:0", "--beam", "2", "--num", "2"]) == 0
    text = capsys.readouterr().out
    assert text.count("test:0\tcaption: ") == 2 and "(score " in text

    for bad, msg in [("test:30", "test composite 30 does not exist: there are 30"),
                     ("1,2,3,4", "at most 3 digits"), ("3,x", "single digits")]:
        assert main(["sample", str(run), "--condition", bad]) == 2
        assert msg in capsys.readouterr().err


def test_bad_inputs(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "generate", "--data", str(empty), "--steps", "1",
                 "--out", str(tmp_path / "r")]) == 2
    assert "folder holds no files" in capsys.readouterr().err
    assert main(["train", "generate", "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    assert "give the training data" in capsys.readouterr().err
    assert main(["train", "generate", "--data", str(tmp_path / "nope"), "--steps", "1",
                 "--out", str(tmp_path / "r")]) == 2
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_condition_on_a_language_model_run_is_an_error(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("abc abd abe " * 200)
    assert main(["train", "lm", "--data", str(corpus), "--out", str(tmp_path / "lm"),
                 "--steps", "2", "--hidden", "8", "--embed", "4", "--batch-size", "2",
                 "--chunk-len", "8", "--sample-length", "0", "--threads", "1"]) == 0
    (run,) = (tmp_path / "lm").iterdir()
    assert main(["sample", str(run), "--condition", "x"]) == 2
    assert "--condition and --beam are for generator runs" in capsys.readouterr().err
    assert main(["sample", str(run), "--length", "5", "--seed", "0"]) == 0


def test_label_without_validation_texts_reports_cleanly(tmp_path, capsys):
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "Russian.txt").write_text("Ivan\nOleg\nPyotr\nBoris\n")
    (folder / "Single.txt").write_text("Solo\n")  # one text: all of it stays in training
    out = tmp_path / "runs"
    assert main(["train", "generate", "--data", str(folder), "--out", str(out), "--steps", "5",
                 "--batch-size", "2", *TINY]) == 0
    printed = capsys.readouterr().out
    single = next(ln for ln in printed.splitlines() if ln.startswith("Single"))
    assert single.split()[1] == "-" and single.split()[2] == "0"
    assert main(["eval", str(_run(out)), "--data", str(folder)]) == 2
    assert "report.json" in capsys.readouterr().err
