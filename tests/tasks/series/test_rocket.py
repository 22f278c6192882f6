"""The series classifier's random-convolution branch: MiniRocket features against a direct
loop, the ridge's leave-one-out shortcut against refitting without each row, and the branch in
a trained run (mixing, files, export-free loading, old runs)."""

import json

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.tasks.common.mixing import combine
from rnnkit.tasks.series.branch import RocketBranch
from rnnkit.tasks.series.ridge import ALPHAS, Ridge
from rnnkit.tasks.series.rocket import (
    KERNEL_SIZE,
    NUM_KERNELS,
    RocketConfig,
    RocketFeatures,
    fit_dilations,
    kernels,
    quantiles,
)


def test_kernels_are_minirockets():
    w = kernels()[:, 0]
    assert w.shape == (84, 9) and NUM_KERNELS == 84
    assert torch.all(w.sum(1) == 0)  # blind to the level
    assert torch.all((w == 2).sum(1) == 3) and torch.all((w == -1).sum(1) == 6)
    assert len({tuple(r.tolist()) for r in w}) == 84


@pytest.mark.parametrize("length,features", [(150, 10_000), (24, 10_000), (9, 500),
                                             (2000, 2000)])
def test_dilations(length, features):
    d, c = fit_dilations(length, features)
    assert sum(c) == features // 84 and min(c) >= 1
    assert d[0] == 1 and all(a < b for a, b in zip(d, d[1:]))
    assert d[-1] <= max(1, (length - 1) / (KERNEL_SIZE - 1))
    assert len(d) <= 32


def test_quantiles_low_discrepancy():
    q = quantiles(5)
    assert q[0].item() == pytest.approx((np.sqrt(5) - 1) / 2)
    assert torch.all((q > 0) & (q < 1)) and len(set(q.tolist())) == 5


def _manual_ppv(x, w, d, bias, inside):
    """PPV of kernel w (9,) at dilation d on x (T,), zero padding, by a plain loop."""
    T, p = len(x), (KERNEL_SIZE - 1) * d // 2
    z = [sum(w[m] * (x[t + (m - 4) * d] if 0 <= t + (m - 4) * d < T else 0.0)
             for m in range(KERNEL_SIZE)) for t in range(T)]
    steps = [t for t in range(T) if (p <= t < T - p)] if inside else list(range(T))
    steps = steps or list(range(T))
    return np.mean([z[t] > bias for t in steps])


def test_features_equal_a_direct_loop():
    rng = np.random.default_rng(0)
    train = [rng.normal(size=(int(n), 2)).astype(np.float32) for n in rng.integers(30, 60, 8)]
    f = RocketFeatures.fit(train, num_features=84 * 6, seed=1)
    x = rng.normal(size=(41, 2)).astype(np.float32)
    got = f.transform([x])[0]
    w = kernels()[:, 0].double().numpy()
    col = 0
    for i, (d, c) in enumerate(zip(f.dilations, f.counts)):
        chans = getattr(f, f"channels{i}").numpy()
        biases = getattr(f, f"bias{i}").numpy()
        for k in (0, 1, 83):  # a kernel of each padding kind
            xs = (x.astype(np.float64) * chans[k]).sum(1)  # its features, summed
            for j in range(c):
                want = _manual_ppv(xs, w[k], d, biases[k, j], inside=(k + i) % 2 == 1)
                assert got[col + k * c + j].item() == pytest.approx(want, abs=1e-6)
        col += NUM_KERNELS * c
    assert col == f.num_features


def test_padding_does_not_leak_and_order_is_kept():
    rng = np.random.default_rng(1)
    train = [rng.normal(size=(50, 1)) for _ in range(5)]
    f = RocketFeatures.fit(train, num_features=840)
    a, b = rng.normal(size=(12, 1)), rng.normal(size=(70, 1))
    both = f.transform([a, b], batch_size=2)
    torch.testing.assert_close(both[0], f.transform([a])[0])
    torch.testing.assert_close(both[1], f.transform([b])[0])
    assert torch.all((both >= 0) & (both <= 1))


def _brute_loo(X, y, C, alpha):
    """Leave-one-out scores by refitting without each row (features standardised with the
    full statistics, as the shortcut assumes; intercept unpenalised)."""
    X = X.double()
    Xs = (X - X.mean(0)) / X.std(0, correction=0)
    Y = torch.where(torch.nn.functional.one_hot(torch.tensor(y), C).bool(), 1.0, -1.0).double()
    out = torch.empty_like(Y)
    for i in range(len(y)):
        keep = [j for j in range(len(y)) if j != i]
        Xk, Yk = Xs[keep], Y[keep]
        mx, my = Xk.mean(0), Yk.mean(0)
        A = (Xk - mx).T @ (Xk - mx) + alpha * torch.eye(X.shape[1], dtype=torch.float64)
        W = torch.linalg.solve(A, (Xk - mx).T @ (Yk - my))
        out[i] = (Xs[i] - mx) @ W + my
    return out, Y


