"""Gradients through time: dL/dh_t against an independent autograd loop, Jacobian estimates
against exact Jacobians, and the training callbacks."""

import json
import logging
import math

import pytest
import torch

import rnnkit
from rnnkit.cells import LSTMState
from rnnkit.diagnostics.gradients import (
    GradientFlow,
    GradientFlowCallback,
    GradNormWatch,
    gradient_flow,
)
from rnnkit.tasks.common.encoder import EncoderConfig
from rnnkit.tasks.longlag.model import LongLagConfig, LongLagModel, LongLagTask
from rnnkit.train.loop import TrainConfig, Trainer

B, T, I, H = 3, 6, 2, 4


def _loss(out, final, weights):
    """Depends on every output and on the final state (so both gradient paths matter)."""
    h = final.h if isinstance(final, LSTMState) else final
    loss = (out * weights).sum() + (h**2).sum()
    if isinstance(final, LSTMState):
        loss = loss + final.c.sin().sum()
    return loss


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_grad_h_equals_a_manual_loop_with_retain_grad(kind):
    layer = {"rnn": rnnkit.RNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[kind](
        I, H, num_layers=2).double()
    x = torch.randn(B, T, I, dtype=torch.float64)
    w = torch.randn(B, T, H, dtype=torch.float64)
    flow = gradient_flow(layer, lambda m: _loss(*m(x), w), jacobian_samples=0)

    # Independently: unroll each layer's cell by hand, keep every h_t (and c_t), backward.
    hs, cs, inp, finals = [], [], x, []
    for cell in layer.cells:
        state, outs = cell.initial_state(B, dtype=torch.float64), []
        for t in range(T):
            y, state = cell.step(inp[:, t], state)
            y.retain_grad()
            hs.append(y)
            if isinstance(state, LSTMState):
                state.c.retain_grad()
                cs.append(state.c)
            outs.append(y)
        inp = torch.stack(outs, 1)
        finals.append(state)
    final = (LSTMState(*(torch.stack(p) for p in zip(*finals))) if kind == "lstm"
             else torch.stack(finals))
    _loss(inp, final, w).backward()
    want = torch.tensor([h.grad.norm().item() for h in hs]).view(2, T)
    torch.testing.assert_close(flow.grad_h, want, rtol=1e-6, atol=0)
    if kind == "lstm":
        want_c = torch.tensor([c.grad.norm().item() for c in cs]).view(2, T)
        torch.testing.assert_close(flow.grad_state["c"], want_c, rtol=1e-6, atol=0)
    else:
        assert flow.grad_state == {}
    assert flow.names == ["layer0", "layer1"]
    assert flow.loss == pytest.approx(_loss(*layer(x), w).item())


@pytest.mark.parametrize("a", [0.5, 1.5])
def test_vanishing_and_exploding_are_exact_for_a_scaled_orthogonal_recurrence(a):
    # With zero inputs and biases h stays 0, tanh'(0) = 1, so dh_T/dh_t = W^(T-1-t) and, for
    # W = a Q with Q orthogonal, every gradient shrinks or grows by exactly a per step.
    rnn = rnnkit.RNN(2, 5).double()
    q, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))
    with torch.no_grad():
        rnn.cells[0].weight_hh.copy_(a * q)
        rnn.cells[0].bias_hh.zero_()
        rnn.cells[0].bias_ih.zero_()
    x = torch.zeros(4, 12, 2, dtype=torch.float64)
    r = torch.randn(4, 5, dtype=torch.float64)
    flow = gradient_flow(rnn, lambda m: (m(x)[0][:, -1] * r).sum(), jacobian_samples=1)
    decay = GradientFlow.by_distance(flow.grad_h[0])
    want = torch.tensor([a**d * r.norm().item() for d in range(12)])
    torch.testing.assert_close(decay, want.float(), rtol=1e-5, atol=0)
    assert flow.ratio(11) == pytest.approx(a**11, rel=1e-5)
    # the Jacobian's RMS singular value is a^d as well; one Gaussian probe per row estimates it
    jac = GradientFlow.by_distance(flow.jacobian[0])
    ratios = jac / torch.tensor([a**d for d in range(12)])
    assert torch.allclose(ratios, ratios[0].expand(12), rtol=1e-5)  # same probe, same factor


