"""Running a command on a run folder: find the run's task in the registry, load the run and
hand it to the task's command-line side (``spec.cli.COMMAND(args, loaded, ...)``)."""

from __future__ import annotations

from ..tasks import lifecycle, registry
from ..train.device import DEVICE_HELP
from .common import UserError

# The commands a trained run can be given, in the order a hint suggests them.
RUN_COMMANDS = ("sample", "translate", "forecast", "predict", "eval")


def add_device(p) -> None:
    """``--device`` of a command that runs a model."""
    p.add_argument("--device", default="auto", help=f"where the model runs: {DEVICE_HELP} "
                   "(default: auto)")


def supporting(command: str) -> list[str]:
    """The tasks whose runs ``rnnkit COMMAND`` works on."""
    return [t.name for t in registry.TASKS if getattr(t.cli, command, None) is not None]


def run_command(command: str, args, *extra) -> int:
    """``rnnkit COMMAND RUN ...``: the run's task does it, or a one-line error says which
    tasks do and what this run can be given instead."""
    spec, saved = registry.of_run(args.run)
    fn = getattr(spec.cli, command, None)
    if fn is None:
        others = [c for c in RUN_COMMANDS if getattr(spec.cli, c, None) is not None]
        hint = f" (for this run use `rnnkit {others[0]} {args.run}`)" if others else ""
        tasks = supporting(command)
        listed = ", ".join(tasks[:-1]) + f" and {tasks[-1]}" if len(tasks) > 1 else tasks[0]
        raise UserError(f"{args.run}: a {spec.name!r} run; {command} works on {listed} "
                        f"runs{hint}")
    loaded = lifecycle.load(spec, args.run, getattr(args, "checkpoint", "best"), saved,
                            getattr(args, "device", "auto"))
    return int(fn(args, loaded, *extra) or 0)
