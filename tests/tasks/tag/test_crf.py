"""The CRF's forward algorithm and Viterbi against brute-force enumeration."""

import itertools

import pytest
import torch

from rnnkit.tasks.tag.crf import CRF


def _path_score(crf, em, path):
    s = crf.start[path[0]] + crf.end[path[-1]]
    s = s + sum(em[t, y] for t, y in enumerate(path))
    return s + sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))


def test_partition_and_viterbi_equal_brute_force():
    torch.manual_seed(1)
    K, T = 3, 4
    crf = CRF(K).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    em = torch.randn(2, T, K, dtype=torch.float64)
    lengths = torch.tensor([4, 2])
    logz = crf.log_partition(em, lengths)
    best = crf.decode(em, lengths)
    for b, n in enumerate(lengths.tolist()):
        paths = list(itertools.product(range(K), repeat=n))
        scores = torch.stack([_path_score(crf, em[b], p) for p in paths])
        assert logz[b].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-10)
        top = paths[int(scores.argmax())]
        assert best[b, :n].tolist() == list(top) and best[b, n:].abs().sum() == 0
        tags = torch.zeros(1, T, dtype=torch.long)
        tags[0, :n] = torch.tensor(top)
        got = crf.score(em[b : b + 1], tags, lengths[b : b + 1])
        assert got.item() == pytest.approx(scores.max().item(), abs=1e-10)
    nll = crf.nll(em, best, lengths)
    assert (nll > 0).all()


def test_padding_does_not_contribute():
    crf = CRF(4)
    em = torch.randn(1, 3, 4)
    padded = torch.cat([em, 100 * torch.randn(1, 5, 4)], 1)
    lengths = torch.tensor([3])
    assert torch.allclose(crf.log_partition(em, lengths), crf.log_partition(padded, lengths))
    assert crf.decode(em, lengths).tolist()[0] == crf.decode(padded, lengths).tolist()[0][:3]
    with pytest.raises(ValueError, match="lengths must be"):
        crf.log_partition(em, torch.tensor([4]))