def test_jacobian_estimate_matches_the_exact_jacobian():
    lstm = rnnkit.LSTM(2, H).double()
    x = torch.randn(B, T, 2, dtype=torch.float64)
    flow = gradient_flow(lstm, lambda m: m(x)[0].sum(), jacobian_samples=400, seed=1)
    hs = []
    with lstm.observe_steps(lambda k, t, x_t, prev, h, new: hs.append(h)):
        lstm(x)
    exact = []
    for t in range(T):  # rows of dh_{T-1}/dh_t for each sequence, one unit at a time
        sq = 0.0
        for j in range(H):
            g, = torch.autograd.grad(hs[-1][:, j].sum(), hs[t], retain_graph=True)
            sq += g.pow(2).sum().item()
        exact.append(math.sqrt(sq / (B * H)))
    torch.testing.assert_close(flow.jacobian[0], torch.tensor(exact).float(), rtol=0.1, atol=0)
    assert flow.jacobian[0, -1].item() == pytest.approx(1.0, rel=0.1)  # the identity


def test_no_side_effects_on_parameters_mode_or_random_stream():
    model = LongLagModel("adding", EncoderConfig(cell="lstm", hidden=6))
    model.train()
    x, y = torch.rand(4, 9, 2), torch.rand(4)
    rng = torch.get_rng_state()
    flow = gradient_flow(model, lambda m: ((m(x) - y) ** 2).mean(), jacobian_samples=2)
    assert all(p.grad is None for p in model.parameters())
    assert model.training and torch.equal(torch.get_rng_state(), rng)
    assert flow.grad_h.shape == (1, 9) and bool((flow.grad_h > 0).all())


def test_errors_are_clear():
    lstm = rnnkit.LSTM(2, 3)
    with pytest.raises(ValueError, match="scalar"):
        gradient_flow(lstm, lambda m: m(torch.randn(2, 4, 2))[0])
    with pytest.raises(ValueError, match="no_grad"):
        gradient_flow(lstm, lambda m: m(torch.randn(1, 3, 2))[0].sum().detach())
    with pytest.raises(ValueError, match="0 rnnkit.Recurrent"):
        gradient_flow(torch.nn.Linear(2, 2), lambda m: m(torch.randn(1, 2)).sum())
    two = torch.nn.ModuleDict({"a": rnnkit.GRU(2, 3), "b": rnnkit.GRU(3, 3)})
    with pytest.raises(ValueError, match="pass layer="):
        gradient_flow(two, lambda m: m["a"](torch.randn(1, 2, 2))[0].sum())
    flow = gradient_flow(two, lambda m: m["b"](m["a"](torch.randn(1, 5, 2))[0])[0].sum(),
                         layer="a")
    assert flow.grad_h.shape == (1, 5)


def _adding_run(callbacks, steps=30):
    torch.manual_seed(0)
    cfg = LongLagConfig(task="adding", T=10, batch_size=16, eval_size=32,
                        encoder=EncoderConfig(cell="gru", hidden=8))
    model, task = LongLagModel("adding", cfg.encoder), LongLagTask(cfg, seed=0)
    trainer = Trainer(model, task, TrainConfig(steps=steps, log_every=10, lr=1e-2),
                      callbacks=callbacks)
    return model, task, trainer


def test_callback_records_to_the_run_folder_without_changing_training(tmp_path):
    model_a, _, trainer = _adding_run([])
    trainer.fit()
    model_b, task, trainer = _adding_run([])
    x, y = task.held_batch(8)
    cb = GradientFlowCallback(model_b, lambda m: ((m(x) - y) ** 2).mean(), tmp_path, every=30)
    trainer.callbacks.append(cb)
    trainer.fit()
    for pa, pb in zip(model_a.parameters(), model_b.parameters()):
        assert torch.equal(pa, pb)  # the measurements did not disturb the run
    lines = [json.loads(s) for s in (tmp_path / "gradient_flow.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [10, 30] and [s for s, _ in cb.records] == [10, 30]
    assert len(lines[0]["grad_h"][0]) == 10 and len(lines[1]["jacobian"][0]) == 10
    assert (tmp_path / "gradient_flow.png").stat().st_size > 10_000


def test_grad_norm_watch_warns_on_explosion_once_per_burst(caplog):
    watch = GradNormWatch(factor=10, window=20)
    norms = [1.0, 1.2, 0.9, 1.1, 1.0, 5.0, 1.0, 30.0, 40.0, 1.0, 35.0]
    with caplog.at_level(logging.WARNING, logger="rnnkit.diagnostics.gradients"):
        for step, g in enumerate(norms, 1):
            watch("log", {"step": step, "grad_norm": g, "clip_frac": 0.5})
        watch("end", {"step": 11})
    assert watch.alerts == 3 and watch.warnings == 1  # 5.0 is only 5x the median
    first, summary = [r.getMessage() for r in caplog.records]
    assert "step 8" in first and "exploding" in first and "30x" in first
    assert summary.startswith("2 more logged gradient norms exploded")
    with pytest.raises(ValueError):
        GradNormWatch(factor=1.0)
