"""Delegation to torch.nn's fused RNN implementations (cuDNN on CUDA, oneDNN LSTM on a CPU).

Same API as the other backends: batch-first input, unsorted ``lengths`` on any device, torch.nn
state shapes. Only rnnkit's built-in cells qualify (their parameters are torch.nn's), the
projected LSTM (``proj_size``) included.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..cells import GRUCell, LSTMCell, RNNCell
from ..cells.lstm_proj import ProjLSTMCell
from ..cells.states import LSTMState
from ..kernels.common import stack_states

_FUNCS = {
    "lstm": torch.lstm,
    "gru": torch.gru,
    "rnn_tanh": torch.rnn_tanh,
    "rnn_relu": torch.rnn_relu,
}


def torch_mode(layer) -> str | None:
    """The torch.nn function a layer's cells map onto (``"lstm"``, ``"gru"``, ``"rnn_tanh"``,
    ``"rnn_relu"``), or None when they cannot be delegated: cells that are not all one of
    rnnkit's built-in kinds with one bias setting (and, for the RNN, one nonlinearity)."""
    first = layer.cells[0]
    kinds = {type(c) for c in layer.cells}
    if len(kinds) != 1 or type(first) not in (RNNCell, LSTMCell, GRUCell, ProjLSTMCell):
        return None
    if any(c.bias != first.bias for c in layer.cells):
        return None
    if any(getattr(c, "proj_size", 0) != getattr(first, "proj_size", 0) for c in layer.cells):
        return None
    if isinstance(first, LSTMCell):
        return "lstm"
    if isinstance(first, GRUCell):
        return "gru"
    if any(c.nonlinearity != first.nonlinearity for c in layer.cells):
        return None
    return "rnn_" + first.nonlinearity


def torch_forward(layer, x: Tensor, state, lengths: Tensor | None, states: list):
    mode = torch_mode(layer)
    fn = _FUNCS[mode]
    has_bias = layer.cells[0].bias
    params: list[Tensor] = []
    for cell in layer.cells:  # torch.nn's flat order: per layer, per direction
        params += [cell.weight_ih, cell.weight_hh]
        if has_bias:
            params += [cell.bias_ih, cell.bias_hh]
        if mode == "lstm" and getattr(cell, "proj_size", 0):
            params.append(cell.weight_hr)  # torch.nn finds the projection from h's size
    stacked = stack_states(states)
    hx = (stacked.h, stacked.c) if mode == "lstm" else stacked
    common = (params, has_bias, layer.num_layers, layer.dropout, layer.training,
              layer.bidirectional)
    if lengths is None:
        out, *final = fn(x, hx, *common, True)
    else:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        order = packed.sorted_indices
        hx = tuple(h.index_select(1, order) for h in hx) if mode == "lstm" else hx.index_select(
            1, order)
        data, *final = fn(packed.data, packed.batch_sizes, hx, *common)
        out, _ = pad_packed_sequence(
            PackedSequence(data, packed.batch_sizes, order, packed.unsorted_indices),
            batch_first=True, total_length=x.shape[1],
        )
        final = [f.index_select(1, packed.unsorted_indices) for f in final]
    return out, (LSTMState(*final) if mode == "lstm" else final[0])
