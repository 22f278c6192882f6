"""Command-line options generated from the config dataclasses (the one source of defaults).

Every field of a task's settings becomes an option (:func:`rnnkit.config.options`): its help
is the field's comment, its default the settings' value, printed once; ``Literal`` fields get
``choices``; booleans are ``--flag/--no-flag``; nested sections are prefixed unless declared
bare. Only the options given on the command line override anything: they are applied over
``--config FILE`` (TOML or JSON, a run's ``config.json`` included), which is applied over the
task's defaults.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..config import ConfigError, Option, deep_update, nest, options, parse_value, read_file

SECTIONS = ("data", "model", "train")


def _default_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return " (default: on)" if value else " (default: off)"
    if isinstance(value, str) and not value:
        return ""
    return f" (default: {value})"


def _type(opt: Option):
    def convert(text: str):
        try:
            return parse_value(opt, text)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None
    convert.__name__ = opt.type.__name__  # argparse names the type in its messages
    return convert


def add_options(parser: argparse.ArgumentParser, root: Any, skip: Sequence[str] = (),
                titles: dict[str, str] | None = None) -> list[Option]:
    """One option per field of the dataclass instance ``root`` (its values are the defaults
    shown); grouped by section. Returns the options (see :func:`given`)."""
    opts = options(root, tuple(skip))
    groups: dict[str, Any] = {}
    for o in opts:
        title = (titles or {}).get(o.group, o.group)
        group = groups.get(title) or groups.setdefault(title, parser.add_argument_group(title))
        help_ = (o.help + _default_text(o.default)).strip() or None
        if o.type is bool:
            group.add_argument(o.flag, dest=o.dest, default=argparse.SUPPRESS, help=help_,
                               action=argparse.BooleanOptionalAction)
        else:
            metavar = o.path[-1].upper() if o.choices is None else None
            group.add_argument(o.flag, dest=o.dest, default=argparse.SUPPRESS, type=_type(o),
                               choices=o.choices, metavar=metavar, help=help_)
    return opts


def given(ns: argparse.Namespace, opts: Sequence[Option]) -> dict[str, Any]:
    """The nested overrides of the options given on the command line."""
    return nest({o.path: getattr(ns, o.dest) for o in opts if hasattr(ns, o.dest)})


def add_config_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="options from a TOML or JSON file (sections data, model, train; a "
                        "run's config.json works); options given here override it")


def file_overrides(path: str | None, task: str) -> dict[str, Any]:
    """The settings sections of a ``--config`` file (a run's ``config.json``: of ``task``)."""
    if not path:
        return {}
    data = read_file(path)
    found = data.get("task")
    if found is not None and found != task:
        raise ConfigError(f"{path}: the config of a {found!r} run, not of a {task!r} one")
    if found is not None:  # a run folder's config.json: its settings, not what it measured
        data = {k: v for k, v in data.items() if k in SECTIONS}
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise ConfigError(f"{path}: unknown section {unknown[0]!r} (the sections are "
                          f"{', '.join(SECTIONS)})")
    return data


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        out = deep_update(out, layer)
    return out
