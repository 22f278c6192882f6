"""The hidden-state viewer and `rnnkit diagnose`: data, HTML well-formedness, a headless
browser that renders the page, and the CLI end to end."""

import base64
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.data.vocab import CharVocab
from rnnkit.diagnostics.capture import capture_activations
from rnnkit.diagnostics.textfeatures import correlations, text_features
from rnnkit.diagnostics.viewer import render_html, viewer_data
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.lm import LanguageModel, LMConfig

TEXT = ('She said "stay (here) now" and LEFT.\n'
        "x = f(a[1], {b: 'c'})  # 42 items\n") * 40


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("viz")
    corpus = root / "tiny.txt"
    corpus.write_text(TEXT)
    made = {}
    for cell, steps in (("lstm", 30), ("rnn", 5)):
        out = root / f"runs-{cell}"
        assert main(["train", "lm", "--data", str(corpus), "--out", str(out), "--steps",
                     str(steps), "--cell", cell, "--hidden", "32", "--embed", "16",
                     "--batch-size", "4", "--chunk-len", "32", "--log-every", "10",
                     "--sample-length", "0", "--lr", "0.01"]) == 0
        (made[cell],) = out.iterdir()
    return root, corpus, made


def test_text_features_and_correlations():
    f = text_features('ab "c(d)"\nEf 7')
    assert f["inside quotes"] == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert f["inside brackets"][5:8] == [0, 1, 0] and f["bracket depth"][6] == 1
    assert f["position in line"][10:13] == [0, 1, 2] and f["after newline"][10] == 1
    assert f["to end of line"][0] == 9 and f["uppercase"][10] == 1 and f["digit"][-1] == 1
    assert f["whitespace"][2] == 1 and f["punctuation"][3] == 1
    assert text_features("don't")["inside quotes"] == [0] * 5  # an apostrophe is no quote
    feats = torch.tensor([f["inside quotes"], f["position in line"]]).t()
    acts = torch.stack([feats[:, 0] * 3 - 1, -feats[:, 1], torch.ones(14)], 1)
    r = correlations(acts, feats)
    assert r[0, 0].item() == pytest.approx(1.0) and r[1, 1].item() == pytest.approx(-1.0)
    assert r[:, 2].tolist() == [0.0, 0.0]  # a constant unit correlates with nothing


def test_viewer_data_embeds_the_models_activations_and_predictions():
    vocab = CharVocab.build(TEXT)
    torch.manual_seed(0)
    model = LanguageModel(LMConfig(vocab_size=len(vocab), embed=8,
                                   encoder=EncoderConfig(cell="lstm", hidden=12, layers=2)))
    data = viewer_data(model, vocab, TEXT, max_chars=100)
    assert data["n"] == 100 and "".join(data["tokens"]) == TEXT[:100] and data["layer"] == 1
    assert [s["name"] for s in data["signals"]] == ["h", "c", "i", "f", "g", "o"]
    tokens = torch.tensor([vocab.encode(TEXT[:100])])
    acts, logits = capture_activations(model, lambda m: m(tokens)[0], cells=[1])
    for s in data["signals"]:
        q = torch.frombuffer(bytearray(base64.b64decode(s["data"])), dtype=torch.int8)
        got = q.view(12, 100).t().float() / 127 * torch.tensor(s["scale"])
        want = acts[1][s["name"]][:, 0]
        assert (got - want).abs().max() <= 0.5 / 127 * max(s["scale"]) + 1e-6, s["name"]
    probs = logits[0].softmax(-1)
    top = probs.topk(5, -1)
    assert data["top"]["ids"] == top.indices.tolist()
    assert data["top"]["p"][7] == [round(p * 1000) for p in top.values[7].tolist()]
    assert len(data["corr"]["h"]) == len(data["features"]) and len(data["corr"]["h"][0]) == 12
    page = render_html(data | {"tokens": ["</script><b>"] + data["tokens"][1:]}, "t<x>")
    assert page.count("</script>") == 2 and "t&lt;x&gt;" in page  # embedded text cannot escape


