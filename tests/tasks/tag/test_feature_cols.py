"""Feature columns (``--feature-cols``): the tagger reads every column of its input other than
the word and the tag, each embedded and concatenated with the word features.

The data here carry the tag only in the middle column (the words are drawn independently of
it), so a tagger that learns them uses the feature column: with ``all`` it reaches accuracy
1, with ``none`` it stays near chance (1/3)."""

import io
import json
import random

import pytest
import torch

import rnnkit
from rnnkit.cli.main import main
from rnnkit.data import DataError
from rnnkit.data.conllu import feature_spec, read_columns, read_conllu, read_tagged
from rnnkit.tasks import lifecycle, registry
from rnnkit.tasks.tag.features import FeatureVocabs

POS_TAG = {"DT": "B-NP", "NN": "I-NP", "VB": "O"}  # the tag is the POS column's function
WORDS = [f"w{i}" for i in range(40)]
TRAIN = {"encoder": {"hidden": 16}, "embed": 16, "char_embed": 0}
FAST = ["--log-every", "1000", "--threads", "1"]


def write_columns(path, sentences: int, seed: int = 0, pos=None):
    """``word POS TAG`` rows: random words, random POS (``pos``: the POS values drawn), the
    tag given by the POS; returns ``path``."""
    r = random.Random(seed)
    pos = pos or sorted(POS_TAG)
    with open(path, "w") as f:
        for _ in range(sentences):
            for _ in range(r.randint(3, 8)):
                p = r.choice(pos)
                f.write(f"{r.choice(WORDS)} {p} {POS_TAG.get(p, 'O')}\n")
            f.write("\n")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cols")
    return write_columns(d / "train.txt", 200, 0), write_columns(d / "dev.txt", 40, 1)


def _fit(tmp_path, train, dev, cols):
    return rnnkit.fit("tag", data={"data": str(train), "dev": str(dev), "feature_cols": cols},
                      model=TRAIN, train={"steps": 60, "lr": 0.02, "warmup_steps": 5,
                                          "log_every": 1000},
                      out=tmp_path / f"runs_{cols}", device="cpu")


@pytest.fixture(scope="module")
def feature_run(tmp_path_factory, data):
    """A run trained with --feature-cols all (the POS column), shared by the tests that only
    read it."""
    return _fit(tmp_path_factory.mktemp("all"), *data, "all")


def test_the_feature_column_is_learned_and_words_alone_cannot(tmp_path, data, feature_run):
    train, dev = data
    with_cols = rnnkit.load(feature_run)
    words_only = rnnkit.load(_fit(tmp_path, train, dev, "none"))
    assert with_cols.feature_columns == ["1"] and words_only.feature_columns == []
    assert with_cols.model.cfg.feature_vocab_sizes == [4]  # <unk>, DT, NN, VB
    assert (with_cols.run / "features.json").is_file()
    assert not (words_only.run / "features.json").exists()
    assert with_cols.evaluate(dev)["accuracy"] >= 0.98
    assert words_only.evaluate(dev)["accuracy"] <= 0.5
    report = with_cols.evaluate(dev)
    assert report["chunk"]["f1"] >= 0.98  # BIO tags: chunk F1 too


def test_unseen_feature_values_map_to_unknown(tmp_path, feature_run):
    m = rnnkit.load(feature_run)
    vocab = m.features.vocabs[0]
    assert m.features.encode_rows([["NN"], ["JJ"], ["VB"]]) == [
        [vocab.stoi["NN"]], [0], [vocab.stoi["VB"]]]
    odd = write_columns(tmp_path / "odd.txt", 5, 3, pos=["JJ", "RB"])  # tags all O
    (s, *_) = m.read(odd)
    assert m.features.encode(s) == [[0]] * len(s.words)
    assert m.evaluate(odd)["n"] == sum(len(x.words) for x in m.read(odd))
    with pytest.raises(ValueError, match="expected 1 feature values"):
        m.tag([["w1", "w2"]], features=[[["DT", "x"], ["NN", "y"]]])


def test_feature_vocabs_round_trip(tmp_path):
    p = write_columns(tmp_path / "a.txt", 6)
    sents = read_columns(p, features="all")
    fv = FeatureVocabs.build(sents)
    fv.save(tmp_path / "features.json")
    back = FeatureVocabs.load(tmp_path / "features.json")
    assert back.columns == (1,) and back.vocabs[0].itos == fv.vocabs[0].itos
    assert back.encode(sents[0]) == fv.encode(sents[0])
    assert FeatureVocabs.build(read_columns(p)) is None  # no feature columns read
    (tmp_path / "bad.json").write_text('{"columns": [1, 2], "vocabs": []}')
    with pytest.raises(DataError, match="bad.json: columns and vocabularies do not match"):
        FeatureVocabs.load(tmp_path / "bad.json")


