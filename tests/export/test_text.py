"""The classifier's and the tagger's ONNX graphs (bidirectional encoders, padded batches of 1
and 3 rows) against the loaded runs: the classifier's recurrent probabilities, the tagger's
emission scores with char features, and its CRF tags decoded from the graph's scores with the
exported transitions."""


import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.export import export_run
from rnnkit.tasks.tag.model import make_batch
from tests.helpers import write_conllu

from .conftest import need_onnx, pad, run, session, train_cli


@pytest.mark.parametrize("texts", [["good great fine day"],
                                   ["bad", "good great fine day good good", "awful poor"]])
def test_classifier_probabilities_equal_the_run(classify_run, tmp_path, texts):
    need_onnx()
    m = rnnkit.load(classify_run)
    assert m.model.cfg.encoder.bidirectional and m.model.cfg.encoder.layers == 2
    manifest = export_run(classify_run, tmp_path)
    assert manifest["preprocessing"]["labels"] == ["neg", "pos"]
    assert manifest["preprocessing"]["vocab"]["tokenizer"] == "regex"
    if m.ngram is not None:  # the n-gram branch is named, with its weight, not in the graph
        assert manifest["preprocessing"]["ngram_branch"]["weight"] == m.ngram.mix_weight
        assert (tmp_path / "ngram_model.safetensors").is_file()
    ids = m.encode(texts)
    x, lengths = pad(ids)
    got = run(session(tmp_path / "forward.onnx"), tokens=x, lengths=lengths)
    want = m.component_proba(texts)["rnn"].numpy()
    np.testing.assert_allclose(got["probs"], want, atol=1e-5)
    assert np.isfinite(got["logits"]).all()


def char_inputs(batch):
    """The graph's char inputs of a :class:`WordBatch`: each word position's row of chars."""
    B, T = batch.words.shape
    index = torch.zeros(B, T, dtype=torch.long)
    mask = torch.arange(T).unsqueeze(0) < batch.lengths.unsqueeze(1)
    index[mask] = batch.word_index
    return {"chars": batch.chars.numpy(), "char_lengths": batch.char_lengths.numpy(),
            "char_index": index.numpy()}


def viterbi(em, length, trans, start, end):
    """The best tag path of one sentence's emission scores (numpy)."""
    score, back = start + em[0], []
    for t in range(1, length):
        total = score[:, None] + trans  # (from, to)
        back.append(total.argmax(0))
        score = total.max(0) + em[t]
    tags = [int((score + end).argmax())]
    for b in reversed(back):
        tags.append(int(b[tags[-1]]))
    return tags[::-1]


def test_tagger_with_char_features_and_crf(tmp_path):
    need_onnx()
    write_conllu(tmp_path / "t.conllu", 24)
    folder = train_cli(tmp_path, "tag", "--data", str(tmp_path / "t.conllu"), "--steps", "6",
                       "--hidden", "6", "--embed", "6", "--char-embed", "5", "--char-hidden",
                       "4", "--crf")
    m = rnnkit.load(folder)
    manifest = export_run(folder, tmp_path / "out")
    assert [p["name"] for p in manifest["graphs"]["forward"]["inputs"]] == [
        "tokens", "lengths", "chars", "char_lengths", "char_index"]
    assert manifest["preprocessing"]["crf"]["transitions"] == "crf.transitions"
    sess = session(tmp_path / "out" / "forward.onnx")
    from safetensors.numpy import load_file

    w = load_file(tmp_path / "out" / "model.safetensors")
    for sentences in ([["the", "Bird", "likes", "a", "dog"]],
                      [["a", "cat"], ["the", "dog", "saw", "the", "unseen", "bird"], ["saw"]]):
        enc = [m.encoders.encode(s) for s in sentences]
        batch = make_batch([e[0] for e in enc], [e[1] for e in enc])
        got = run(sess, tokens=batch.words.numpy(), lengths=batch.lengths.numpy(),
                  **char_inputs(batch))
        with torch.no_grad():
            want = m.model(batch).numpy()
        mask = (np.arange(want.shape[1])[None] < batch.lengths.numpy()[:, None])
        np.testing.assert_allclose(got["logits"][mask], want[mask], atol=1e-5)
        tags = [[m.tags.itos[k] for k in viterbi(got["logits"][b], len(s), w["crf.transitions"],
                                                 w["crf.start"], w["crf.end"])]
                for b, s in enumerate(sentences)]
        assert tags == m.tag(sentences)
