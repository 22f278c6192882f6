"""The translation task (delayed many-to-many): sentence pairs in, an encoder-decoder with
attention, greedy / beam / sampled translations out (``rnnkit train seq2seq``, ``rnnkit
translate``, ``rnnkit eval RUN --data SRC --ref REF``).

The run folder holds ``src_vocab.json`` and ``tgt_vocab.json`` (one file, ``vocab.json``,
with ``--shared-vocab``), and after training the validation report ``dev_report.json``
(greedy and beam BLEU) with an attention heatmap ``attention.png`` of the first validation
sentence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ...config import section
from ...data.batching import eval_batches, pad
from ...data.errors import DataError
from ...data.parallel import Seq2SeqVocab, read_parallel
from ...data.vocab import Vocab
from ...train.device import device_of, to_device
from ...train.loop import TrainConfig
from ...train.run import write_json
from ..spec import LoadedRun, Prepared
from .attention_plot import save_attention_plot
from .bleu import corpus_bleu, detokenize, sacre_bleu
from .data import (
    Seq2SeqDataConfig,
    Seq2SeqTask,
    _nonempty,
    encode_side,
    load_splits,
    translate_ids,
    with_bos,
    with_eos,
)
from .model import Seq2Seq, Seq2SeqConfig, sequence_loss

log = logging.getLogger(__name__)


@dataclass
class Seq2SeqSettings:
    """Everything a translation run is trained from."""

    data: Seq2SeqDataConfig = section(Seq2SeqDataConfig, prefix="")
    model: Seq2SeqConfig = section(Seq2SeqConfig, prefix="")
    # the Multi30k recipe (docs/seq2seq.md)
    train: TrainConfig = section(lambda: TrainConfig(lr=1e-3, warmup_steps=100, epochs=10.0),
                                 prefix="")


def vocab_files(shared: bool) -> tuple[str, str]:
    return ("vocab.json", "vocab.json") if shared else ("src_vocab.json", "tgt_vocab.json")


def prepare(s: Seq2SeqSettings, run: Path | None) -> Prepared:
    data, cfg = s.data, s.model
    data.validate()
    if cfg.tie_embeddings and not data.shared_vocab:
        raise ValueError("tie_embeddings shares one embedding between source and target: it "
                         "needs --shared-vocab")
    train_pairs, dev_pairs = load_splits(data, s.train.seed)
    src_file, tgt_file = vocab_files(data.shared_vocab)
    if run is not None:
        src_vocab, tgt_vocab = Vocab.load(run / src_file), Vocab.load(run / tgt_file)
    else:
        kw = dict(tokenizer=data.tokenizer, lowercase=data.lowercase, min_freq=data.min_freq,
                  max_size=data.max_vocab)
        if data.shared_vocab:
            src_vocab = tgt_vocab = Seq2SeqVocab.build_from(
                [p.src for p in train_pairs] + [p.tgt for p in train_pairs], **kw)
        else:
            src_vocab = Seq2SeqVocab.build_from([p.src for p in train_pairs], **kw)
            tgt_vocab = Seq2SeqVocab.build_from([p.tgt for p in train_pairs], **kw)
    x_train = encode_side(src_vocab, [p.src for p in train_pairs])
    y_train = encode_side(tgt_vocab, [p.tgt for p in train_pairs])
    if data.max_len:
        keep = [i for i in range(len(x_train))
                if len(x_train[i]) <= data.max_len and len(y_train[i]) <= data.max_len]
        log.info("kept %d of %d training pairs (max_len %d)", len(keep), len(x_train),
                 data.max_len)
        if not keep:
            raise DataError(f"no training pair has both sides within max_len={data.max_len} "
                            "tokens", path=data.src)
        x_train, y_train = [x_train[i] for i in keep], [y_train[i] for i in keep]
    x_dev = encode_side(src_vocab, [p.src for p in dev_pairs])
    y_dev = encode_side(tgt_vocab, [p.tgt for p in dev_pairs])
    dev_refs = [tgt_vocab.tokens(p.tgt) for p in dev_pairs]
    cfg.src_vocab, cfg.tgt_vocab = len(src_vocab), len(tgt_vocab)
    cfg.pad_id, cfg.bos_id, cfg.eos_id = 0, tgt_vocab.bos_id, tgt_vocab.eos_id
    task = Seq2SeqTask(x_train, y_train, x_dev, y_dev, tgt_vocab, data.batch_size,
                       s.train.seed, data.teacher_forcing, data.label_smoothing,
                       data.bleu_sentences, dev_refs)
    return Prepared(task, data.src, {src_file: src_vocab, tgt_file: tgt_vocab},
                    sizes={"train": len(x_train), "dev": len(x_dev),
                           "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab)},
                    title=f"{cfg.encoder.cell} encoder-decoder, {cfg.attention} attention",
                    state=(dev_pairs, x_dev, dev_refs, src_vocab, tgt_vocab))


def report(model: Seq2Seq, s: Seq2SeqSettings, prepared: Prepared, run: Path) -> None:
    """Validation BLEU with greedy decoding and a ``report_beam`` beam, and the attention
    heatmap of the first validation sentence."""
    dev_pairs, x_dev, dev_refs, src_vocab, tgt_vocab = prepared.state
    rep = {"pairs": len(dev_pairs)}
    for beam in sorted({1, s.data.report_beam}):
        hyps = [tgt_vocab.decode_tokens(ids) for ids in translate_ids(model, x_dev, beam)]
        rep[f"beam{beam}"] = corpus_bleu(hyps, [[r] for r in dev_refs])
    write_json(run / "dev_report.json", rep)
    if model.attention is not None and dev_pairs:
        save_attention_plot(model, src_vocab, tgt_vocab, dev_pairs[0].src, run / "attention.png")


@dataclass
class Translator(LoadedRun):
    """A trained translation model with its vocabularies."""

    src_vocab: Seq2SeqVocab = field(default=None)  # type: ignore[assignment]
    tgt_vocab: Seq2SeqVocab = field(default=None)  # type: ignore[assignment]
    task = "seq2seq"

    @classmethod
    def open(cls, run, model, settings, config):
        src_file, tgt_file = vocab_files(settings.data.shared_vocab)
        return cls(run, model, settings, config, Vocab.load(Path(run) / src_file),
                   Vocab.load(Path(run) / tgt_file))

    def translate(self, texts: Sequence[str], beam: int = 5, n_best: int = 1,
                  length_penalty: float = 1.0, batch_size: int = 64, max_len: int | None = None,
                  detok: bool = True, **sampling) -> list:
        """Translations of ``texts`` (detokenised text, or token lists with ``detok=False``);
        with ``n_best > 1`` a list of ``(translation, score)`` per text, best first. With
        ``beam=1``, ``sampling`` (``greedy=False, temperature, top_k, top_p, generator``) samples
        instead of taking the argmax (see :func:`rnnkit.decode.generate`)."""
        keep = [i for i, t in enumerate(texts) if t.strip()]  # a blank line translates to blank
        src = encode_side(self.src_vocab, [texts[i] for i in keep])
        found = translate_ids(self.model, src, beam, batch_size, length_penalty, n_best,
                              max_len, **sampling)
        ids: list = [[] if n_best == 1 else [([], 0.0)]] * len(texts)
        for i, row in zip(keep, found):
            ids[i] = row

        def show(seq):
            toks = self.tgt_vocab.decode_tokens(seq)
            return detokenize(toks) if detok else toks

        if n_best == 1:
            return [show(s) for s in ids]
        return [[(show(s), score) for s, score in row] for row in ids]

    def score_translations(self, src_texts: Sequence[str], ref_texts: Sequence[str],
                           beam: int = 5, length_penalty: float = 1.0, batch_size: int = 64,
                           max_len: int | None = None) -> dict:
        """BLEU of translating ``src_texts`` against ``ref_texts``: the tokenised score (the
        training tokeniser and casing on both sides) and sacreBLEU of the detokenised output
        against the raw references (case-insensitive when the model was trained lowercased)."""
        if len(src_texts) != len(ref_texts):
            raise ValueError(f"{len(src_texts)} sources but {len(ref_texts)} references")
        toks = self.translate(src_texts, beam, 1, length_penalty, batch_size, max_len, detok=False)
        report = {"sentences": len(src_texts), "beam": beam,
                  "bleu_tok": corpus_bleu(toks, [[self.tgt_vocab.tokens(r)] for r in ref_texts])}
        try:
            report["sacrebleu"] = sacre_bleu([detokenize(t) for t in toks], list(ref_texts),
                                             lowercase=self.tgt_vocab.lowercase)
        except ImportError as e:
            log.warning("%s", e)
        report["hypotheses"] = [detokenize(t) for t in toks]
        return report

    @torch.no_grad()
    def reference_loss(self, src_texts: Sequence[str], ref_texts: Sequence[str],
                       batch_size: int = 64) -> dict:
        """Teacher-forced loss (nats per target token, ``<eos>`` included) and perplexity of the
        references given the sources."""
        src = _nonempty(encode_side(self.src_vocab, src_texts))
        tgt = encode_side(self.tgt_vocab, ref_texts)
        bos, eos = self.tgt_vocab.bos_id, self.tgt_vocab.eos_id
        total, count = 0.0, 0
        dev = device_of(self.model)
        for idx in eval_batches([len(s) for s in src], batch_size):
            x, x_len = to_device(pad([src[i] for i in idx]), dev)
            y_in = pad(with_bos([tgt[i] for i in idx], bos))[0].to(dev)
            y_out, y_len = to_device(pad(with_eos([tgt[i] for i in idx], eos)), dev)
            k = int(y_len.sum())
            total += sequence_loss(self.model(x, x_len, y_in), y_out, y_len).item() * k
            count += k
        loss = total / max(count, 1)
        return {"loss": loss, "ppl": math.exp(min(loss, 50.0)), "tokens": count}

    def evaluate(self, path: str | Path, ref: str | Path | None = None, beam: int = 5,
                 encoding: str | None = None, batch_size: int = 64) -> dict:
        """Loss/perplexity of the references and BLEU (tokenised and sacreBLEU) of the
        ``beam`` translations of ``path`` against ``ref`` (aligned files, like training's)."""
        if ref is None:
            raise ValueError("a translation run is scored against references: give the "
                             "reference file aligned with the sources")
        pairs = read_parallel(path, ref, encoding or self.data.encoding)
        src, refs = [p.src for p in pairs], [p.tgt for p in pairs]
        rep = self.score_translations(src, refs, beam, batch_size=batch_size)
        rep.pop("hypotheses")
        rep.update(self.reference_loss(src, refs, batch_size))
        return rep


def describe(s: Seq2SeqSettings) -> str:
    return f"{s.model.encoder.cell} encoder-decoder ({s.model.attention} attention) on {s.data.src}"


def build_model(s: Seq2SeqSettings) -> Seq2Seq:
    return Seq2Seq(s.model)