def test_reading_feature_columns(tmp_path):
    p = tmp_path / "ner.txt"
    p.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
    (a, b) = read_columns(p, features="all")
    assert a.feature_cols == (1, 2) and a.features == (("NNP", "VBZ"), ("B-NP", "B-VP"))
    assert a.tags == ["B-ORG", "O"] and b.features == (("NNP",), ("B-NP",))
    assert read_columns(p, features="2")[0].features == (("B-NP", "B-VP"),)
    assert read_columns(p, features="-2,1")[0].feature_cols == (2, 1)
    assert read_columns(p, column=2, features="all")[0].feature_cols == (1, 3)
    assert read_columns(p, features="none")[0].features == ()
    assert read_columns(p, column=None, features="all")[0].feature_cols == (1, 2, 3)
    with pytest.raises(DataError, match=r"ner.txt:1: no feature column 4: lines have 4"):
        read_columns(p, features="1,4")
    with pytest.raises(ValueError, match="feature column 3 is the tag column"):
        read_columns(p, features="1,3")
    with pytest.raises(ValueError, match="feature column 0 is the word column"):
        read_columns(p, features="0")
    with pytest.raises(ValueError, match="no column names.*not 'pos'"):
        read_columns(p, features="pos")
    p.write_text("EU NNP B-ORG\nrejects VBZ\n")
    with pytest.raises(DataError, match=r"ner.txt:2: found 2 fields, but earlier lines have 3"):
        read_columns(p, features="all")
    with pytest.raises(ValueError, match="one sentence per line has no feature columns"):
        read_tagged(p, "lines", features="all")


def test_conllu_feature_columns(tmp_path):
    p = tmp_path / "t.conllu"
    p.write_text("1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n")
    assert read_conllu(p, "upos", features="all")[0].feature_cols == ()  # POS is the tag
    (s,) = read_conllu(p, "deprel", features="all")
    assert s.feature_cols == (3, 4) and s.features == (("DET", "NOUN"), ("DT", "NN"))
    assert read_conllu(p, "upos", features="xpos,lemma")[0].feature_cols == (4, 2)
    with pytest.raises(ValueError, match="feature column 3 is the tag column"):
        read_conllu(p, "upos", features="upos")
    with pytest.raises(ValueError, match="unknown CoNLL-U feature column 'pos'"):
        read_conllu(p, "upos", features="pos")


def test_feature_cols_option(tmp_path, capsys, data):
    assert feature_spec("all") == "all" and feature_spec("None") is None
    assert feature_spec("1, 2") == ("1", "2") and feature_spec(()) is None
    with pytest.raises(ValueError, match="all, none or a comma list"):
        feature_spec("1,,2")
    with pytest.raises(SystemExit):
        main(["train", "tag", "--help"])
    out = capsys.readouterr().out
    assert "--feature-cols" in out and "--feature-embed" in out
    train, _ = data
    assert main(["train", "tag", "--data", str(train), "--feature-cols", "1,,2", "--out",
                 str(tmp_path / "runs"), "--steps", "1", *FAST]) == 2
    assert "feature columns must be all, none or a comma list" in capsys.readouterr().err
    assert main(["train", "tag", "--data", str(train), "--feature-cols", "5", "--out",
                 str(tmp_path / "runs"), "--steps", "1", *FAST]) == 2
    assert "train.txt:1: no feature column 5: lines have 3 fields" in capsys.readouterr().err


def test_a_saved_run_without_feature_cols_read_words_only():
    spec = registry.get("tag")
    saved = {"task": "tag", "data": {"data": "x.txt"}, "model": {}, "train": {}}
    assert lifecycle.settings_from_saved(spec, saved).data.feature_cols == "none"
    assert spec.default_config().data.feature_cols == "all"  # a new run reads every column


