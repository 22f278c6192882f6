"""``rnnkit.RNN``, ``rnnkit.LSTM``, ``rnnkit.GRU``: torch.nn's constructors, always batch first;
``rnnkit.IndRNN`` in their style. Each takes a list of hidden sizes too, one per layer
(:mod:`rnnkit.layers.stacked`)."""

from __future__ import annotations

from ..cells import GRUCell, LSTMCell, RNNCell
from ..cells.indrnn import IndRNNCell
from ..cells.lstm_proj import ProjLSTMCell, check_proj_size
from .recurrent import Recurrent
from .stacked import PerLayerSizes


def _check_torch_args(batch_first):
    if batch_first is not True:
        raise ValueError("rnnkit layers are always batch first: x is (B, T, I)")


class RNN(PerLayerSizes, Recurrent):
    """Vanilla RNN layer (:class:`~rnnkit.cells.RNNCell`), arguments as ``torch.nn.RNN``.

    >>> import torch
    >>> rnn = RNN(8, 16, num_layers=2, bidirectional=True)
    >>> out, h = rnn(torch.randn(4, 10, 8))
    >>> tuple(out.shape), tuple(h.shape)
    ((4, 10, 32), (4, 4, 16))

    A ``torch.nn.RNN`` state dict loads unchanged, and the two compute the same:

    >>> _ = torch.manual_seed(0)
    >>> ref = torch.nn.RNN(8, 16, num_layers=2, bidirectional=True, batch_first=True)
    >>> rnn.load_state_dict(ref.state_dict())
    <All keys matched successfully>
    >>> x, h0 = torch.randn(4, 10, 8), torch.randn(4, 4, 16)
    >>> (out, h), (out_ref, h_ref) = rnn(x, h0), ref(x, h0)
    >>> torch.allclose(out, out_ref, atol=1e-5), torch.allclose(h, h_ref, atol=1e-5)
    (True, True)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 dropout=0.0, bidirectional=False, backend="auto", batch_first=True,
                 device=None, dtype=None):
        _check_torch_args(batch_first)
        cell = RNNCell(input_size, hidden_size, bias, nonlinearity, device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.nonlinearity = nonlinearity
        self.bias = bias


class LSTM(PerLayerSizes, Recurrent):
    """LSTM layer (:class:`~rnnkit.cells.LSTMCell`), arguments as ``torch.nn.LSTM``.

    The state is an :class:`~rnnkit.cells.LSTMState` ``(h, c)``, each (L*D, B, H).

    With ``proj_size=P`` (0 < P < H) it is ``torch.nn.LSTM(proj_size=P)``:
    ``h_t = W_hr (o_t * tanh(c_t))`` (:class:`~rnnkit.cells.lstm_proj.ProjLSTMCell`), outputs
    (B, T, D*P), state ``(h (L*D, B, P), c (L*D, B, H))``, parameters ``weight_hr_l{k}``
    (P, H). ``"auto"`` runs it on its hand-written kernel on a CPU, also under
    ``torch.no_grad()`` (oneDNN has no projected LSTM), and on torch.nn (cuDNN) on CUDA.

    >>> import torch
    >>> lstm = LSTM(8, 16, num_layers=2)
    >>> out, (h, c) = lstm(torch.randn(4, 10, 8))
    >>> tuple(out.shape), tuple(c.shape)
    ((4, 10, 16), (2, 4, 16))

    State dicts go both ways with ``torch.nn.LSTM``; with them the outputs agree, and a
    padded row ends in the state of its own last step:

    >>> _ = torch.manual_seed(0)
    >>> ref = torch.nn.LSTM(8, 16, num_layers=2, batch_first=True)
    >>> _ = lstm.load_state_dict(ref.state_dict())
    >>> sorted(lstm.state_dict()) == sorted(ref.state_dict())
    True
    >>> x = torch.randn(4, 10, 8)
    >>> out, (h, c) = lstm(x)
    >>> out_ref, (h_ref, c_ref) = ref(x)
    >>> torch.allclose(out, out_ref, atol=1e-5), torch.allclose(c, c_ref, atol=1e-5)
    (True, True)
    >>> out, (h, c) = lstm(x, lengths=torch.tensor([10, 3, 7, 1]))
    >>> torch.allclose(h[-1, 1], out[1, 2]), bool((out[1, 3:] == 0).all())
    (True, True)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, backend="auto", batch_first=True, proj_size=0,
                 device=None, dtype=None):
        _check_torch_args(batch_first)
        if isinstance(hidden_size, int) and hidden_size > 0:  # else the cell says what is wrong
            check_proj_size(proj_size, hidden_size)
        if proj_size:
            cell = ProjLSTMCell(input_size, hidden_size, bias, proj_size, device=device,
                                dtype=dtype)
        else:
            cell = LSTMCell(input_size, hidden_size, bias, device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.bias = bias
        self.proj_size = proj_size


class GRU(PerLayerSizes, Recurrent):
    """GRU layer (:class:`~rnnkit.cells.GRUCell`), arguments as ``torch.nn.GRU``.

    >>> import torch
    >>> gru = GRU(8, 16)
    >>> out, h = gru(torch.randn(4, 10, 8))
    >>> tuple(h.shape)
    (1, 4, 16)

    Parity with ``torch.nn.GRU``, whose state dict loads unchanged (gradients too):

    >>> _ = torch.manual_seed(0)
    >>> ref = torch.nn.GRU(8, 16, batch_first=True)
    >>> _ = gru.load_state_dict(ref.state_dict())
    >>> x = torch.randn(4, 10, 8)
    >>> torch.allclose(gru(x)[0], ref(x)[0], atol=1e-5)
    True
    >>> gru(x)[0].sum().backward(); ref(x)[0].sum().backward()
    >>> torch.allclose(gru.weight_hh_l0.grad, ref.weight_hh_l0.grad, atol=1e-4)
    True
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, backend="auto", batch_first=True, device=None, dtype=None):
        _check_torch_args(batch_first)
        cell = GRUCell(input_size, hidden_size, bias, device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.bias = bias


class IndRNN(PerLayerSizes, Recurrent):
    """IndRNN layer (:class:`~rnnkit.cells.IndRNNCell`, Li et al. 2018), arguments in the style
    of ``torch.nn.RNN`` (``nonlinearity`` ``"relu"`` by default, as the paper), plus the cell's
    ``recurrent_max``. It has no hand-written kernel: on a CPU ``"auto"`` compiles its step
    (the traced fast path, :mod:`rnnkit.kernels.traced`). State
    (L*D, B, H); parameters ``weight_ih_l{k}`` (H, I), ``weight_hh_l{k}`` (H,): the per-unit
    recurrent vector, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (H).

    >>> import torch
    >>> layer = IndRNN(8, 16, num_layers=2, bidirectional=True)
    >>> out, h = layer(torch.randn(4, 10, 8), lengths=torch.tensor([10, 3, 7, 1]))
    >>> tuple(out.shape), tuple(h.shape), tuple(layer.weight_hh_l1_reverse.shape)
    ((4, 10, 32), (4, 4, 16), (16,))
    >>> layer.resolve_backend(out.device), bool((out[1, 3:] == 0).all())
    ('traced', True)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="relu", bias=True,
                 dropout=0.0, bidirectional=False, backend="auto", batch_first=True,
                 recurrent_max=None, device=None, dtype=None):
        _check_torch_args(batch_first)
        cell = IndRNNCell(input_size, hidden_size, bias, nonlinearity, recurrent_max,
                          device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.recurrent_max = cell.recurrent_max
