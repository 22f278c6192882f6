"""A traced layer runs on what the tracer can record: torch.nn's ops under the TorchScript
tracer (ONNX's LSTM/GRU/RNN with per-row lengths, both directions, batch and time left
dynamic, whatever backend the layer was built with) and the cell's step inside torch's scan
under torch.export (a dynamic time axis)."""

import warnings

import numpy as np
import pytest
import torch

from rnnkit.kernels.scan import tracing_mode
from rnnkit.layers import GRU, LSTM, RNN


class Outputs(torch.nn.Module):
    """The layer's outputs and final h as plain tensors."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, lengths):
        out, state = self.layer(x, lengths=lengths)
        return out, state[0] if isinstance(state, tuple) else state


def _batches():
    g = torch.Generator().manual_seed(0)
    for B, T in ((1, 5), (3, 17)):
        lengths = torch.randint(1, T + 1, (B,), generator=g)
        lengths[-1] = max(1, T // 3)  # a row shorter than the padded time axis
        yield torch.randn(B, T, 3, generator=g), lengths


@pytest.mark.parametrize("cls,kind", [(LSTM, "LSTM"), (GRU, "GRU"), (RNN, "RNN")])
def test_onnx_export_of_a_bidirectional_stack_with_lengths(tmp_path, cls, kind):
    onnx = pytest.importorskip("onnx", reason="the export extra is not installed")
    ort = pytest.importorskip("onnxruntime", reason="the export extra is not installed")
    model = Outputs(cls(3, 4, num_layers=2, bidirectional=True, backend="kernel")).eval()
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 6, 3), torch.tensor([6, 2])), str(path),
                          dynamo=False, input_names=["x", "lengths"], output_names=["out", "h"],
                          dynamic_axes={"x": {0: "B", 1: "T"}, "lengths": {0: "B"},
                                        "out": {0: "B", 1: "T"}, "h": {1: "B"}})
    assert [n.op_type for n in onnx.load(str(path)).graph.node].count(kind) == 2  # 2 layers
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x, lengths in _batches():
        got = sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy()})
        with torch.no_grad():
            want = model(x, lengths)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b.numpy(), atol=1e-5)
    assert tracing_mode() is None


@pytest.mark.slow
def test_torch_export_keeps_batch_and_time_dynamic():
    from torch.export import Dim, export

    model = Outputs(RNN(3, 4, bidirectional=True)).eval()
    B, T = Dim("batch", min=1), Dim("time", min=1)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = export(model, (torch.randn(2, 6, 3), torch.tensor([6, 2])),
                         dynamic_shapes=({0: B, 1: T}, {0: B}), strict=False)
    for x, lengths in _batches():
        with torch.no_grad():
            got, want = program.module()(x, lengths), model(x, lengths)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
