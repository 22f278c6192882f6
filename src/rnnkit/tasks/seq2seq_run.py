"""Translation end to end as library calls (``rnnkit train seq2seq`` and ``rnnkit translate``
are thin layers over these).

The run folder is the language model's (:mod:`rnnkit.train.run`) plus ``src_vocab.json`` and
``tgt_vocab.json`` (one file, ``vocab.json``, with ``--shared-vocab``), and after training the
validation report ``dev_report.json`` (greedy and beam BLEU) with an attention heatmap
``attention.png`` of the first validation sentence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .. import __version__
from ..data.batching import BucketBatcher, eval_batches, pad, split_indices
from ..data.errors import DataError
from ..data.parallel import Pair, Seq2SeqVocab, read_parallel, read_parallel_table
from ..data.tokens import TOKENIZERS
from ..data.vocab import Vocab
from ..train.loop import TrainConfig
from ..train.run import load_weights, read_config, require_task, train_in_run, write_json
from ..train.task import BatchedTask, StepOutput
from .bleu import corpus_bleu, detokenize, sacre_bleu
from .encoder import EncoderConfig
from .seq2seq import Seq2Seq, Seq2SeqConfig, sequence_loss, translate_batch

log = logging.getLogger(__name__)


@dataclass
class Seq2SeqDataConfig:
    src: str = ""  # source-side training file, one sentence per line (or a TSV/CSV of pairs)
    tgt: str = ""  # target-side training file aligned with --src ("": --src is a table)
    dev_src: str | None = None  # validation source file (default: a seeded dev_fraction of --src)
    dev_tgt: str | None = None  # validation target file aligned with --dev-src
    dev_fraction: float = 0.05  # share of the pairs held out when no validation files are given
    src_col: str = "0"  # table input: source column (0-based index or header name)
    tgt_col: str = "1"  # table input: target column
    encoding: str = "utf-8"  # text encoding of the files
    tokenizer: str = "regex"  # whitespace | regex | char
    lowercase: bool = True  # lowercase before tokenising (the usual Multi30k protocol)
    min_freq: int = 2  # tokens seen fewer times in training map to <unk>
    max_vocab: int = 0  # at most this many ids per vocabulary (0: no limit)
    shared_vocab: bool = False  # one vocabulary for both sides (e.g. to tie embeddings)
    max_len: int = 0  # drop training pairs with a side longer than N tokens (0: keep all)
    batch_size: int = 128  # sentence pairs per batch (bucketed by length)
    teacher_forcing: float = 1.0  # probability of feeding the reference (not the prediction)
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    bleu_sentences: int = 1000  # validation: greedy BLEU on the first N pairs (0: no BLEU)

    def validate(self) -> None:
        if not self.src:
            raise ValueError("give the training data: --src FILE --tgt FILE (aligned lines), "
                             "or --src PAIRS.tsv")
        if bool(self.dev_src) != bool(self.dev_tgt):
            raise ValueError("give both --dev-src and --dev-tgt, or neither")
        if self.tokenizer not in TOKENIZERS or self.tokenizer == "bpe":
            raise ValueError(f"tokenizer must be whitespace, regex or char, got "
                             f"{self.tokenizer!r}")
        if not 0 <= self.teacher_forcing <= 1:
            raise ValueError(f"teacher_forcing must be in [0, 1], got {self.teacher_forcing}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_vocab and self.max_vocab < 4:
            raise ValueError(f"max_vocab must be 0 (no limit) or >= 4 (3 specials and a token), "
                             f"got {self.max_vocab}")


def read_pairs(cfg: Seq2SeqDataConfig, src: str, tgt: str | None) -> list[Pair]:
    if tgt:
        return read_parallel(src, tgt, cfg.encoding)
    return read_parallel_table(src, cfg.src_col, cfg.tgt_col, encoding=cfg.encoding)


def load_splits(cfg: Seq2SeqDataConfig, seed: int) -> tuple[list[Pair], list[Pair]]:
    pairs = read_pairs(cfg, cfg.src, cfg.tgt)
    if cfg.dev_src:
        return pairs, read_pairs(cfg, cfg.dev_src, cfg.dev_tgt)
    rest, held = split_indices(len(pairs), cfg.dev_fraction, seed)
    return [pairs[i] for i in rest], [pairs[i] for i in held]


def encode_side(vocab: Seq2SeqVocab, texts: Sequence[str]) -> list[list[int]]:
    return [vocab.encode(t) for t in texts]


def with_bos(seqs: Sequence[Sequence[int]], bos: int) -> list[list[int]]:
    return [[bos, *s] for s in seqs]


def with_eos(seqs: Sequence[Sequence[int]], eos: int) -> list[list[int]]:
    return [[*s, eos] for s in seqs]


def _nonempty(seqs: Sequence[Sequence[int]], unk: int = 0) -> list[list[int]]:
    return [list(s) or [unk] for s in seqs]  # a source that tokenises to nothing reads <unk>


class Seq2SeqTask(BatchedTask):
    """Sentence pairs for :class:`~rnnkit.tasks.seq2seq.Seq2Seq` through the one training loop:
    length-bucketed batches, teacher forcing, masked cross-entropy; validation loss, perplexity
    and greedy BLEU (tokenised) on the validation pairs."""

    items_name = "tokens"

    def __init__(self, train_src, train_tgt, dev_src, dev_tgt, tgt_vocab: Seq2SeqVocab,
                 batch_size: int = 128, seed: int = 0, teacher_forcing: float = 1.0,
                 label_smoothing: float = 0.0, bleu_sentences: int = 1000,
                 dev_refs: Sequence[Sequence[str]] | None = None):
        self.train_src, self.train_tgt = _nonempty(train_src), list(train_tgt)
        self.dev_src, self.dev_tgt = _nonempty(dev_src), list(dev_tgt)
        self.vocab = tgt_vocab
        self.batcher = BucketBatcher(
            [max(len(s), len(t)) for s, t in zip(self.train_src, self.train_tgt)],
            batch_size, seed)
        self.teacher_forcing, self.label_smoothing = teacher_forcing, label_smoothing
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.bleu_sentences = bleu_sentences
        # References for BLEU: the tokenised validation targets (unknown words kept as text).
        self.dev_refs = [list(r) for r in dev_refs] if dev_refs is not None else [
            tgt_vocab.decode_tokens(t) for t in self.dev_tgt]

    def batch(self, src, tgt):
        x, x_len = pad(src)
        bos, eos = self.vocab.bos_id, self.vocab.eos_id
        y_in, _ = pad(with_bos(tgt, bos))
        y_out, y_len = pad(with_eos(tgt, eos))
        return x, x_len, y_in, y_out, y_len

    def train_step(self, model: Seq2Seq) -> StepOutput:
        idx = next(self.batcher)
        x, x_len, y_in, y_out, y_len = self.batch([self.train_src[i] for i in idx],
                                                  [self.train_tgt[i] for i in idx])
        logits = model(x, x_len, y_in, self.teacher_forcing, self.gen)
        loss = sequence_loss(logits, y_out, y_len, self.label_smoothing)
        return StepOutput(loss, int(y_len.sum()), 1.0, self.batcher.epochs_done)

    @torch.no_grad()
    def evaluate(self, model: Seq2Seq, max_items: int | None = None) -> dict:
        n = len(self.dev_src) if max_items is None else min(len(self.dev_src), max_items)
        total, count = 0.0, 0
        for idx in eval_batches([len(s) for s in self.dev_src[:n]], 128):
            x, x_len, y_in, y_out, y_len = self.batch([self.dev_src[i] for i in idx],
                                                      [self.dev_tgt[i] for i in idx])
            logits = model(x, x_len, y_in)
            k = int(y_len.sum())
            total += sequence_loss(logits, y_out, y_len).item() * k
            count += k
        loss = total / max(count, 1)
        out = {"loss": loss, "ppl": math.exp(min(loss, 50.0))}
        m = min(n, self.bleu_sentences)
        if m:
            hyps = [self.vocab.decode_tokens(ids) for ids in
                    translate_ids(model, self.dev_src[:m], beam=1)]
            out["bleu"] = corpus_bleu(hyps, [[r] for r in self.dev_refs[:m]])["bleu"]
        return out


@torch.no_grad()
def translate_ids(model: Seq2Seq, seqs: Sequence[Sequence[int]], beam: int = 1,
                  batch_size: int = 64, length_penalty: float = 1.0, n_best: int = 1,
                  max_len: int | None = None, **sampling) -> list:
    """Target ids per source (``n_best == 1``), or per source a list of ``(ids, score)``;
    in the order of ``seqs``; batched by length."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    seqs = _nonempty(seqs)
    out: list = [None] * len(seqs)
    try:
        for idx in eval_batches([len(s) for s in seqs], batch_size):
            x, x_len = pad([seqs[i] for i in idx])
            found = translate_batch(model, x, x_len, beam=beam, n_best=n_best,
                                    length_penalty=length_penalty, max_len=max_len, **sampling)
            for i, row in zip(idx, found):
                out[i] = row[0][0] if n_best == 1 else row
    finally:
        model.train(was_training)
    return out


