"""``rnnkit train classify|tag``, ``predict`` and ``eval`` end to end on tiny data."""

import io
import json
import random

import pytest

from rnnkit.cli.main import main

POS, NEG = ["good", "great", "lovely"], ["bad", "awful", "dull"]
FILLER = ["the", "movie", "was", "a", "plot", "very", "and", "it"]


@pytest.fixture
def csv_data(tmp_path):
    r = random.Random(0)
    rows = ["id\ttext\tlabel"]
    for i in range(160):
        pos = i % 2 == 0
        words = [r.choice(FILLER) for _ in range(r.randint(2, 7))]
        words.insert(r.randint(0, len(words)), r.choice(POS if pos else NEG))
        rows.append(f"{i}\t{' '.join(words)}\t{'pos' if pos else 'neg'}")
    p = tmp_path / "reviews.tsv"
    p.write_text("\n".join(rows) + "\n")
    return p


LEX = {"DET": ["the", "a"], "NOUN": ["dog", "cat", "film"], "VERB": ["saw", "likes"],
       "ADJ": ["big", "red"]}
PATTERNS = [["DET", "NOUN", "VERB", "DET", "NOUN"], ["DET", "ADJ", "NOUN", "VERB"],
            ["NOUN", "VERB", "ADJ", "NOUN"]]


def _conllu(path, n, seed):
    r = random.Random(seed)
    with open(path, "w") as f:
        for k in range(n):
            words = [(r.choice(LEX[t]), t) for t in r.choice(PATTERNS)]
            f.write(f"# sent_id = {k}\n")
            for i, (w, t) in enumerate(words, 1):
                f.write(f"{i}\t{w}\t{w}\t{t}\t_\t_\t0\tdep\t_\t_\n")
            f.write("\n")
    return path


def _run(tmp_path, kind):
    (run,) = (tmp_path / "runs").glob(f"{kind}-*")
    return run


