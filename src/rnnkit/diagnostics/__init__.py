"""Diagnostics: gradients through time, gate statistics, activation capture, plots, and the
hidden-unit viewer. See docs/diagnostics.md.

Every measurement runs the model's recurrent layer on its reference path
(:meth:`rnnkit.Recurrent.observe_steps`), in evaluation mode, without touching parameter
gradients or the global random stream.
"""

from .capture import capture_activations
from .gates import GateStats, gate_statistics
from .gradients import GradientFlow, GradientFlowCallback, GradNormWatch, gradient_flow

__all__ = [
    "GradientFlow", "gradient_flow", "GradientFlowCallback", "GradNormWatch",
    "GateStats", "gate_statistics", "capture_activations",
]
