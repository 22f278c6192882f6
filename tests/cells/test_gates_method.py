"""The cells' gates() methods: the activated gates that step() is built from."""

import torch

from rnnkit.cells import GRUCell, LSTMCell, LSTMState


def test_lstm_gates_match_torch_nn_gate_layout():
    ref = torch.nn.LSTMCell(3, 4).double()
    cell = LSTMCell(3, 4).double()
    cell.load_state_dict(ref.state_dict())
    x, h, c = (torch.randn(2, n, dtype=torch.float64) for n in (3, 4, 4))
    a = x @ ref.weight_ih.T + ref.bias_ih + h @ ref.weight_hh.T + ref.bias_hh
    i, f, g, o = a.chunk(4, 1)
    got = cell.gates(x, LSTMState(h, c))
    for name, want in zip("ifgo", (i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid())):
        torch.testing.assert_close(getattr(got, name), want)
    h1, c1 = ref(x, (h, c))
    y, state = cell.step(x, LSTMState(h, c))
    torch.testing.assert_close(state.c, c1)
    torch.testing.assert_close(y, h1)


def test_gru_gates_and_step_match_torch_nn():
    ref = torch.nn.GRUCell(3, 4).double()
    cell = GRUCell(3, 4).double()
    cell.load_state_dict(ref.state_dict())
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    r, z, n = cell.gates(x, h)
    torch.testing.assert_close((1 - z) * n + z * h, ref(x, h))
    assert bool(((r > 0) & (r < 1) & (z > 0) & (z < 1)).all()) and bool((n.abs() < 1).all())
    torch.testing.assert_close(cell.step(x, h)[0], ref(x, h))