@pytest.mark.parametrize("n,f", [(12, 30), (30, 5)])  # more features than rows, and fewer
def test_ridge_leave_one_out_equals_refitting(n, f):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, f, generator=g)
    y = [i % 3 for i in range(n)]
    X[:, 0] += torch.tensor(y, dtype=torch.float32)  # some signal
    errs = []
    for a in ALPHAS:
        loo, Y = _brute_loo(X, y, 3, a)
        errs.append(float(((Y - loo) ** 2).sum()))
    r = Ridge.fit(X, y, 3)
    assert r.alpha == ALPHAS[int(np.argmin(errs))]
    # the fitted model equals the closed form on all rows at the chosen penalty
    Xs = (X.double() - X.double().mean(0)) / X.double().std(0, correction=0)
    Yall = torch.where(torch.nn.functional.one_hot(torch.tensor(y), 3).bool(), 1.0, -1.0)
    Yall = Yall.double()
    W = torch.linalg.solve(Xs.T @ Xs + r.alpha * torch.eye(f, dtype=torch.float64),
                           Xs.T @ (Yall - Yall.mean(0)))
    torch.testing.assert_close(r.scores(X).double(), Xs @ W + Yall.mean(0), atol=1e-4,
                               rtol=1e-4)
    p = r.proba(X)
    torch.testing.assert_close(p.sum(1), torch.ones(n))
    assert r.scale > 0


def _freq_series(n, seed, T=60):
    """Class 0: a slow sine, class 1: a fast one, random phase and noise."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in range(n):
        f = (1.5, 4.0)[i % 2]
        t = np.arange(T + int(rng.integers(-10, 10)))
        xs.append((np.sin(2 * np.pi * f * t / T + rng.uniform(0, 6.3))
                   + rng.normal(scale=0.3, size=len(t)))[:, None].astype(np.float32))
        ys.append(i % 2)
    return xs, ys


def test_branch_learns_frequency_and_round_trips(tmp_path):
    xs, ys = _freq_series(40, 0)
    xt, yt = _freq_series(60, 1)
    b = RocketBranch.fit(xs, ys, 2, RocketConfig(features=840))
    p = b.proba(xt)
    assert (p.argmax(1) == torch.tensor(yt)).float().mean() >= 0.95
    b.mix_weight = 0.35
    b.save(tmp_path)
    again = RocketBranch.load(tmp_path)
    torch.testing.assert_close(again.proba(xt), p)
    assert again.mix_weight == 0.35 and again.features.dilations == b.features.dilations


def _write_ts(path, xs, ys):
    lines = ["@problemName F", "@univariate true", "@equalLength false",
             "@classLabel true slow fast", "@data"]
    lines += [",".join(f"{v:.4f}" for v in x[:, 0]) + (":fast" if y else ":slow")
              for x, y in zip(xs, ys)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_trained_run_mixes_its_branch(tmp_path):
    train = _write_ts(tmp_path / "F_TRAIN.ts", *_freq_series(40, 0))
    test = _write_ts(tmp_path / "F_TEST.ts", *_freq_series(30, 1))
    run = rnnkit.fit("series-classify", data={"data": train},
                     model={"encoder": {"hidden": 8}, "rocket": {"features": 840}},
                     train={"steps": 3}, out=tmp_path / "runs")
    assert (run / "rocket.safetensors").is_file() and (run / "rocket.json").is_file()
    m = rnnkit.load(run)
    d = m.read(test)
    parts = m.component_proba(d)
    w = json.loads((run / "rocket.json").read_text())["mix_weight"]
    assert m.rocket.mix_weight == w and 0 <= w <= 1
    torch.testing.assert_close(m.predict_proba(d), combine(parts["rnn"], parts["rocket"], w))
    rep = json.loads((run / "dev_report.json").read_text())
    assert rep["components"]["rocket_weight"] == w
    assert m.evaluate(test)["accuracy"] >= 0.9  # three recurrent steps: the branch carries it

    (run / "rocket.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="rocket branch"):
        rnnkit.load(run)

    plain = rnnkit.fit("series-classify", data={"data": train},
                       model={"encoder": {"hidden": 8}, "rocket": {"weight": 0}},
                       train={"steps": 3}, out=tmp_path / "runs0")
    m0 = rnnkit.load(plain)
    assert m0.rocket is None and not (plain / "rocket.json").exists()
    torch.testing.assert_close(m0.predict_proba(m0.read(test)),
                               m0.component_proba(m0.read(test))["rnn"])


def test_weight_prior_decides_small_validation_sets_and_yields_to_data():
    from rnnkit.tasks.common.mixing import choose_weight

    sure = torch.tensor([[0.99, 0.01]] * 5)
    # five validation series both parts get right: the log-loss alone picks the surer part,
    # the Beta(4, 2) prior its most probable weight
    assert choose_weight(sure, torch.tensor([[0.9, 0.1]] * 5), [0] * 5) == 0.0
    assert choose_weight(sure, torch.tensor([[0.9, 0.1]] * 5), [0] * 5, prior=(4, 2)) == 0.75
    # forty where the branch is confidently wrong: the data win
    wrong = torch.tensor([[0.05, 0.95]] * 40)
    assert choose_weight(torch.tensor([[0.9, 0.1]] * 40), wrong, [0] * 40,
                         prior=(4, 2)) == 0.05


@pytest.mark.parametrize("bad", [{"weight": 1.5}, {"weight": -0.5}, {"features": 10}])
def test_bad_rocket_settings(bad):
    with pytest.raises(ValueError, match="rocket_"):
        RocketConfig(**bad).validate()
