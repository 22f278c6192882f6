"""BLEU: tokenised corpus BLEU against hand-computed values, sacreBLEU, detokenisation."""

import math

import pytest

from rnnkit.tasks.seq2seq.bleu import corpus_bleu, detokenize, sacre_bleu


def test_perfect_and_disjoint():
    h = "the cat sat on the mat".split()
    assert corpus_bleu([h], [[h]])["bleu"] == pytest.approx(100.0)
    assert corpus_bleu([["a", "b", "c", "d"]], [[["w", "x", "y", "z"]]])["bleu"] == 0.0


def test_hand_computed_with_clipping_and_brevity_penalty():
    hyp = "the the cat sat on mat".split()  # 6 tokens
    ref = "the cat sat on the mat today".split()  # 7 tokens
    r = corpus_bleu([hyp], [[ref]])
    # 1-grams: the x2 (ref has 2), cat, sat, on, mat -> 6/6; 2-grams: "the the" no,
    # "the cat", "cat sat", "sat on" yes, "on mat" no -> 3/5; 3-grams: "the cat sat",
    # "cat sat on" -> 2/4; 4-grams: "the cat sat on" -> 1/3
    p = [6 / 6, 3 / 5, 2 / 4, 1 / 3]
    bp = math.exp(1 - 7 / 6)
    assert r["precisions"] == pytest.approx([100 * x for x in p])
    assert r["bp"] == pytest.approx(bp)
    assert r["bleu"] == pytest.approx(100 * bp * math.exp(sum(map(math.log, p)) / 4))


def test_corpus_level_not_sentence_average_and_closest_reference():
    a, b = "a b c d e".split(), "v w x y z".split()
    r = corpus_bleu([a, b], [[a], [b, "v w".split()]])
    assert r["ref_len"] == 10 and r["bleu"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="hypotheses"):
        corpus_bleu([a], [])


def test_agrees_with_sacrebleu_on_pretokenised_text():
    pytest.importorskip("sacrebleu")
    hyps = ["a man is riding a bike .", "two dogs play in the snow .", "a woman sings"]
    refs = ["a man rides a bike .", "two dogs are playing in the snow .", "a woman is singing"]
    ours = corpus_bleu([h.split() for h in hyps], [[r.split()] for r in refs])["bleu"]
    import sacrebleu

    theirs = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", smooth_method="none").score
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert sacre_bleu(hyps, refs)["signature"].startswith("nrefs:1")


def test_brevity_penalty_at_zero_length():
    assert corpus_bleu([[]], [[["a", "b"]]])["bp"] == 0.0
    assert corpus_bleu([[]], [[[]]])["bp"] == 1.0


def test_detokenize():
    assert detokenize("a man ( left ) sits , smiling .".split()) == "a man (left) sits, smiling."
    assert detokenize(['he', 'said', '"', 'hi', '"', '.']) == 'he said "hi".'
    assert detokenize([]) == ""
    from rnnkit.data.tokens import tokenize

    for text in ['"Hi," she said.', 'He said "yes."', "It costs 3.5 dollars, 1,000 yen."]:
        assert detokenize(tokenize(text)) == text
