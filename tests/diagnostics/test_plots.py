"""The diagnostics' PNGs are drawn without pyplot: a session's backend and figures stay."""

import subprocess
import sys


def test_diagnostic_plots_leave_the_matplotlib_backend_alone(tmp_path):
    """A session that chose a backend keeps it, and no pyplot figure is registered (a
    notebook's ``plt.gcf()`` is not hijacked); the PNGs are still written."""
    code = f"""
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
import torch
import rnnkit
from rnnkit.diagnostics import gate_statistics, gradient_flow
from rnnkit.diagnostics.plots import plot_flow_over_training, plot_gate_stats, plot_gradient_decay
torch.manual_seed(0)
lstm = rnnkit.LSTM(2, 3)
x = torch.randn(2, 5, 2)
flow = gradient_flow(lstm, lambda m: m(x)[0].sum(), jacobian_samples=1)
stats = gate_statistics(lstm, lambda m: m(x))
before = plt.get_fignums()
out = {str(tmp_path)!r}
paths = [plot_gradient_decay({{"T=5": [("lstm", flow, {{}})]}}, out + "/decay.png"),
         plot_flow_over_training([(1, flow), (2, flow)], out + "/flow.png"),
         plot_gate_stats(stats, out + "/gates.png")]
assert all(p is not None for p in paths), paths
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert plt.get_fignums() == before
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
    for name in ("decay", "flow", "gates"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
