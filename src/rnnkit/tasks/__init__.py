"""Task heads and the one run lifecycle behind them.

Every task is a package declaring a :class:`~rnnkit.tasks.spec.TaskSpec` once; the catalogue
is :mod:`rnnkit.tasks.registry`; :mod:`rnnkit.tasks.lifecycle` trains, resumes and loads any of
them; :mod:`rnnkit.tasks.common` holds what several share (the encoder, pooling, word
features, metrics, the sampling options).

    lm/               language model (truncated BPTT, sampling)
    classify/         sequence classifier (+ NB n-gram branch, LM pretraining)
    tag/              sequence tagger (+ CRF)
    series/           numeric series: classify, per-frame tag, forecast
    seq2seq/          encoder-decoder with attention, beam search, BLEU
    generate/         one-to-many: a condition (label, image) -> a sequence
    longlag/          the adding problem and the copy task
"""
