"""A view inside the hidden state: one self-contained HTML page for a trained language model.

The page shows a text coloured by one unit's activation (the hidden state h, the LSTM's cell
state c, or a gate), a unit picker, the units ranked by their correlation with simple text
features (:mod:`rnnkit.diagnostics.textfeatures`), and under the cursor the model's top-5
predictions of the next token. Everything is computed here, in Python, and embedded:

* activations as int8 (``round(127 * v / scale)``, one scale per unit: 1 for values inside
  [-1, 1], the unit's largest magnitude otherwise, e.g. the cell state), base64-encoded, one
  (H, N) block per signal,
* correlations rounded to hundredths, top-5 probabilities in thousandths,

inside a JSON ``<script>`` block; inline CSS and JavaScript, no server, no external assets.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path

import torch
from torch import Tensor

from ..data.vocab import CharVocab, Vocab
from .capture import capture_activations
from .gates import GATE_LABELS
from .textfeatures import correlations, text_features
from .viewer_page import PAGE

log = logging.getLogger(__name__)

SIGNAL_LABELS = {"h": "hidden state h", "c": "cell state c", "i": "input gate i",
                 "f": "forget gate f", "g": "candidate g", "o": "output gate o",
                 "r": "reset gate r", "z": "update gate z", "n": "candidate n"}


def _tokens(vocab: Vocab, text: str, ids: list[int]) -> list[str]:
    """The piece of text each token stands for (characters for a character vocabulary)."""
    if isinstance(vocab, CharVocab) and len(ids) == len(text):
        return list(text)
    return [vocab.decode([i]) for i in ids]


def _token_features(pieces: list[str]) -> tuple[list[str], Tensor]:
    """Text features at each token's last character: names and an (N, F) tensor."""
    joined = "".join(pieces)
    feats = text_features(joined)
    ends, pos = [], -1
    for p in pieces:
        pos += len(p)
        ends.append(max(pos, 0))
    names = list(feats)
    if not joined:
        return names, torch.zeros(len(pieces), len(names))
    table = torch.tensor([feats[n] for n in names]).t()  # (chars, F)
    return names, table[torch.tensor(ends)]


def _quantize(acts: Tensor) -> tuple[str, list[float]]:
    scale = acts.abs().amax(0).clamp_min(1.0)  # (H,)
    q = (acts / scale * 127).round().clamp(-127, 127).to(torch.int8)  # (N, H)
    data = base64.b64encode(q.t().contiguous().numpy().tobytes()).decode("ascii")
    return data, [round(float(s), 4) for s in scale]


def viewer_data(model, vocab: Vocab, text: str, *, max_chars: int = 3000,
                layer: int | None = None, top_k: int = 5, meta: str = "") -> dict:
    """Everything the page shows, as a JSON-able dict.

    ``model`` is a :class:`~rnnkit.tasks.lm.LanguageModel`; ``layer`` the recurrent layer
    (default: the last); ``text`` is cut to its first ``max_chars`` characters.
    """
    if max_chars < 2:
        raise ValueError(f"max_chars must be >= 2, got {max_chars}")
    text = text[:max_chars]
    ids = vocab.encode(text)
    if len(ids) < 2:
        raise ValueError(f"the text needs at least 2 tokens, found {len(ids)}")
    enc = model.encoder
    L = enc.num_layers
    layer = L - 1 if layer is None else layer
    if not 0 <= layer < L:
        raise ValueError(f"layer must be in [0, {L - 1}], got {layer}")
    k = layer * enc.num_directions
    tokens = torch.tensor([ids])  # (1, N)
    acts, logits = capture_activations(model, lambda m: m(tokens)[0], layer=enc, cells=[k])
    probs = logits[0].float().softmax(-1)  # (N, V)
    top_p, top_i = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    pieces = _tokens(vocab, text, ids)
    names, feats = _token_features(pieces)
    signals, corr = [], {}
    for name, a in acts[k].items():
        a = a[:, 0].float()  # (N, H)
        data, scale = _quantize(a)
        signals.append({"name": name, "label": SIGNAL_LABELS.get(name, name), "data": data,
                        "scale": scale, "center": 0.5 if name in GATE_LABELS else 0.0})
        corr[name] = (correlations(a, feats) * 100).round().int().tolist()  # (F, H)
    used = sorted(set(top_i.flatten().tolist()))
    return {"n": len(ids), "hidden": enc.hidden_size, "layer": layer, "meta": meta,
            "tokens": pieces, "signals": signals, "features": names, "corr": corr,
            "top": {"ids": top_i.tolist(), "p": (top_p * 1000).round().int().tolist()},
            "vocab": {str(i): vocab.token(i) for i in used}}


def render_html(data: dict, title: str) -> str:
    """The page with ``data`` embedded (``</`` escaped so the JSON cannot close its script)."""
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("</", "<\\/")
    return PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", blob)


def write_viewer(run: str | Path, out: str | Path, text: str | None = None, *,
                 max_chars: int = 3000, layer: int | None = None,
                 checkpoint: str = "best") -> Path:
    """Write the viewer page for the language-model run folder ``run``; returns its path.

    Without ``text`` the page shows the start of the run's validation text."""
    from ..tasks import lifecycle
    from ..tasks.lm import TASK

    lm = lifecycle.load(TASK, run, checkpoint)
    model, vocab, cfg = lm.model, lm.vocab, lm.config
    if text is None:
        text = validation_text(cfg, max_chars)
    enc = cfg["model"]["encoder"]
    meta = (f"{Path(run).name}: {enc['layers']}x{enc['hidden']} {enc['cell']} language model, "
            f"{checkpoint} checkpoint; first {min(len(text), max_chars)} characters")
    data = viewer_data(model, vocab, text, max_chars=max_chars, layer=layer, meta=meta)
    page = render_html(data, f"rnnkit viewer: {Path(run).name}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    log.info("wrote %s (%d tokens, %d signals, %.1f MB)", out, data["n"], len(data["signals"]),
             len(page) / 1e6)
    return out


def validation_text(cfg: dict, max_chars: int | None = None) -> str:
    """The validation text of a language-model run, from its resolved config."""
    from ..tasks import lifecycle
    from ..tasks.lm import TASK, load_texts

    _, val, _ = load_texts(lifecycle.settings_from_saved(TASK, cfg).data)
    return val if max_chars is None else val[:max_chars]
