"""Recurrent.observe_steps: the per-step hook on the reference path."""

import pytest
import torch

import rnnkit


def test_hook_sees_every_step_of_every_cell_and_forces_the_reference_path():
    layer = rnnkit.LSTM(3, 5, num_layers=2, bidirectional=True).double()
    assert layer.resolve_backend(torch.device("cpu")) == "kernel"
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    expected, _ = layer(x)
    seen = []

    def hook(k, t, x_t, prev, h, new):
        assert layer.resolve_backend(torch.device("cpu")) == "reference"
        assert h is new.h and x_t.shape == (2, 3 if k < 2 else 10) and prev.c.shape == (2, 5)
        seen.append((k, t))

    with layer.observe_steps(hook):
        out, _ = layer(x)
    assert sorted(seen) == [(k, t) for k in range(4) for t in range(7)]
    torch.testing.assert_close(out, expected)  # the reference path equals the kernel
    assert layer._step_hook is None and layer.resolve_backend(torch.device("cpu")) == "kernel"


def test_hook_is_removed_after_an_error_and_blocks_do_not_nest():
    layer = rnnkit.GRU(2, 3)
    with pytest.raises(ZeroDivisionError):
        with layer.observe_steps(lambda *a: 1 / 0):
            layer(torch.randn(1, 2, 2))
    assert layer._step_hook is None
    with layer.observe_steps(lambda *a: None):
        with pytest.raises(RuntimeError, match="nested"):
            with layer.observe_steps(lambda *a: None):
                pass
