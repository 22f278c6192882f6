"""The kernels' reused buffers: handed out again only once nothing else refers to them, so a
graph kept for a later backward pass never sees its saved tensors overwritten."""

import pytest
import torch

import rnnkit
from rnnkit.kernels import native, workspace

pooled = pytest.mark.skipif(workspace._ALONE is None, reason="storage use counts unavailable")


@pytest.fixture(autouse=True)
def _empty_pool():
    workspace.release()
    yield
    workspace.release()


@pooled
def test_a_buffer_is_reused_only_after_its_user_lets_go():
    like = torch.empty(0)
    n = 2 * workspace.MIN_ELEMS
    a = workspace.take(n, like)
    b = workspace.take(n, like)
    assert a.data_ptr() != b.data_ptr()  # a is still referenced
    a_ptr = a.data_ptr()
    view = a.view(2, -1)
    del a
    c = workspace.take(n, like)
    c_ptr = c.data_ptr()
    assert c_ptr not in (a_ptr, b.data_ptr())  # a view of a still holds it
    del view, c
    d = workspace.take(n // 2, like)  # a smaller request fits a freed buffer
    assert d.data_ptr() in (a_ptr, c_ptr) and d.numel() == n // 2
    assert workspace.held_bytes() == 3 * n * 4


@pooled
def test_small_requests_and_the_byte_cap_are_not_pooled(monkeypatch):
    like = torch.empty(0)
    workspace.take(10, like)
    assert workspace.held_bytes() == 0
    monkeypatch.setattr(workspace, "MAX_BYTES", workspace.MIN_ELEMS * 4 * 2)
    keep = [workspace.take(workspace.MIN_ELEMS, like) for _ in range(3)]  # third: over the cap
    assert workspace.held_bytes() == 2 * workspace.MIN_ELEMS * 4
    assert len({k.data_ptr() for k in keep}) == 3


@pytest.mark.skipif(native.library() is None, reason=f"native unavailable: {native.status()}")
@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU])
def test_graph_kept_for_later_backward_keeps_its_saved_buffers(cls):
    """Forward twice before either backward (and retain_graph): the second forward must not
    reuse the first one's saved gates, which are large enough to come from the pool."""
    torch.manual_seed(0)
    layer = cls(64, 128, backend="kernel")
    x1, x2 = torch.randn(2, 40, 64, 64).unbind(0)  # (B, T, I): 40 x 64 x 512 gates, pooled
    params = list(layer.parameters())

    def grads(x, retain=False):
        out, _ = layer(x)
        return torch.autograd.grad(out.square().sum(), params, retain_graph=retain)

    ref1, ref2 = grads(x1), grads(x2)
    out1, _ = layer(x1)
    out2, _ = layer(x2)  # x1's graph still holds its saved tensors
    g2 = torch.autograd.grad(out2.square().sum(), params)
    g1a = torch.autograd.grad(out1.square().sum(), params, retain_graph=True)
    layer(x2)[0].sum().backward()  # another call in between a retained graph's two backwards
    g1b = torch.autograd.grad(out1.square().sum(), params)
    for got, want in ((g1a, ref1), (g1b, ref1), (g2, ref2)):
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)
