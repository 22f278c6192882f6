"""Long time-lag problems (the adding problem, the copy task): which cells carry information
across T steps, and how their gradients decay."""

from .bench import bench_longlag
from .model import (
    BLANK,
    DELIM,
    KINDS,
    LongLagConfig,
    LongLagModel,
    LongLagTask,
    adding_baseline,
    adding_problem,
    copy_baseline,
    copy_task,
    longlag_loss,
)
from .task import TASK, LongLagResult, LongLagSettings, default_train_config, train_longlag

__all__ = ["BLANK", "DELIM", "KINDS", "TASK", "LongLagConfig", "LongLagModel", "LongLagResult",
           "LongLagSettings", "LongLagTask", "adding_baseline", "adding_problem", "bench_longlag",
           "copy_baseline", "copy_task", "default_train_config", "longlag_loss",
           "train_longlag"]
