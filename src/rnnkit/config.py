"""Configuration dataclasses: nesting, checked conversion from dicts and files, overrides.

Every setting of rnnkit lives in a dataclass field with its default and a ``# comment`` that
is its help text. A task's whole configuration is one root dataclass whose fields are
sections (``data``, ``model``, ``train``), themselves dataclasses that may nest further
(``model.encoder``). This module is what the CLI, ``--config FILE``, ``config.json`` and the
library calls share:

* :func:`section` declares a nested dataclass field and the prefix of its command-line
  options (``prefix=""``: its options keep their bare names, e.g. ``--hidden``);
  :func:`derived` declares a field set from the data (never an option);
* :func:`from_dict` builds a dataclass from a (JSON/TOML) dict, checking every key and type;
* :func:`merge` applies nested overrides to a dataclass instance;
* :func:`options` lists the command-line options of a root dataclass.

>>> from dataclasses import dataclass
>>> from typing import Literal
>>> @dataclass
... class Enc:
...     cell: Literal["lstm", "gru"] = "lstm"  # the cell
...     hidden: int = 8  # H
>>> @dataclass
... class Model:
...     encoder: Enc = section(Enc, prefix="")
...     dropout: float = 0.1  # output dropout
...     vocab_size: int = derived(0)
>>> m = from_dict(Model, {"encoder": {"hidden": 16}})
>>> m.encoder.hidden, m.encoder.cell, m.dropout
(16, 'lstm', 0.1)
>>> merge(m, {"dropout": 0.5}).dropout
0.5
>>> [o.flag for o in options(Model)]
['--cell', '--hidden', '--dropout']
>>> from_dict(Model, {"encoder": {"cell": "tcn"}})
Traceback (most recent call last):
...
rnnkit.config.ConfigError: encoder.cell: cell must be one of ('lstm', 'gru'), got 'tcn'
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


class ConfigError(ValueError):
    """A configuration that names an unknown option or gives a value of the wrong type."""


# Dataclasses given to section() by name, to resolve string annotations of classes defined
# outside a module's globals (in a function or a doctest).
_SECTIONS: dict[str, type] = {}


def section(factory: Callable[[], Any], *, prefix: str | None = None) -> Any:
    """A nested dataclass field. Its command-line options are ``--PREFIX-NAME`` (``prefix``
    None: the field's own name; ``""``: bare names)."""
    if isinstance(factory, type):
        _SECTIONS.setdefault(factory.__name__, factory)
    return field(default_factory=factory, metadata={"prefix": prefix})


def derived(default: Any) -> Any:
    """A field set from the data (vocabulary size, number of classes...): saved with the
    run, never a command-line option."""
    return field(default=default, metadata={"derived": True})


def renamed(default: Any, flag: str) -> Any:
    """A field whose command-line option is ``--FLAG`` instead of its own name."""
    return field(default=default, metadata={"flag": flag})


def _hints(cls) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except NameError:
        return typing.get_type_hints(cls, localns=dict(_SECTIONS))


def _unwrap_optional(tp) -> tuple[Any, bool]:
    """(the type inside ``X | None``, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else str), len(args) < len(typing.get_args(tp))
    return tp, False


def choices_of(tp) -> tuple | None:
    """The allowed values of a ``Literal[...]`` type (else None)."""
    tp, _ = _unwrap_optional(tp)
    return typing.get_args(tp) if typing.get_origin(tp) is Literal else None


def _check_value(tp, value, where: str):
    base, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}: may not be empty (null)")
    allowed = choices_of(base)
    if allowed is not None:
        if value not in allowed:
            name = where.rpartition(".")[2]
            raise ConfigError(f"{where}: {name} must be one of {allowed}, got {value!r}")
        return value
    if base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if base is int:
        if isinstance(value, bool) or not (isinstance(value, int) or
                                           (isinstance(value, float) and value.is_integer())):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    if base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if base is str and not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def from_dict(cls, data: Mapping[str, Any], where: str = "", *, base: Any = None) -> Any:
    """An instance of dataclass ``cls`` from ``data`` (nested dicts for nested dataclasses);
    fields missing from ``data`` keep ``base``'s values (default: ``cls()``'s). An unknown key
    or a value of the wrong type is a :class:`ConfigError` naming its dotted path."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a table of options, got {data!r}")
    obj = base if base is not None else cls()
    hints = _hints(cls)
    names = {f.name: f for f in dataclasses.fields(cls)}
    changes = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"{path}: unknown option (known here: {known})")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            changes[key] = from_dict(tp, value, path, base=getattr(obj, key))
        else:
            changes[key] = _check_value(tp, value, path)
    return dataclasses.replace(obj, **changes) if changes else dataclasses.replace(obj)


