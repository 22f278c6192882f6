"""Tests for rnnkit.decode with small deterministic fake models (no network involved)."""

import itertools
import math
from typing import NamedTuple

import pytest
import torch

from rnnkit.decode import beam_search, filter_logits, generate, select_state


class Count(NamedTuple):
    n: torch.Tensor  # (1, B) steps taken so far


def table_step(table):
    """A bigram "model": logits (B, V) = table[previous token]; the state counts steps."""

    def step(tokens, state):
        return table[tokens], Count(state.n + 1)

    return step


def start_state(rows):
    return Count(torch.zeros(1, rows, dtype=torch.long))


def chain_table(next_of, vocab, seed=0):
    """Random logits with a clear argmax ``next_of[prev]`` in each row (no ties)."""
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(vocab, vocab, generator=g)
    for prev, nxt in next_of.items():
        table[prev, nxt] += 6.0
    return table


def greedy_chain(table, start, n):
    out, tok = [], start
    for _ in range(n):
        tok = int(table[tok].argmax())
        out.append(tok)
    return out


TABLE = chain_table({0: 3, 1: 4, 2: 0, 3: 1, 4: 2, 5: 5}, vocab=6)


def test_greedy_follows_argmax_chain_and_threads_state():
    first = torch.tensor([0, 2])
    seen = []
    tokens, state = generate(
        table_step(TABLE), start_state(2), first, 7, greedy=True,
        on_token=lambda i, t: seen.append((i, t.tolist())),
    )
    assert tokens.tolist() == [greedy_chain(TABLE, 0, 7), greedy_chain(TABLE, 2, 7)]
    assert tokens[0].tolist() == [3, 1, 4, 2, 0, 3, 1]
    assert state.n.tolist() == [[7, 7]]  # one step per produced token
    assert seen == [(i, tokens[:, i].tolist()) for i in range(7)]


def test_generate_continues_statefully():
    step = table_step(TABLE)
    whole, _ = generate(step, start_state(1), torch.tensor([1]), 6, greedy=True)
    head, state = generate(step, start_state(1), torch.tensor([1]), 3, greedy=True)
    tail, state = generate(step, state, head[:, -1], 3, greedy=True)
    assert torch.equal(torch.cat([head, tail], dim=1), whole)
    assert state.n.item() == 6


def test_sampling_reproducible_with_seeded_generator():
    flat = torch.zeros(6, 6)  # uniform: every sample is informative
    step, first = table_step(flat), torch.tensor([0, 1, 2])

    def sample(seed):
        g = torch.Generator().manual_seed(seed)
        return generate(step, start_state(3), first, 40, generator=g)[0]

    a, b, c = sample(1), sample(1), sample(2)
    assert a.shape == (3, 40) and a.dtype == torch.long
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert set(a.flatten().tolist()) == set(range(6))


@pytest.mark.parametrize("kw", [{"top_k": 1}, {"top_p": 1e-6}, {"temperature": 1e-4}])
def test_sampling_degenerates_to_greedy(kw):
    step, first = table_step(TABLE), torch.tensor([0, 4, 5])
    greedy, _ = generate(step, start_state(3), first, 10, greedy=True)
    g = torch.Generator().manual_seed(0)
    sampled, _ = generate(step, start_state(3), first, 10, generator=g, **kw)
    assert torch.equal(sampled, greedy)


def test_filter_logits_values():
    logits = torch.tensor([[0.6, 0.3, 0.1]]).log()
    inf = float("-inf")
    assert torch.allclose(filter_logits(logits, temperature=2.0), logits / 2)
    kept = filter_logits(logits, top_k=2)
    assert kept[0, 2] == inf and torch.equal(kept[0, :2], logits[0, :2])
    assert filter_logits(logits, top_p=0.5)[0].isfinite().tolist() == [True, False, False]
    assert filter_logits(logits, top_p=0.8)[0].isfinite().tolist() == [True, True, False]
    assert filter_logits(logits, top_p=0.95)[0].isfinite().tolist() == [True, True, True]
    # The nucleus follows probability, not position.
    shuffled = torch.tensor([[0.1, 0.6, 0.3]]).log()
    assert filter_logits(shuffled, top_p=0.8)[0].isfinite().tolist() == [False, True, True]
    assert torch.equal(filter_logits(logits, top_k=10), logits)


@pytest.mark.parametrize(
    "kw", [{"temperature": 0.0}, {"temperature": -1.0}, {"temperature": math.inf},
           {"top_k": 0}, {"top_p": 0.0}, {"top_p": 1.5}],
)
def test_sampling_arguments_validated(kw):
    with pytest.raises(ValueError):
        filter_logits(torch.zeros(1, 3), **kw)
    with pytest.raises(ValueError):
        generate(table_step(TABLE), start_state(1), torch.tensor([0]), 3, **kw)


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        generate(table_step(TABLE), start_state(1), torch.tensor([[0]]), 3)
    with pytest.raises(ValueError, match=r"logits of shape \(2, V\)"):
        generate(lambda t, s: (torch.zeros(3), s), None, torch.tensor([0, 1]), 3)