def test_train_eval_predict_resume_through_the_cli(tmp_path, capsys, monkeypatch, data):
    train, dev = data
    out = tmp_path / "runs"
    assert main(["train", "tag", "--data", str(train), "--dev", str(dev), "--out", str(out),
                 "--steps", "60", "--hidden", "16", "--embed", "16", "--char-embed", "0",
                 "--feature-embed", "8", "--lr", "0.02", "--warmup-steps", "5", *FAST]) == 0
    (run,) = out.iterdir()
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["data"]["feature_cols"] == "all" and cfg["model"]["feature_vocab_sizes"] == [4]
    capsys.readouterr()

    assert main(["eval", str(run), "--data", str(dev), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] >= 0.98 and report["chunk"]["f1"] >= 0.98
    assert main(["eval", str(run), "--data", str(dev)]) == 0
    assert "chunk" in capsys.readouterr().out.lower()

    new = tmp_path / "new.txt"  # no tag column: word and POS
    new.write_text("w3 DT\nw3 NN\nw3 VB\n\nw7 VB\nw9 DT\n")
    assert main(["predict", str(run), str(new), "--format", "columns", "--words"]) == 0
    assert capsys.readouterr().out == "w3/B-NP w3/I-NP w3/O\nw7/O w9/B-NP\n"
    m = rnnkit.load(run)
    assert m.tag([["w3", "w3"]], features=[[["VB"], ["DT"]]]) == [["O", "B-NP"]]
    with pytest.raises(ValueError, match=r"reads the feature columns \['1'\]"):
        m.tag([["w3", "w3"]])

    monkeypatch.setattr("sys.stdin", io.StringIO("w3 w3 w3\n"))
    assert main(["predict", str(run)]) == 2
    assert "reads the feature columns 1 next to the words" in capsys.readouterr().err

    before = (run / "features.json").read_text()
    assert main(["train", "tag", "--resume", str(run), "--steps", "70"]) == 0
    assert (run / "features.json").read_text() == before
    assert json.loads((run / "summary.json").read_text())["step"] == 70
    assert rnnkit.load(run).evaluate(dev)["accuracy"] >= 0.98


def test_export_graph_reads_the_feature_columns(tmp_path, data, feature_run):
    from rnnkit.export import export_run
    from rnnkit.export.text import TagGraph
    from rnnkit.tasks.tag.model import make_batch

    dev = data[1]
    m = rnnkit.load(feature_run, device="cpu")
    sents = m.read(dev)[:3]
    enc = [m.encoders.encode(s.words) for s in sents]
    feats = [m.features.encode(s) for s in sents]
    b = make_batch([e[0] for e in enc], None, None, feats)
    with torch.no_grad():
        want = m.model(b)
        got = TagGraph(m.model)(b.words, b.lengths, b.features[..., 0])
    mask = torch.arange(b.words.shape[1]) < b.lengths.unsqueeze(1)
    torch.testing.assert_close(got[mask], want[mask])
    manifest = export_run(m, tmp_path / "out", format="torch")  # checked against the model
    inputs = [p["name"] for p in manifest["graphs"]["forward"]["inputs"]]
    assert inputs == ["tokens", "lengths", "feature_1"]
    assert manifest["preprocessing"]["features"]["columns"] == ["1"]
    assert (tmp_path / "out" / "features.json").is_file()


def test_onnx_graph_equals_the_run_with_feature_columns(tmp_path, data, feature_run):
    pytest.importorskip("onnx", reason="the export extra is not installed")
    ort = pytest.importorskip("onnxruntime", reason="the export extra is not installed")
    from rnnkit.export import export_run
    from rnnkit.tasks.tag.model import make_batch

    dev = data[1]
    m = rnnkit.load(feature_run, device="cpu")
    export_run(m, tmp_path / "out")  # checks the graph against the model on sample inputs
    sess = ort.InferenceSession(str(tmp_path / "out" / "forward.onnx"),
                                providers=["CPUExecutionProvider"])
    sents = m.read(dev)[:3]
    enc = [m.encoders.encode(s.words) for s in sents]
    b = make_batch([e[0] for e in enc], None, None, [m.features.encode(s) for s in sents])
    (got,) = sess.run(None, {"tokens": b.words.numpy(), "lengths": b.lengths.numpy(),
                             "feature_1": b.features[..., 0].numpy()})
    with torch.no_grad():
        want = m.model(b)
    mask = torch.arange(b.words.shape[1]) < b.lengths.unsqueeze(1)
    torch.testing.assert_close(torch.from_numpy(got)[mask], want[mask], atol=1e-5, rtol=1e-5)


def test_served_tagger_takes_each_words_feature_values(feature_run):
    from tests.serve.conftest import need_serve, start

    httpx = need_serve()
    server = start(feature_run)
    try:
        with httpx.Client(timeout=30) as c:
            info = c.get(server.url + "/v1/info").json()
            assert info["feature_columns"] == ["1"]
            body = {"sentences": [["w3", "w3", "w3"], ["w9"]],
                    "features": [[["DT"], ["NN"], ["VB"]], [["VB"]]]}
            got = c.post(server.url + "/v1/predict", json=body).json()
            assert [p["tags"] for p in got["predictions"]] == [["B-NP", "I-NP", "O"], ["O"]]
            missing = c.post(server.url + "/v1/predict", json={"texts": ["w3 w3"]})
            assert missing.status_code == 400
            assert "reads the feature columns ['1']" in missing.text
    finally:
        server.stop()
