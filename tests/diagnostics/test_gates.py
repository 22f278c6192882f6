"""Gate statistics against gates computed by hand, and at forced saturation."""

import pytest
import torch

import rnnkit
from rnnkit.diagnostics.gates import gate_statistics
from rnnkit.diagnostics.plots import plot_gate_stats


def test_lstm_gate_statistics_equal_a_manual_loop():
    lstm = rnnkit.LSTM(3, 6, num_layers=2).double()
    with torch.no_grad():  # spread the gates so that some values saturate
        for p in lstm.parameters():
            p.mul_(6)
    x = torch.randn(5, 8, 3, dtype=torch.float64)
    stats = gate_statistics(lstm, lambda m: m(x))
    assert stats.gates == ["i", "f", "o"] and stats.labels == ["input", "forget", "output"]
    assert stats.mean.shape == (3, 2, 8) and stats.unit_high.shape == (3, 2, 6)
    # by hand, from torch.nn's equations and gate layout i|f|g|o
    inp, all_gates = x, []
    for cell in lstm.cells:
        h = c = torch.zeros(5, 6, dtype=torch.float64)
        outs, per_t = [], []
        for t in range(8):
            a = inp[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
            i, f, g, o = a.chunk(4, 1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            outs.append(h)
            per_t.append(torch.stack([i, f, o]))  # (3, B, H)
        inp = torch.stack(outs, 1)
        all_gates.append(torch.stack(per_t, 1))  # (3, T, B, H)
    g = torch.stack(all_gates, 1).detach()  # (3, K, T, B, H)
    torch.testing.assert_close(stats.mean, g.mean((3, 4)).float())
    torch.testing.assert_close(stats.low, (g < 0.1).double().mean((3, 4)).float())
    torch.testing.assert_close(stats.high, (g > 0.9).double().mean((3, 4)).float())
    torch.testing.assert_close(stats.unit_high, (g > 0.9).double().mean((2, 3)).float())
    assert 0 < stats.high.sum() and 0 < stats.low.sum()
    s = stats.summary()
    assert s["forget"]["mean"][1] == pytest.approx(g[1, 1].mean().item(), rel=1e-5)


def test_forced_saturation_and_gru_labels(tmp_path):
    lstm = rnnkit.LSTM(2, 4)
    with torch.no_grad():
        lstm.cells[0].bias_hh[4:8] = 20.0  # forget gate always open
        lstm.cells[0].bias_hh[0:4] = -20.0  # input gate always shut
    stats = gate_statistics(lstm, lambda m: m(torch.randn(3, 7, 2)))
    f, i = stats.gate("forget"), stats.gate("i")
    assert stats.high[f].min() == 1.0 and stats.low[i].min() == 1.0
    assert stats.unit_high[f].min() == 1.0 and stats.unit_low[f].max() == 0.0
    assert (plot_gate_stats(stats, tmp_path / "g.png")).stat().st_size > 10_000
    gru = gate_statistics(rnnkit.GRU(2, 4), lambda m: m(torch.randn(3, 7, 2)))
    assert gru.labels == ["reset", "update"] and gru.mean.shape == (2, 1, 7)
    with pytest.raises(KeyError, match="forget"):
        gru.gate("forget")


def test_vanilla_rnn_has_no_gates():
    with pytest.raises(ValueError, match="no gates"):
        gate_statistics(rnnkit.RNN(2, 3), lambda m: m(torch.randn(1, 3, 2)))
