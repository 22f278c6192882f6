"""What the training loop needs from a task (language model, classifier, tagger, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from .distributed import Shard


@dataclass
class StepOutput:
    loss: Tensor  # scalar, mean over the items it scores; backward() is called on it
    items: int  # items processed (characters, tokens, sequences): for the items/s readout
    lr_scale: float = 1.0  # e.g. random-length BPTT windows
    epoch: float = 0.0  # epochs completed so far, fractional
    # With many processes: the share of the global batch this process's loss stands for
    # (its rows, or its examples; 0 for a batch too small to share); see distributed.Shard.
    share: float = 1.0


class Task:
    """A task drives one model: it owns the data, the per-step loss and the evaluation.

    Subclasses implement :meth:`train_step` and :meth:`evaluate`; :meth:`state_dict` holds
    whatever an exact resume needs (data position, carried hidden state). Batches go to the
    model's device (:func:`rnnkit.train.device.to_device`); with many processes, a step trains
    on ``self.shard``'s share of the global batch (the Trainer sets it).
    """

    items_name = "items"
    shard: Shard = Shard()

    def train_step(self, model: nn.Module) -> StepOutput:  # pragma: no cover - interface
        raise NotImplementedError

    def evaluate(self, model: nn.Module, max_items: int | None = None) -> dict[str, float]:
        """Metrics on the validation data; must contain ``"loss"`` (lower is better)."""
        raise NotImplementedError  # pragma: no cover - interface

    def plan_for_budget(self, model: nn.Module, epochs: float) -> dict[str, Any]:
        """Settings chosen once the trainer knows about how many ``epochs`` the budget holds
        (measured throughput under a wall-clock budget), applied to ``model``; returned (JSON-
        able) to be logged and saved in checkpoints. Default: nothing to choose."""
        return {}

    def apply_plan(self, model: nn.Module, plan: dict[str, Any]) -> None:
        """Apply a plan :meth:`plan_for_budget` returned (on a resume)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class BatchedTask(Task):
    """A task that draws batches from ``self.batcher`` (a
    :class:`~rnnkit.data.batching.BucketBatcher`) and random numbers from ``self.gen`` (a
    ``torch.Generator``): both are its resume state."""

    batcher: Any
    gen: Any

    def state_dict(self) -> dict[str, Any]:
        return {"batcher": self.batcher.state_dict(), "gen": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batcher.load_state_dict(state["batcher"])
        self.gen.set_state(state["gen"])