EOS = 5
EOS_TABLE = chain_table({0: 1, 1: 2, 2: EOS, 3: EOS, 4: 0, EOS: EOS}, vocab=6, seed=1)


def test_eos_stops_early_and_pads_finished_rows():
    tokens, state = generate(
        table_step(EOS_TABLE), start_state(2), torch.tensor([0, 3]), 10, greedy=True, eos_id=EOS
    )
    assert tokens.tolist() == [[1, 2, EOS], [EOS, EOS, EOS]]
    assert state.n.tolist() == [[3, 3]]


def test_beam_size_one_is_greedy():
    for table, eos, first in [(TABLE, None, [0, 2, 5]), (EOS_TABLE, EOS, [0, 3, 4])]:
        first = torch.tensor(first)
        greedy, _ = generate(
            table_step(table), start_state(3), first, 8, greedy=True, eos_id=eos
        )
        beams = beam_search(
            table_step(table), start_state(3), first, 8, beam_size=1, eos_id=eos
        )
        for row, hyps in zip(greedy.tolist(), beams):
            expected = row[: row.index(eos) + 1] if eos in row else row
            assert len(hyps) == 1 and hyps[0][0] == expected


def sequence_logprob(table, start, seq):
    logp = table.log_softmax(dim=-1)
    return sum(logp[p, t].item() for p, t in zip([start, *seq[:-1]], seq))


def test_beam_beats_myopic_greedy():
    probs = torch.tensor(
        [
            [1e-6, 0.55, 0.45, 1e-6],  # from 0: A looks better than B ...
            [1e-6, 0.34, 0.33, 0.33],  # ... but A leads nowhere in particular
            [0.01, 0.005, 0.005, 0.98],  # while B is followed by C almost surely
            [0.25, 0.25, 0.25, 0.25],
        ]
    )
    table = probs.log()
    greedy, _ = generate(table_step(table), start_state(1), torch.tensor([0]), 2, greedy=True)
    [[(best, score)]] = beam_search(
        table_step(table), start_state(1), torch.tensor([0]), 2, beam_size=2, length_penalty=0.0
    )
    assert greedy[0].tolist() == [1, 1]
    assert best == [2, 3]
    assert score == pytest.approx(sequence_logprob(table, 0, best), abs=1e-5)
    assert score > sequence_logprob(table, 0, greedy[0].tolist()) + 0.5


def test_beam_n_best_sorted_with_length_penalty():
    [hyps] = beam_search(
        table_step(EOS_TABLE), start_state(1), torch.tensor([4]), 6,
        beam_size=4, n_best=4, eos_id=EOS, length_penalty=1.0,
    )
    assert len(hyps) == 4
    scores = [s for _, s in hyps]
    assert scores == sorted(scores, reverse=True)
    for seq, s in hyps:
        assert s == pytest.approx(sequence_logprob(EOS_TABLE, 4, seq) / len(seq), abs=1e-5)
    assert hyps[0][0] == [0, 1, 2, EOS]  # the greedy path is the clear winner here


class Prev(NamedTuple):
    token: torch.Tensor  # (1, B) the token before the current input


def test_exhaustive_beam_equals_brute_force_with_state():
    """A second-order model whose logits depend on the state, so wrong reordering shows."""
    vocab, n = 3, 3
    g = torch.Generator().manual_seed(3)
    table = torch.randn(vocab, vocab, vocab, generator=g) * 2  # (prev, current, next)

    def step(tokens, state):
        return table[state.token[0], tokens], Prev(tokens.unsqueeze(0))

    first = torch.tensor([0, 2])
    init = Prev(torch.tensor([[1, 1]]))
    results = beam_search(
        step, init, first, n, beam_size=vocab**n, n_best=5, length_penalty=0.0
    )
    logp = table.log_softmax(dim=-1)
    for row, hyps in zip(first.tolist(), results):
        scored = []
        for seq in itertools.product(range(vocab), repeat=n):
            prevs, curs = [1, row, *seq[:-2]], [row, *seq[:-1]]
            total = sum(logp[p, c, t].item() for p, c, t in zip(prevs, curs, seq))
            scored.append((list(seq), total))
        scored.sort(key=lambda x: x[1], reverse=True)
        assert [s for s, _ in hyps] == [s for s, _ in scored[:5]]
        assert [x for _, x in hyps] == pytest.approx([x for _, x in scored[:5]], abs=1e-5)


class State(NamedTuple):
    h: torch.Tensor
    c: torch.Tensor


def test_select_state_keeps_structure():
    h = torch.arange(12.0).view(2, 3, 2)  # (L, B, H)
    c = -h
    picked = select_state(State(h, c), torch.tensor([2, 2, 0]))
    assert type(picked) is State
    assert torch.equal(picked.h, h[:, [2, 2, 0]]) and torch.equal(picked.c, c[:, [2, 2, 0]])
    nested = select_state((State(h, c), [h], None), torch.tensor([1]))
    assert type(nested) is tuple and type(nested[0]) is State and nested[2] is None
    assert torch.equal(nested[1][0], h[:, [1]])
    assert torch.equal(select_state(h, torch.tensor([1]), batch_dim=0), h[[1]])
    assert select_state(None, torch.tensor([0])) is None