class _Balance(HTMLParser):
    VOID = {"meta", "input", "br", "img", "hr", "link", "col", "area", "base", "wbr", "source"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.external = [], [], []

    def handle_starttag(self, tag, attrs):
        self.external += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "link":
            self.external.append("<link>")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def report(runs):
    root, corpus, made = runs
    out = root / "report.html"
    assert main(["viz", str(made["lstm"]), "--text", str(corpus), "-o", str(out)]) == 0
    return out


def test_viz_writes_one_well_formed_self_contained_page(report):
    page = report.read_text()
    p = _Balance()
    p.feed(page)
    p.close()
    assert p.errors == [] and p.stack == [] and p.external == []
    blob = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    data = json.loads(blob.group(1))
    assert data["n"] == len(TEXT) == 2840 and data["hidden"] == 32
    assert data["features"][0] == "inside quotes"
    assert len(data["top"]["ids"][0]) == 5 and len(page) < 3_000_000


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        pytest.skip("chromium is not installed and cannot be installed here (needs root and "
                    "apt-get): apt-get install -y chromium")
    cmd = ["apt-get", "install", "-y", "chromium"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600, env=env)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    exe = shutil.which("chromium")
    if r.returncode != 0 or not exe:
        pytest.skip(f"could not install chromium: {r.stderr.strip()[-300:]}")
    return exe


def _browser(tmp_path, *args):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    r = subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def _span_colours(dom: str) -> list[tuple[str, float]]:
    """(red|blue, alpha) of every text span, in order."""
    out = []
    for m in re.finditer(r'<span data-i="\d+"[^>]*style="background-color: ([^"]+);"', dom):
        nums = [float(v) for v in re.findall(r"[\d.]+", m.group(1))]
        out.append(("red" if nums[0] == 220 else "blue", nums[3] if len(nums) == 4 else 1.0))
    return out


def test_headless_browser_renders_the_chosen_unit(report, tmp_path):
    page = report.read_text()
    data = json.loads(re.search(r'id="data">(.*?)</script>', page, re.S).group(1))
    url = report.resolve().as_uri()
    dom0 = _browser(tmp_path, "--dump-dom", url + "#unit=0")
    dom5 = _browser(tmp_path, "--dump-dom", url + "#signal=c&unit=5&pos=3")
    assert 'data-unit="0"' in dom0 and 'data-signal="c"' in dom5 and 'data-unit="5"' in dom5
    c0, c5 = _span_colours(dom0), _span_colours(dom5)
    assert len(c0) == len(c5) == data["n"]
    assert sum(a != b for a, b in zip(c0, c5)) > data["n"] // 10
    # the page's colours are the embedded activations of unit 5 of the cell state
    sig = next(s for s in data["signals"] if s["name"] == "c")
    q = torch.frombuffer(bytearray(base64.b64decode(sig["data"])), dtype=torch.int8)
    q = q.view(data["hidden"], data["n"])[5].float() / 127
    for i in range(0, data["n"], 97):
        colour, alpha = c5[i]
        assert alpha == pytest.approx(abs(q[i].item()), abs=0.01)
        assert colour == ("red" if q[i] > 0 else "blue") or alpha < 0.01
    info = re.search(r'<div id="info">(.*?)</div>', dom5, re.S).group(1)
    assert "position 3" in info and "c[5]" in info and "top 5" in info
    assert info.count("\n") >= 7  # header lines and five predictions
    shot = tmp_path / "shot.png"
    _browser(tmp_path, f"--screenshot={shot}", "--window-size=1200,800", url + "#unit=5")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    import matplotlib.image

    img = matplotlib.image.imread(str(shot))
    assert img.shape[:2] == (800, 1200) and img[..., :3].std() > 0.05


def test_diagnose_cli_writes_plots_and_summary(runs, capsys):
    root, corpus, made = runs
    out = root / "diag"
    assert main(["diagnose", str(made["lstm"]), "--text", str(corpus), "-o", str(out),
                 "--batch", "4", "--steps", "60"]) == 0
    printed = capsys.readouterr().out
    assert "forget gate" in printed and "10 steps back" in printed
    for f in ("gradient_decay.png", "gates.png", "diagnostics.json"):
        assert (out / f).stat().st_size > 500, f
    s = json.loads((out / "diagnostics.json").read_text())
    assert s["windows"] == 4 and s["steps"] == 60 and 0 < s["grad_ratio"]["layer0"]["10"] < 1
    assert set(s["gates"]) == {"input", "forget", "output"}
    assert main(["diagnose", str(made["rnn"]), "--text", str(corpus), "--batch", "2"]) == 0
    rnn = json.loads((made["rnn"] / "diagnostics" / "diagnostics.json").read_text())
    assert rnn["gates"] is None and not (made["rnn"] / "diagnostics" / "gates.png").exists()
    assert main(["viz", str(root / "nowhere")]) == 2