def test_classify_train_predict_eval(tmp_path, csv_data, capsys, monkeypatch):
    assert main(["train", "classify", "--data", str(csv_data), "--out", str(tmp_path / "runs"),
                 "--steps", "40", "--hidden", "16", "--embed", "16", "--lr", "0.02",
                 "--warmup-steps", "5", "--pooling", "mean", "--log-every", "20"]) == 0
    run = _run(tmp_path, "classify")
    for f in ["config.json", "vocab.json", "labels.json", "log.csv", "loss.png",
              "summary.json", "dev_report.json", "confusion.png",
              "checkpoints/best.safetensors", "checkpoints/last.safetensors"]:
        assert (run / f).is_file(), f
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "classify" and cfg["labels"] == ["neg", "pos"]
    assert cfg["model"]["pooling"] == "mean" and cfg["model"]["encoder"]["bidirectional"]
    out = capsys.readouterr().out
    assert "validation (best checkpoint)" in out and "rows: gold" in out

    monkeypatch.setattr("sys.stdin", io.StringIO("a lovely film\n\nawful plot\n"))
    assert main(["predict", str(run)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[0].startswith("pos\t") and lines[1] == "" and lines[2].startswith("neg\t")
    assert 0.5 < float(lines[0].split("\t")[1]) <= 1.0
    assert main(["predict", str(run), str(csv_data)]) == 0
    assert len(capsys.readouterr().out.strip().split("\n")) == 160

    assert main(["eval", str(run), "--data", str(csv_data), "--json",
                 "--plot", str(tmp_path / "cm.png")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 160 and report["accuracy"] > 0.9 and (tmp_path / "cm.png").is_file()
    assert sum(map(sum, report["confusion"])) == 160

    # A gold label training never saw is scored as an error, and said in one line.
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\ngood film\tpos\nso so\tmeh\n")
    assert main(["eval", str(run), "--data", str(bad), "--json"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["unseen"] == {"labels": ["meh"], "items": 1} and report["n"] == 2
    assert report["accuracy"] <= 0.5 and report["per_class"]["meh"]["recall"] == 0.0
    assert "1 gold label(s) not seen in training (meh) on 1 items: scored as errors" in out.err


def test_classify_with_char_features(tmp_path, csv_data, capsys, monkeypatch):
    from rnnkit import load as load_classifier

    base = ["train", "classify", "--data", str(csv_data), "--out", str(tmp_path / "runs"),
            "--steps", "40", "--hidden", "16", "--embed", "16", "--lr", "0.02",
            "--warmup-steps", "5", "--log-every", "20", "--pooling", "mean", "--char-embed", "8",
            "--char-hidden", "8"]
    assert main(base + ["--tokenizer", "bpe"]) == 2
    assert "char features (--char-embed) need word tokens" in capsys.readouterr().err
    assert main(base + ["--tokenizer", "whitespace", "--lowercase"]) == 0
    run = _run(tmp_path, "classify")
    assert (run / "chars.json").is_file()
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["char_embed"] == 8 and cfg["model"]["char_vocab_size"] > 10
    capsys.readouterr()

    clf = load_classifier(run)
    assert clf.chars is not None and clf.model.cfg.char_hidden == 8
    # "dove" and "gulp" were never seen, but their letters were: told apart by spelling
    # (the recurrent model's part: the default n-gram branch has no features for unseen words)
    p = clf.component_proba(["the movie was dove", "the movie was gulp",
                             "the movie was dove"])["rnn"]
    assert clf.encode(["dove gulp"]) == [[0, 0]]
    assert (p[0] - p[1]).abs().max() > 1e-4 and (p[0] - p[2]).abs().max() < 1e-6

    monkeypatch.setattr("sys.stdin", io.StringIO("a lovely film\n\nawful plot\n"))
    assert main(["predict", str(run)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[0].startswith("pos\t") and lines[1] == "" and lines[2].startswith("neg\t")
    assert main(["eval", str(run), "--data", str(csv_data), "--json",
                 "--plot", str(tmp_path / "cm.png")]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.9

    cfg["train"]["steps"] = 45
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "classify", "--resume", str(run)]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 45


def test_classify_resume_and_folder_input(tmp_path, capsys):
    d = tmp_path / "polarity"
    d.mkdir()
    (d / "rt.pos").write_bytes("a lovely caf\xe9 film\ngreat plot\n".encode("latin-1") * 20)
    (d / "rt.neg").write_bytes(b"a dull film\nawful plot\n" * 20)
    args = ["train", "classify", "--data", str(d), "--out", str(tmp_path / "runs"),
            "--steps", "20", "--hidden", "8", "--embed", "8", "--log-every", "10"]
    assert main(args) == 2
    assert "rt.pos:1: byte 0xe9" in capsys.readouterr().err
    assert main(args + ["--encoding", "latin-1", "--tokenizer", "whitespace"]) == 0
    run = _run(tmp_path, "classify")
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["steps"] = 30
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "classify", "--resume", str(run)]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 30


def test_tag_train_predict_eval(tmp_path, capsys, monkeypatch):
    train = _conllu(tmp_path / "train.conllu", 100, 0)
    dev = _conllu(tmp_path / "dev.conllu", 20, 1)
    assert main(["train", "tag", "--data", str(train), "--dev", str(dev), "--out",
                 str(tmp_path / "runs"), "--steps", "40", "--hidden", "16", "--embed", "16",
                 "--char-embed", "8", "--char-hidden", "8", "--crf", "--lr", "0.02",
                 "--warmup-steps", "5", "--log-every", "20"]) == 0
    run = _run(tmp_path, "tag")
    assert (run / "chars.json").is_file() and (run / "confusion.png").is_file()
    assert json.loads((run / "dev_report.json").read_text())["accuracy"] == 1.0
    capsys.readouterr()

    monkeypatch.setattr("sys.stdin", io.StringIO("the big dog saw a cat\n"))
    assert main(["predict", str(run), "--words"]) == 0
    assert capsys.readouterr().out == "the/DET big/ADJ dog/NOUN saw/VERB a/DET cat/NOUN\n"
    assert main(["predict", str(run), str(dev)]) == 0
    assert len(capsys.readouterr().out.strip().split("\n")) == 20

    assert main(["eval", str(run), "--data", str(dev)]) == 0
    out = capsys.readouterr().out
    assert "accuracy 1.0000" in out and "NOUN" in out

    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tthe\tthe\tDET\t_\t_\t0\tdep\t_\t_\n2\tdog\tdog\tPROPN\t_\t_\t0\tdep\t_\t_\n")
    assert main(["eval", str(run), "--data", str(bad), "--json"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["unseen"] == {"labels": ["PROPN"], "items": 1} and report["n"] == 2
    assert report["accuracy"] <= 0.5
    assert "not seen in training (PROPN) on 1 items: scored as errors" in out.err


def test_predict_refuses_a_language_model_run(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"task": "lm"}))
    assert main(["predict", str(tmp_path)]) == 2
    assert "predict works on classify, tag, series-classify, series-tag and forecast runs" in (
        capsys.readouterr().err)


def test_classify_with_lm_pretraining(tmp_path, csv_data, capsys):
    base = ["train", "classify", "--data", str(csv_data), "--out", str(tmp_path / "runs"),
            "--steps", "20", "--hidden", "8", "--embed", "8", "--lr", "0.02",
            "--warmup-steps", "5", "--log-every", "10", "--lm-pretrain-lr", "0.02"]
    assert main(base + ["--lm-pretrain-epochs", "-1"]) == 2
    assert "lm_pretrain_epochs must be >= 0, got -1" in capsys.readouterr().err
    assert main(base + ["--lm-pretrain-epochs", "2", "--layers", "2"]) == 2
    assert "one-layer bidirectional" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())

    assert main(base + ["--lm-pretrain-epochs", "6"]) == 0
    err = capsys.readouterr().err
    assert "LM pretraining | step 30 | epoch 6.00" in err
    assert "LM pretraining final validation @ step 30" in err
    run = _run(tmp_path, "classify")
    pre = json.loads((run / "lm_pretrain" / "summary.json").read_text())
    assert pre["step"] == 30 and pre["stopped"] == "budget"  # 144 texts: 5 batches of 32
    # 14 words + other + boundary: log(16) = 2.77 untrained; the filler words are random
    assert pre["final_loss"] < 2.55  # 2.51 measured
    assert json.loads((run / "summary.json").read_text())["step"] == 20
    assert json.loads((run / "config.json").read_text())["model"]["lm_pretrain_epochs"] == 6

    # a resumed run continues the classifier; its pretraining is not run again
    pre_log = (run / "lm_pretrain" / "log.csv").read_text()
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["steps"] = 25
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "classify", "--resume", str(run)]) == 0
    assert "LM pretraining" not in capsys.readouterr().err
    assert json.loads((run / "summary.json").read_text())["step"] == 25
    assert (run / "lm_pretrain" / "log.csv").read_text() == pre_log


def test_classify_with_ngram_branch(tmp_path, csv_data, capsys, monkeypatch):
    """With --ngram-weight 1 the classifier's probabilities are the n-gram model's, in the
    dev report, predict and eval; -1 chooses the weight on the validation data."""
    import torch

    from rnnkit import load as load_classifier
    from rnnkit.tasks.classify.branch import combine
    from rnnkit.tasks.classify.ngram import NgramModel

    base = ["train", "classify", "--data", str(csv_data), "--steps", "20", "--hidden", "8",
            "--embed", "8", "--lr", "0.02", "--warmup-steps", "5", "--log-every", "20"]
    assert main(base + ["--out", str(tmp_path / "bad"), "--ngram-weight", "2"]) == 2
    assert "ngram_weight must be in [0, 1]" in capsys.readouterr().err
    assert main(base + ["--out", str(tmp_path / "bad"), "--ngram-loss", "hinge"]) == 2
    assert "ngram loss must be one of" in capsys.readouterr().err

    assert main(base + ["--out", str(tmp_path / "runs"), "--ngram-weight", "1"]) == 0
    run = _run(tmp_path, "classify")
    assert (run / "ngram_model.safetensors").is_file() and (run / "ngram_vocab.json").is_file()
    out = capsys.readouterr().out
    assert "components: recurrent accuracy" in out and "n-gram weight 1" in out
    dev = json.loads((run / "dev_report.json").read_text())
    assert dev["components"]["ngram_weight"] == 1.0
    assert dev["accuracy"] == dev["components"]["ngram_accuracy"] == 1.0

    clf = load_classifier(run)
    ngram = NgramModel.load(run)
    texts = ["a lovely film", "awful plot", "the movie was great and dull"]
    p_ngram = ngram.proba(clf.encode(texts))
    assert torch.equal(clf.proba(texts), p_ngram)
    parts = clf.component_proba(texts)
    assert torch.equal(parts["ngram"], p_ngram) and not torch.equal(parts["rnn"], p_ngram)

    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(texts) + "\n"))
    assert main(["predict", str(run)]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    want = [f"{['neg', 'pos'][k]}\t{q:.4f}" for q, k in zip(*p_ngram.max(1))]
    assert lines == want and lines[0].startswith("pos") and lines[1].startswith("neg")
    assert main(["eval", str(run), "--data", str(csv_data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 160 and report["accuracy"] == 1.0

    # a run whose n-gram model is missing (interrupted) is refused with a clear message
    (run / "ngram_model.safetensors").rename(run / "moved")
    assert main(["predict", str(run)]) == 2
    assert "has an n-gram branch" in capsys.readouterr().err
    (run / "moved").rename(run / "ngram_model.safetensors")

    # -1: the weight chosen on validation; the report is the recorded combination
    assert main(base + ["--out", str(tmp_path / "auto"), "--ngram-weight", "-1",
                        "--ngram-n", "3"]) == 0
    (auto,) = (tmp_path / "auto").glob("classify-*")
    clf = load_classifier(auto)
    w = clf.ngram.mix_weight
    assert json.loads((auto / "dev_report.json").read_text())["components"]["ngram_weight"] == w
    assert clf.ngram.cfg.n == 3 and 0 <= w <= 1
    parts = clf.component_proba(texts)
    torch.testing.assert_close(clf.proba(texts), combine(parts["rnn"], parts["ngram"], w))
