"""Command-line options generated from the config dataclasses (one source of truth).

Each dataclass field becomes ``--field-name``; its help is the comment after the field in the
source, its default the field's default. Booleans become ``--flag/--no-flag``.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing

_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+)$")


def _field_help(cls) -> dict[str, str]:
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            src = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for line in src.splitlines():
            m = _COMMENT.match(line)
            if m:
                out[m.group(1)] = m.group(2).strip()
    return out


def _base_type(tp):
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if args else str
    return tp


def add_dataclass_args(parser: argparse.ArgumentParser, cls, skip=(), rename=None,
                       defaults=None, group: str | None = None) -> None:
    """Add one option per field of dataclass ``cls`` (dest is the field name)."""
    helps = _field_help(cls)
    hints = typing.get_type_hints(cls)
    target = parser.add_argument_group(group) if group else parser
    rename = rename or {}
    defaults = defaults or {}
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            continue
        tp = _base_type(hints[f.name])
        default = defaults.get(f.name, f.default)
        flag = "--" + rename.get(f.name, f.name).replace("_", "-")
        help_ = helps.get(f.name, "")
        help_ += f" (default: {default})" if default is not None else ""
        if tp is bool:
            target.add_argument(flag, dest=f.name, default=default, help=help_,
                                action=argparse.BooleanOptionalAction)
        else:
            target.add_argument(flag, dest=f.name, default=default, type=tp, help=help_,
                                metavar=f.name.upper())


def build_dataclass(cls, ns: argparse.Namespace, **extra):
    """Instantiate ``cls`` from the parsed options (plus ``extra`` fields)."""
    kw = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls) if hasattr(ns, f.name)}
    kw.update(extra)
    return cls(**kw)