def merge(obj: Any, overrides: Mapping[str, Any], where: str = "") -> Any:
    """A copy of dataclass instance ``obj`` with nested ``overrides`` applied (checked as in
    :func:`from_dict`)."""
    return from_dict(type(obj), overrides, where, base=obj)


def to_dict(obj: Any) -> dict[str, Any]:
    """The nested dict of a dataclass instance (what ``config.json`` holds)."""
    return dataclasses.asdict(obj)


def read_file(path: str | Path) -> dict[str, Any]:
    """Options from a TOML (``.toml``) or JSON file (a run's ``config.json`` included)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file: {e.strerror}") from None
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of options at the top")
    return data


# Command-line options -------------------------------------------------------------------------

_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+)$")


def field_help(cls) -> dict[str, str]:
    """The ``# comment`` after each field of ``cls`` in its source (its help text)."""
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


@dataclass
class Option:
    """One command-line option of a (nested) config field."""

    path: tuple[str, ...]  # field names from the root, e.g. ("model", "encoder", "hidden")
    flag: str  # "--hidden"
    type: Any  # int, float, str, bool
    optional: bool  # None is a value
    default: Any
    help: str
    choices: tuple | None
    group: str  # the section's name, for --help

    @property
    def dest(self) -> str:
        return "cfg:" + ".".join(self.path)


def options(root: Any, skip: tuple[str, ...] = ()) -> list[Option]:
    """The command-line options of dataclass ``root`` (a class or an instance, whose values
    are then the defaults), recursively; ``skip``: dotted paths left out."""
    out: list[Option] = []
    _walk(root if not isinstance(root, type) else root(), (), "", "", set(skip), out)
    flags: dict[str, Option] = {}
    for o in out:
        if o.flag in flags:
            raise ValueError(f"two options are {o.flag}: {'.'.join(flags[o.flag].path)} and "
                             f"{'.'.join(o.path)} (give one section a prefix)")
        flags[o.flag] = o
    return out


def _walk(obj, path, prefix, group, skip, out) -> None:
    cls = type(obj)
    hints, helps = _hints(cls), field_help(cls)
    for f in dataclasses.fields(cls):
        p = (*path, f.name)
        if ".".join(p) in skip or f.metadata.get("derived") or not f.init:
            continue
        tp = hints[f.name]
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(tp):
            sub = f.metadata.get("prefix")
            sub = f.name if sub is None else sub
            joined = "-".join(x for x in (prefix, sub) if x)
            _walk(value, p, joined, f.name, skip, out)
            continue
        base, optional = _unwrap_optional(tp)
        name = f.metadata.get("flag") or f.name.replace("_", "-")
        flag = "--" + "-".join(x for x in (prefix, name) if x)
        out.append(Option(p, flag, base if choices_of(base) is None else str, optional, value,
                          helps.get(f.name, ""), choices_of(base), group or "options"))


def parse_value(opt: Option, text: str) -> Any:
    """A command-line string as the option's type (``none`` for an optional value)."""
    if opt.optional and text.lower() in ("none", "null"):
        return None
    if opt.choices is not None and text not in opt.choices:
        name = opt.flag[2:].replace("-", " ")
        raise ConfigError(f"{opt.flag}: {name} must be one of {opt.choices}, got {text!r}")
    try:
        return opt.type(text)
    except ValueError:
        kind = {int: "an integer", float: "a number"}.get(opt.type, opt.type.__name__)
        raise ConfigError(f"{opt.flag}: expected {kind}, got {text!r}") from None


def nest(flat: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    """``{("model", "encoder", "hidden"): 16}`` -> ``{"model": {"encoder": {"hidden": 16}}}``."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        d = out
        for k in path[:-1]:
            d = d.setdefault(k, {})
        d[path[-1]] = value
    return out


def deep_update(base: dict, more: Mapping) -> dict:
    """``base`` with nested ``more`` merged in (dicts merged key by key)."""
    out = dict(base)
    for k, v in more.items():
        out[k] = deep_update(out[k], v) if isinstance(v, Mapping) and isinstance(
            out.get(k), Mapping) else v
    return out


def iter_paths(d: Mapping, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The dotted paths of the leaves of a nested dict."""
    for k, v in d.items():
        if isinstance(v, Mapping):
            yield from iter_paths(v, (*prefix, k))
        else:
            yield (*prefix, k)
