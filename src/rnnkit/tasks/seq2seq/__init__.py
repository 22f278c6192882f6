"""Translation (delayed many-to-many): a bidirectional encoder, an attention decoder, greedy,
sampled and beam-search translations, BLEU."""

from ..spec import TaskSpec
from . import cli
from .bleu import corpus_bleu, detokenize, sacre_bleu
from .data import Seq2SeqDataConfig, Seq2SeqTask, translate_ids
from .model import Seq2Seq, Seq2SeqConfig
from .task import Seq2SeqSettings, Translator, build_model, describe, prepare, report

TASK = TaskSpec(
    name="seq2seq",
    help="encoder-decoder with attention (delayed many-to-many): translation",
    description="Train a translation model on parallel text: two aligned files (--src, --tgt; "
    "line i of one translates line i of the other) or one TSV/CSV of pairs (--src only, with "
    "--src-col/--tgt-col). Bidirectional encoder, attention decoder.",
    config=Seq2SeqSettings, build_model=build_model, prepare=prepare, report=report,
    loaded=Translator, describe=describe, unit="tok", cli=cli)

__all__ = ["TASK", "Seq2Seq", "Seq2SeqConfig", "Seq2SeqDataConfig", "Seq2SeqSettings",
           "Seq2SeqTask", "Translator", "corpus_bleu", "detokenize", "sacre_bleu",
           "translate_ids"]
