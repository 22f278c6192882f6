"""``rnnkit train TASK``: one parser per registered task, generated from its settings
dataclass, and one generic path for all of them (:func:`rnnkit.tasks.lifecycle.train`).

A task's command-line side (``spec.cli``, a module) may add:

* ``add_train_args(parser)``: options that are not settings (``--sample-length``);
* ``after_train(args, loaded) -> int``: print the trained run's report;
* ``CLAIMS = {"classify": predicate}``: take over ``rnnkit train classify`` when
  ``predicate(args)`` says the arguments are this task's data (numeric series).
"""

from __future__ import annotations

import sys
import time

from ..tasks import lifecycle, registry
from ..train.device import DEVICE_HELP
from ..train.distributed import Distributed, Terminated, sigterm_raises
from .common import UserError
from .options import add_config_file, add_options, file_overrides, given
from .progress import Progress, finished_run

TITLES = {"data": "data", "model": "model", "encoder": "encoder", "train": "training",
          "ngram": "n-gram branch", "rocket": "random-convolution (MiniRocket) branch"}


def register(sub) -> None:
    train = sub.add_parser("train", help="train a model (writes a run folder)")
    kinds = train.add_subparsers(dest="task", required=True, metavar="TASK")
    for spec in registry.TASKS:
        p = kinds.add_parser(spec.name, help=spec.help, description=spec.description)
        opts = add_options(p, spec.default_config(), spec.hidden_options, TITLES)
        run = p.add_argument_group("run")
        add_config_file(run)
        run.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
        run.add_argument("--resume", metavar="RUN",
                         help="continue the run in this folder (under its saved settings)")
        run.add_argument("--threads", type=int, default=0,
                         help="torch threads (default: 0, all cores)")
        run.add_argument("--device", default="auto",
                         help=f"where to train: {DEVICE_HELP} (default: auto; a resumed run "
                         "may move)")
        if spec.cli is not None and hasattr(spec.cli, "add_train_args"):
            spec.cli.add_train_args(run)
        p.set_defaults(func=run_train, spec=spec, options=opts)


def route(argv: list[str]) -> tuple[list[str], str | None]:
    """``train X ...`` handed to the task that claims those arguments (numeric series given
    to ``train classify``); returns the command line and the task it went to (else None)."""
    i = next((k for k, a in enumerate(argv) if not a.startswith("-")), None)
    if i is None or argv[i] != "train" or i + 1 >= len(argv):
        return argv, None
    asked, rest = argv[i + 1], argv[i + 2:]
    for spec in registry.TASKS:
        claim = getattr(spec.cli, "CLAIMS", {}).get(asked)
        if claim is not None and claim(rest):
            return [*argv[: i + 1], spec.name, *rest], spec.name
    return argv, None


def lost_peer(args, task: str, rank: int, error: Exception, started: float) -> str:
    """What a process says when another process of its run died (torchrun then stops all):
    how to continue the run when it has a checkpoint (a resumed run, or a run folder this
    command created), else that it stopped before its first checkpoint."""
    from pathlib import Path

    def checkpointed(p: Path) -> bool:
        return (p / "checkpoints" / "last.safetensors").is_file()

    if args.resume:
        run = args.resume
    else:  # only a run folder created by this command (not an older run in --out)
        mine = [p for p in Path(args.out).glob(f"{task}-*")
                if (p / "config.json").is_file() and (p / "config.json").stat().st_mtime
                >= started - 1]
        run = str(max(mine, key=lambda p: p.stat().st_mtime)) if mine else None
    first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error)
    if isinstance(error, Terminated):
        what = (f"process {rank}: ended by SIGTERM (what torchrun sends when another process "
                "of this run stopped, or a scheduler ending the job)")
    else:
        what = f"process {rank}: another process of this run stopped ({first})"
    if run is None or not checkpointed(Path(run)):
        return (f"{what} before the run's first checkpoint; the error of the process that "
                "stopped says why")
    return (f"{what}; the last checkpoint is intact: continue it with "
            f"`rnnkit train {task} --resume {run}`")


def settings_of(args):
    """The settings a new run trains under: defaults <- --config FILE <- given options."""
    spec = args.spec
    settings = lifecycle.make_settings(spec, None, file_overrides(args.config, spec.name))
    return lifecycle.make_settings(spec, settings, given(args, args.options))


def run_train(args) -> int:
    import torch

    spec, dist = args.spec, Distributed.from_env()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = None
    if args.resume:
        if args.config:
            raise UserError("--config and --resume: a resumed run keeps its saved settings")
        overrides = given(args, args.options)
        settings = lifecycle.resumed_settings(spec, args.resume, overrides)
        what = f"resuming the {spec.name} run in {args.resume}"
    else:
        settings = settings_of(args)
        spec.finalize(settings)
        what = f"training a {spec.describe(settings)}"
    if dist.is_main:
        procs = f" on {dist.world} processes" if dist.active else ""
        print(what + procs, file=sys.stderr)
    t = settings.train
    started = time.time()
    progress = Progress(budget_s=t.minutes * 60 if t.minutes else None, steps=t.steps,
                        unit=spec.unit)
    try:
        with sigterm_raises(dist.active):
            run = lifecycle.train(spec, settings, out=args.out, resume=args.resume,
                                  callbacks=[progress], device=args.device, dist=dist,
                                  overrides=overrides)
    except RuntimeError as e:
        if not dist.active:
            raise
        raise UserError(lost_peer(args, spec.name, dist.rank, e, started)) from None
    finally:
        dist.stop()
    if not dist.is_main:
        return 0
    if finished_run(run, spec.name) is None:
        return 130
    after = getattr(spec.cli, "after_train", None)
    if after is None:
        return 0
    return int(after(args, lifecycle.load(spec, run, device=args.device)) or 0)
