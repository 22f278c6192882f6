"""The files next to the graphs: the plain state dict (``model.safetensors``), the run's
vocabularies, labels and normaliser as they are, a standard Hugging Face ``tokenizer.json`` for
every BPE vocabulary, and the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from torch import nn

from .._version import __version__

WEIGHTS = "model.safetensors"
MANIFEST = "manifest.json"


def write_weights(model: nn.Module, path: Path) -> None:
    """The model's state dict with torch.nn's key names, each tensor its own contiguous copy
    (tied weights are written twice: safetensors refuses shared storage)."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt", "rnnkit": __version__})


def copy_run_files(run: Path, out: Path, names: list[str]) -> list[str]:
    for name in names:
        shutil.copyfile(Path(run) / name, out / name)
    return list(names)


def tokenizer_name(vocab_file: str) -> str:
    """``vocab.json`` -> ``tokenizer.json``; ``src_vocab.json`` -> ``src_tokenizer.json``."""
    stem = Path(vocab_file).stem
    return "tokenizer.json" if stem == "vocab" else stem.replace("vocab", "tokenizer") + ".json"


def write_tokenizers(out: Path, names: list[str]) -> dict[str, str]:
    """``tokenizer.json`` (the ``tokenizers`` library's own format) of each copied BPE
    vocabulary; returns {vocabulary file: tokenizer file}."""
    written = {}
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            d = json.loads((out / name).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(d, dict) and d.get("kind") == "bpe" and isinstance(d.get("tokenizer"), str):
            target = tokenizer_name(name)
            (out / target).write_text(d["tokenizer"], encoding="utf-8")
            written[name] = target
    return written


def write_manifest(out: Path, manifest: dict) -> Path:
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