def config_from_dict(cfg: dict) -> tuple[Seq2SeqDataConfig, Seq2SeqConfig, TrainConfig]:
    m = dict(cfg["model"])
    m["encoder"] = EncoderConfig(**m["encoder"])
    return Seq2SeqDataConfig(**cfg["data"]), Seq2SeqConfig(**m), TrainConfig(**cfg["train"])


def _vocab_files(shared: bool) -> tuple[str, str]:
    return ("vocab.json", "vocab.json") if shared else ("src_vocab.json", "tgt_vocab.json")


def train_seq2seq(data: Seq2SeqDataConfig, model_cfg: Seq2SeqConfig, train: TrainConfig,
                  out: str | Path = "runs", resume: str | Path | None = None,
                  callbacks: list[Callable[[str, dict], None]] | None = None,
                  final_beam: int = 5) -> Path:
    """Train a translation model; returns the run folder. ``resume`` continues a run folder.
    After training, the best checkpoint is scored on the validation pairs with greedy and
    ``final_beam`` beam search (``dev_report.json``) and an attention heatmap is saved."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "seq2seq")
        data, model_cfg, train = config_from_dict(cfg)
    data.validate()
    train.validate()
    if model_cfg.tie_embeddings and not data.shared_vocab:
        raise ValueError("tie_embeddings shares one embedding between source and target: it "
                         "needs --shared-vocab")
    if final_beam < 1:
        raise ValueError(f"final_beam must be >= 1, got {final_beam}")
    train_pairs, dev_pairs = load_splits(data, train.seed)
    src_file, tgt_file = _vocab_files(data.shared_vocab)
    if resume is not None:
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
    model_cfg.src_vocab, model_cfg.tgt_vocab = len(src_vocab), len(tgt_vocab)
    model_cfg.pad_id, model_cfg.bos_id, model_cfg.eos_id = 0, tgt_vocab.bos_id, tgt_vocab.eos_id
    torch.manual_seed(train.seed)
    model = Seq2Seq(model_cfg)
    task = Seq2SeqTask(x_train, y_train, x_dev, y_dev, tgt_vocab, data.batch_size, train.seed,
                       data.teacher_forcing, data.label_smoothing, data.bleu_sentences,
                       dev_refs)
    resolved = {"task": "seq2seq", "rnnkit": __version__, "source": data.src,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "sizes": {"train": len(x_train), "dev": len(x_dev),
                          "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab),
                          "parameters": sum(p.numel() for p in model.parameters())}}
    artifacts = {src_file: src_vocab, tgt_file: tgt_vocab}
    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="seq2seq", resume=resume,
        artifacts=artifacts, callbacks=callbacks,
        title=f"{model_cfg.encoder.cell} encoder-decoder, {model_cfg.attention} attention")
    if summary["stopped"] != "interrupted":
        load_weights(model, run, "best")
        model.eval()
        report = {"pairs": len(dev_pairs)}
        for beam in sorted({1, final_beam}):
            hyps = [tgt_vocab.decode_tokens(ids) for ids in translate_ids(model, x_dev, beam)]
            report[f"beam{beam}"] = corpus_bleu(hyps, [[r] for r in dev_refs])
        write_json(run / "dev_report.json", report)
        if model.attention is not None and dev_pairs:
            save_attention_plot(model, src_vocab, tgt_vocab, dev_pairs[0].src,
                                run / "attention.png")
    return run


@dataclass
class Translator:
    model: Seq2Seq
    src_vocab: Seq2SeqVocab
    tgt_vocab: Seq2SeqVocab
    data: Seq2SeqDataConfig
    config: dict


def load_translator(run: str | Path, which: str = "best") -> Translator:
    """The trained model (eval mode) with its vocabularies and config."""
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "seq2seq")
    data, model_cfg, _ = config_from_dict(cfg)
    model = Seq2Seq(model_cfg)
    load_weights(model, run, which)
    model.eval()
    src_file, tgt_file = _vocab_files(data.shared_vocab)
    return Translator(model, Vocab.load(run / src_file), Vocab.load(run / tgt_file), data, cfg)


def translate(tr: Translator, texts: Sequence[str], beam: int = 5, n_best: int = 1,
              length_penalty: float = 1.0, batch_size: int = 64, max_len: int | None = None,
              detok: bool = True, **sampling) -> list:
    """Translations of ``texts`` (detokenised text, or token lists with ``detok=False``);
    with ``n_best > 1`` a list of ``(translation, score)`` per text, best first. With
    ``beam=1``, ``sampling`` (``greedy=False, temperature, top_k, top_p, generator``) samples
    instead of taking the argmax (see :func:`rnnkit.decode.generate`)."""
    keep = [i for i, t in enumerate(texts) if t.strip()]  # a blank line translates to blank
    found = translate_ids(tr.model, encode_side(tr.src_vocab, [texts[i] for i in keep]), beam,
                          batch_size, length_penalty, n_best, max_len, **sampling)
    ids: list = [[] if n_best == 1 else [([], 0.0)]] * len(texts)
    for i, row in zip(keep, found):
        ids[i] = row

    def show(seq):
        toks = tr.tgt_vocab.decode_tokens(seq)
        return detokenize(toks) if detok else toks

    if n_best == 1:
        return [show(s) for s in ids]
    return [[(show(s), score) for s, score in row] for row in ids]


def score_translations(tr: Translator, src_texts: Sequence[str], ref_texts: Sequence[str],
                       beam: int = 5, length_penalty: float = 1.0, batch_size: int = 64,
                       max_len: int | None = None) -> dict:
    """BLEU of translating ``src_texts`` against ``ref_texts``: the tokenised score (the
    training tokeniser and casing on both sides) and sacreBLEU of the detokenised output
    against the raw references (case-insensitive when the model was trained lowercased)."""
    if len(src_texts) != len(ref_texts):
        raise ValueError(f"{len(src_texts)} sources but {len(ref_texts)} references")
    toks = translate(tr, src_texts, beam, 1, length_penalty, batch_size, max_len, detok=False)
    report = {"sentences": len(src_texts), "beam": beam,
              "bleu_tok": corpus_bleu(toks, [[tr.tgt_vocab.tokens(r)] for r in ref_texts])}
    try:
        report["sacrebleu"] = sacre_bleu([detokenize(t) for t in toks], list(ref_texts),
                                         lowercase=tr.tgt_vocab.lowercase)
    except ImportError as e:
        log.warning("%s", e)
    report["hypotheses"] = [detokenize(t) for t in toks]
    return report


@torch.no_grad()
def reference_loss(tr: Translator, src_texts: Sequence[str], ref_texts: Sequence[str],
                   batch_size: int = 64) -> dict:
    """Teacher-forced loss (nats per target token, ``<eos>`` included) and perplexity of the
    references given the sources."""
    src = _nonempty(encode_side(tr.src_vocab, src_texts))
    tgt = encode_side(tr.tgt_vocab, ref_texts)
    bos, eos = tr.tgt_vocab.bos_id, tr.tgt_vocab.eos_id
    total, count = 0.0, 0
    for idx in eval_batches([len(s) for s in src], batch_size):
        x, x_len = pad([src[i] for i in idx])
        y_in, _ = pad(with_bos([tgt[i] for i in idx], bos))
        y_out, y_len = pad(with_eos([tgt[i] for i in idx], eos))
        k = int(y_len.sum())
        total += sequence_loss(tr.model(x, x_len, y_in), y_out, y_len).item() * k
        count += k
    loss = total / max(count, 1)
    return {"loss": loss, "ppl": math.exp(min(loss, 50.0)), "tokens": count}


def eval_translation_files(run: str | Path, src_path: str | Path, ref_path: str | Path,
                           beam: int = 5, encoding: str | None = None, batch_size: int = 64,
                           which: str = "best") -> dict:
    """Loss/perplexity of the references and BLEU (tokenised and sacreBLEU) of the ``beam``
    translations of ``src_path`` against ``ref_path`` (aligned files, like training's)."""
    tr = load_translator(run, which)
    pairs = read_parallel(src_path, ref_path, encoding or tr.data.encoding)
    src, ref = [p.src for p in pairs], [p.tgt for p in pairs]
    report = score_translations(tr, src, ref, beam, batch_size=batch_size)
    report.pop("hypotheses")
    report.update(reference_loss(tr, src, ref, batch_size))
    return report


@torch.no_grad()
def attention_matrix(tr_model: Seq2Seq, src_vocab: Seq2SeqVocab, tgt_vocab: Seq2SeqVocab,
                     text: str, max_len: int = 60) -> tuple[list[str], list[str], torch.Tensor]:
    """(source tokens, greedy output tokens, attention weights (T_out, S)) for one sentence."""
    ids = src_vocab.encode(text) or [0]
    out = translate_ids(tr_model, [ids], beam=1, max_len=max_len)[0]
    y_in = torch.tensor([[tgt_vocab.bos_id, *out]])
    _, attn = tr_model(torch.tensor([ids]), torch.tensor([len(ids)]), y_in,
                       return_attention=True)
    src_toks = [src_vocab.itos[i] for i in ids]
    tgt_toks = [tgt_vocab.itos[i] for i in out] + ["<eos>"]  # the step that ends (or stops)
    return src_toks, tgt_toks, attn[0]


def save_attention_plot(model: Seq2Seq, src_vocab, tgt_vocab, text: str, path: Path) -> Path | None:
    """Heatmap PNG of the attention while translating ``text`` (None without matplotlib or
    for a model without attention)."""
    if model.attention is None:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    src, tgt, w = attention_matrix(model, src_vocab, tgt_vocab, text)
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * len(src) + 2), max(3, 0.4 * len(tgt) + 1.5)))
    ax.imshow(w.numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(src)), src, rotation=60, ha="right")
    ax.set_yticks(range(len(tgt)), tgt)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.set_title("attention weights")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
