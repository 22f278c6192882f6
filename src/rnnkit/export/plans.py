"""What each task exports: its graphs, the run files that travel with them (vocabularies,
labels, normaliser), and the manifest's ``preprocessing`` (how raw inputs become the graphs'
tensors) and ``notes`` (what the graphs leave to the caller)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..tasks.seq2seq.task import vocab_files
from .check import ExportError
from .decoders import generate_graphs, seq2seq_graphs
from .graph import Graph
from .series import forecast_graphs, series_classify_graphs, series_tag_graphs
from .text import classify_graphs, lm_graphs, longlag_graphs, tag_graphs

# Run files copied next to the graphs when the run has them.
RUN_FILES = ("config.json", "vocab.json", "src_vocab.json", "tgt_vocab.json", "labels.json",
             "chars.json", "features.json", "normalizer.json", "ngram_model.safetensors",
             "ngram_vocab.json", "rocket.safetensors", "rocket.json")


@dataclass
class Plan:
    graphs: list[Graph]
    preprocessing: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _labels(loaded) -> list[str] | None:
    labels = getattr(loaded, "labels", None) or getattr(loaded, "tags", None)
    return None if labels is None else list(labels.itos)


def _lm(loaded) -> Plan:
    v = loaded.vocab
    pre = {"vocab": {"file": "vocab.json", "kind": v.kind, "size": len(v),
                     "unk_id": v.unk_id},
           "prompt": "read the prompt's tokens but the last with the forward graph (zero "
                     "state), then feed the last one to the step graph; an empty prompt is "
                     "the vocabulary's encoding of a newline"}
    return Plan(lm_graphs(loaded), pre, ["sampling (temperature, top-k, top-p) is the "
                                         "caller's: the step graph returns logits"])


def _classify(loaded) -> Plan:
    d, cfg = loaded.data, loaded.model.cfg
    pre = {"vocab": {"file": "vocab.json", "kind": loaded.vocab.kind, "tokenizer": d.tokenizer,
                     "lowercase": d.lowercase, "max_len": d.max_len},
           "labels": _labels(loaded)}
    if cfg.char_embed:
        pre["chars"] = {"file": "chars.json", "max_word_chars": d.max_word_chars,
                        "case": "kept (words are looked up lowercased when lowercase)"}
    notes = []
    if loaded.ngram is not None:
        w = loaded.ngram.mix_weight
        pre["ngram_branch"] = {"weight": w, "files": ["ngram_model.safetensors",
                                                      "ngram_vocab.json"]}
        notes.append(f"the graph gives the recurrent model's probabilities; rnnkit mixes them "
                     f"with its n-gram branch as (1 - {w:g}) * recurrent + {w:g} * n-gram, "
                     "which is not in the graph")
    return Plan(classify_graphs(loaded), pre, notes)


def _tag(loaded) -> Plan:
    d, cfg = loaded.data, loaded.model.cfg
    pre = {"vocab": {"file": "vocab.json", "kind": "tokens", "lowercase": d.lowercase},
           "labels": _labels(loaded)}
    if cfg.char_embed:
        pre["chars"] = {"file": "chars.json", "max_word_chars": d.max_word_chars,
                        "case": "kept"}
    if loaded.features is not None:
        pre["features"] = {"file": "features.json", "columns": loaded.feature_columns,
                           "inputs": [f"feature_{c}" for c in loaded.feature_columns],
                           "unknown_id": 0,
                           "doc": "each column's values to ids by its vocabulary in "
                                  "features.json (vocabs, in the order of columns)"}
    notes = []
    if cfg.crf:
        pre["crf"] = {"decode": "viterbi", "transitions": "crf.transitions",
                      "start": "crf.start", "end": "crf.end",
                      "weights": "model.safetensors"}
        notes.append("the CRF's Viterbi decoding is not in the graph: it takes the emission "
                     "scores with the transitions, start and end scores of model.safetensors")
    return Plan(tag_graphs(loaded), pre, notes)


def _normalizer(loaded) -> dict:
    n = loaded.norm
    return {"file": "normalizer.json", "mode": n.mode, "mean": n.mean, "std": n.std}


def _series(graphs: Callable) -> Callable:
    def plan(loaded) -> Plan:
        pre = {"normalizer": _normalizer(loaded), "features": loaded.config.get("features"),
               "labels": _labels(loaded)}
        notes = []
        rocket = getattr(loaded, "rocket", None)
        if rocket is not None:
            pre["rocket_branch"] = {"weight": rocket.mix_weight,
                                    "features": rocket.features.num_features,
                                    "files": ["rocket.safetensors", "rocket.json"],
                                    "doc": "in the graph: probs is rnnkit's mixture"}
        if loaded.norm.mode == "series":
            notes.append("normalise each series by its own mean and deviation per feature "
                         "(deviation 1 where it does not vary)")
        return Plan(graphs(loaded), pre, notes)

    return plan


def _forecast(loaded) -> Plan:
    cfg = loaded.model.cfg
    pre = {"normalizer": _normalizer(loaded), "transform": loaded.data.transform,
           "targets": loaded.config.get("targets"), "covariates": loaded.config.get(
               "covariates"), "context": cfg.context, "horizon": cfg.horizon,
           "strategy": cfg.strategy, "output": cfg.output, "levels": loaded.model.levels}
    notes = ["forecasts beyond one call (the horizon, or one step autoregressive) feed the "
             "point forecast back into the window, on the caller's side",
             "outputs are in normalised units: multiply by std and add mean (then exp for "
             "transform log)"]
    return Plan(forecast_graphs(loaded), pre, notes)


def _seq2seq(loaded) -> Plan:
    cfg = loaded.model.cfg
    src_file, tgt_file = vocab_files(loaded.data.shared_vocab)
    pre = {"src_vocab": {"file": src_file, "tokenizer": loaded.data.tokenizer,
                         "lowercase": loaded.data.lowercase},
           "tgt_vocab": {"file": tgt_file},
           "bos_id": cfg.bos_id, "eos_id": cfg.eos_id, "pad_id": cfg.pad_id,
           "max_len": "2 * source length + 10 tokens, then <eos>"}
    notes = ["the teacher-forced whole-sequence graph is not exported: its decoder is one "
             "step per target token; run the encoder graph, then decoder_step per token",
             "beam search is the caller's: reorder the state rows (batch axis 1) with the "
             "hypotheses"]
    return Plan(seq2seq_graphs(loaded), pre, notes)


def _generate(loaded) -> Plan:
    cfg = loaded.model.cfg
    pre = {"vocab": {"file": "vocab.json", "kind": loaded.vocab.kind},
           "condition": cfg.condition, "labels": _labels(loaded),
           "end_id": loaded.end_id, "max_len": loaded.max_len}
    if cfg.condition == "image":
        pre["image"] = [1, cfg.image_height, cfg.image_width]
    notes = ["the first token is the end token (it also starts every sequence); stop at the "
             "end token or after max_len tokens"]
    return Plan(generate_graphs(loaded), pre, notes)


def _longlag(loaded) -> Plan:
    return Plan(longlag_graphs(loaded), {"problem": loaded.model.kind,
                                         "T": loaded.data.T})


PLANS: dict[str, Callable] = {
    "lm": _lm, "classify": _classify, "tag": _tag,
    "series-classify": _series(series_classify_graphs), "series-tag": _series(series_tag_graphs),
    "forecast": _forecast, "seq2seq": _seq2seq, "generate": _generate, "longlag": _longlag,
}


def plan_for(loaded) -> Plan:
    try:
        make = PLANS[loaded.task]
    except KeyError:
        raise ExportError(f"{loaded.run}: rnnkit cannot export {loaded.task!r} runs yet "
                         f"(it exports {', '.join(PLANS)})") from None
    return make(loaded)


def run_files(run: Path) -> list[str]:
    return [name for name in RUN_FILES if (Path(run) / name).is_file()]
