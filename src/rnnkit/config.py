"""Typed configuration: TOML ⇄ nested dataclasses, with typed ``--set`` overrides.

The module is generic: it knows dataclasses and type hints, never a task. A layer
above defines its own dataclasses (every field with a default) and calls::

    cfg = load_config("recipe.toml", RecipeConfig, overrides=["train.epochs=5"])
    dump_config(cfg, run_dir / "config.toml")   # the fully resolved config

Supported field types: ``int``, ``float``, ``bool``, ``str``, ``pathlib.Path``,
``Literal[...]`` (choices), ``Optional[X]`` / ``X | None``, ``list[X]``,
``tuple[X, ...]``, ``dict[str, X]`` and nested dataclasses. Unknown keys and
values of the wrong type raise :class:`rnnkit.errors.ConfigError` naming the key
path, the expected type or choices and the value received.

Override values are parsed by the target field's type, so ``--set lr=3e-4``
gives a float and ``--set name=007`` a string. Lists are written ``a,b,c`` or in
TOML syntax ``[1, 2]``; ``none``/``null`` sets an ``Optional`` field to None.
TOML has no null, so a None value is *omitted* when dumping; give Optional fields
a default of None so that the dumped file loads back to the same config.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence, TypeVar, Union

import tomli_w

from rnnkit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "load_config",
    "from_dict",
    "to_dict",
    "apply_overrides",
    "parse_override",
    "dumps_config",
    "dump_config",
    "describe_type",
    "union_kinds",
    "field_default",
    "freeze",
    "is_frozen",
]

T = TypeVar("T")
_NONE_WORDS = {"none", "null"}
_TRUE_WORDS = {"true", "1", "yes", "on"}
_FALSE_WORDS = {"false", "0", "no", "off"}


# ----------------------------------------------------------------------------- types


def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a dataclass (string annotations included)."""
    return typing.get_type_hints(cls)


def _is_optional(tp: Any) -> tuple[bool, Any]:
    """(True, X) for Optional[X] / X | None; (False, tp) otherwise."""
    origin = typing.get_origin(tp)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            inner = args[0] if len(args) == 1 else Union[tuple(args)]  # type: ignore[valid-type]
            return True, inner
    return False, tp


def describe_type(tp: Any) -> str:
    """A short human name of a type, used in error messages (``int``, ``one of 'a', 'b'``)."""
    optional, inner = _is_optional(tp)
    if optional:
        return f"{describe_type(inner)} or none"
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(tp))
    if origin in (list, tuple, Sequence):
        args = typing.get_args(tp)
        return f"list of {describe_type(args[0]) if args else 'values'}"
    if origin in (dict, Mapping):
        args = typing.get_args(tp)
        return f"table of {describe_type(args[1]) if len(args) == 2 else 'values'}"
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return " or ".join(describe_type(a) for a in typing.get_args(tp))
    if dataclasses.is_dataclass(tp):
        return f"table ({tp.__name__})"
    if tp is Path:
        return "path"
    return getattr(tp, "__name__", str(tp))


def union_kinds(tp: Any) -> dict[str, type]:
    """``kind`` value → dataclass, for a union of dataclasses that each fix a ``kind`` field
    (e.g. ``[model] kind = "feedforward"``); empty for any other type."""
    members = [m for m in typing.get_args(tp) if m is not type(None)]
    out: dict[str, type] = {}
    for m in members:
        f = {x.name: x for x in dataclasses.fields(m)}.get("kind") if dataclasses.is_dataclass(m) else None
        if f is None or not isinstance(f.default, str):
            return {}
        out[f.default] = m
    return out


def _bad(key: str, tp: Any, value: Any) -> ConfigError:
    return ConfigError(f"{key} must be {describe_type(tp)}; got {value!r}")


# --------------------------------------------------------------- TOML value → field


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check and convert a TOML (already typed) value to the field type ``tp``."""
    optional, inner = _is_optional(tp)
    if optional:
        return None if value is None else _convert(value, inner, key)
    if value is None:
        raise _bad(key, tp, value)
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise _bad(key, tp, value)
        return from_dict(tp, value, _prefix=key)
    if origin is Literal:
        choices = typing.get_args(tp)
        # bool is an int subclass: keep True from matching a Literal[1]
        if any(value == c and type(value) is type(c) for c in choices):
            return value
        raise _bad(key, tp, value)
    if origin in (list, Sequence):
        if not isinstance(value, (list, tuple)):
            raise _bad(key, tp, value)
        (item_tp,) = typing.get_args(tp) or (Any,)
        return [_convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _bad(key, tp, value)
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(f"{key} must be a list of {len(args)} values; got {value!r}")
        return tuple(_convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise _bad(key, tp, value)
        args = typing.get_args(tp)
        val_tp = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, val_tp, f"{key}.{k}") for k, v in value.items()}
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        kinds = union_kinds(tp)
        if kinds and isinstance(value, Mapping):  # tables told apart by their `kind` key
            kind = value.get("kind", next(iter(kinds)))
            if kind not in kinds:
                raise ConfigError(f"{key}.kind must be one of {', '.join(map(repr, kinds))}; got {kind!r}")
            return from_dict(kinds[kind], value, _prefix=key)
        for member in typing.get_args(tp):
            try:
                return _convert(value, member, key)
            except ConfigError:
                continue
        raise _bad(key, tp, value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _bad(key, tp, value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _bad(key, tp, value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _bad(key, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _bad(key, tp, value)
    if tp is Path:
        if isinstance(value, (str, os.PathLike)):
            return Path(value)
        raise _bad(key, tp, value)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise _bad(key, tp, value)


def from_dict(cls: type[T], data: Mapping[str, Any], *, _prefix: str = "", _base: Any = None) -> T:
    """Build dataclass ``cls`` from a nested mapping; missing keys take their defaults.

    A table's defaults are its parent's default for it: when a task's config declares
    ``train = TrainConfig(optim=OptimConfig(weight_decay=0.01))``, a file that sets only
    ``[train.optim] lr`` keeps that weight decay (``_base`` carries the default instance down).
    Raises ConfigError for unknown keys, missing required fields and wrong types.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"cls must be a dataclass type; got {cls!r}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        where = f"{_prefix}." if _prefix else ""
        raise ConfigError(
            f"unknown config key {where}{unknown[0]}; "
            f"known keys{' in ' + _prefix if _prefix else ''}: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, f in fields.items():
        key = f"{_prefix}.{name}" if _prefix else name
        base = getattr(_base, name) if _base is not None else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        if name in data:
            tp = hints[name]
            if dataclasses.is_dataclass(tp) and isinstance(base, tp) and isinstance(data[name], Mapping):
                kwargs[name] = from_dict(tp, data[name], _prefix=key, _base=base)  # missing keys: the default's
            else:
                kwargs[name] = _convert(data[name], tp, key)
        elif _base is not None:
            kwargs[name] = base
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key} is required ({describe_type(hints[name])}); it is missing")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # __post_init__ validation
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{_prefix or cls.__name__}: {exc}") from exc


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as a nested dict of TOML-friendly values (None dropped, Path → str)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)
                    if getattr(v, f.name) is not None}
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    return plain(obj)


# ------------------------------------------------------------------------ overrides


def parse_override(text: str) -> tuple[str, str]:
    """Split ``"train.lr=3e-4"`` into ``("train.lr", "3e-4")``."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override must look like key.sub=value; got {text!r}")
    return key, raw.strip()


def _parse_text(raw: str, tp: Any, key: str) -> Any:
    """Parse the command-line text ``raw`` as a value of type ``tp``."""
    optional, inner = _is_optional(tp)
    if optional:
        if raw.lower() in _NONE_WORDS:
            return None
        try:
            return _parse_text(raw, inner, key)
        except ConfigError as exc:
            if str(exc).startswith(f"{key} must be"):  # say that none is accepted too
                raise _bad(key, tp, raw) from None
            raise
    origin = typing.get_origin(tp)
    if origin is Literal:
        for choice in typing.get_args(tp):
            if isinstance(choice, bool):
                ok = raw.lower() in (_TRUE_WORDS if choice else _FALSE_WORDS)
            else:
                ok = raw == str(choice)
            if ok:
                return choice
        raise _bad(key, tp, raw)
    if origin in (list, tuple, Sequence):
        if raw.startswith("["):
            try:
                items = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{key} must be {describe_type(tp)}; got {raw!r} ({exc})") from None
            return _convert(items, tp, key)
        args = typing.get_args(tp)
        item_tp = args[0] if args else str
        parts = [p.strip() for p in raw.split(",")] if raw else []
        values = [_parse_text(p, item_tp, f"{key}[{i}]") for i, p in enumerate(parts)]
        return _convert(values, tp, key)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        for member in typing.get_args(tp):
            try:
                return _parse_text(raw, member, key)
            except ConfigError:
                continue
        raise _bad(key, tp, raw)
    if tp is bool:
        if raw.lower() in _TRUE_WORDS:
            return True
        if raw.lower() in _FALSE_WORDS:
            return False
        raise _bad(key, tp, raw)
    if tp is int:
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise _bad(key, tp, raw) from None
    if tp is float:
        try:
            return float(raw)
        except ValueError:
            raise _bad(key, tp, raw) from None
    if tp is str or tp is Any:
        return raw
    if tp is Path:
        return Path(raw)
    if dataclasses.is_dataclass(tp) or origin in (dict, Mapping):
        raise ConfigError(
            f"{key} is a table ({describe_type(tp)}); set one of its keys, e.g. {key}.<name>=value; "
            f"got {raw!r}"
        )
    raise ConfigError(f"{key} has a type ({describe_type(tp)}) that cannot be set from text; got {raw!r}")


def _set_path(obj: Any, parts: list[str], raw: str, full_key: str) -> Any:
    """Return a copy of ``obj`` with the field at ``parts`` replaced by the parsed ``raw``."""
    if dataclasses.is_dataclass(obj):
        hints = _hints(type(obj))
        names = [f.name for f in dataclasses.fields(obj) if f.init]
        head = parts[0]
        if head not in names:
            done = full_key[: len(full_key) - len(".".join(parts))].rstrip(".")
            where = f" in {done}" if done else ""
            raise ConfigError(
                f"unknown config key {full_key}; known keys{where}: {', '.join(sorted(names))}"
            )
        prefix = full_key[: len(full_key) - len(".".join(parts[1:]))].rstrip(".")
        if len(parts) == 1:
            new = _parse_text(raw, hints[head], full_key)
        elif parts[1:] == ["kind"] and union_kinds(hints[head]):
            # another kind of table: keep the shared keys that were set (differ from the old kind's
            # defaults); the others take the new kind's defaults (a transformer's num_layers default,
            # not the RNN's)
            kinds = union_kinds(hints[head])
            if raw not in kinds:
                raise ConfigError(f"{full_key} must be one of {', '.join(map(repr, kinds))}; got {raw!r}")
            shared = {f.name for f in dataclasses.fields(kinds[raw])}
            old = getattr(obj, head)
            old_defaults = {f.name: field_default(f) for f in dataclasses.fields(old)}
            kept = {k: v for k, v in _shallow_dict(old).items()
                    if k in shared and k != "kind" and not _same(v, old_defaults.get(k, dataclasses.MISSING))}
            new = from_dict(kinds[raw], {"kind": raw, **to_dict_shallow(kept)}, _prefix=head)
        else:
            current = getattr(obj, head)
            if current is None:
                _, inner = _is_optional(hints[head])
                if dataclasses.is_dataclass(inner):
                    current = inner()  # Optional[SubConfig] = None: create it to set a key
                else:
                    raise ConfigError(f"{prefix} is {describe_type(hints[head])}, not a table; "
                                      f"cannot set {full_key}")
            new = _set_path(current, parts[1:], raw, full_key)
        return dataclasses.replace(obj, **{head: new})
    if isinstance(obj, dict):
        new = dict(obj)
        if len(parts) == 1:
            new[parts[0]] = _infer_text(raw)
        else:
            new[parts[0]] = _set_path(obj.get(parts[0], {}), parts[1:], raw, full_key)
        return new
    raise ConfigError(f"cannot set {full_key}: {'.'.join(parts[:-1]) or full_key} is not a table")


def _infer_text(raw: str) -> Any:
    """A value for an untyped (dict) field: TOML literal if it parses, else the text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def field_default(f: dataclasses.Field) -> Any:
    """A dataclass field's default value (its factory called), or ``dataclasses.MISSING``."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _same(value: Any, default: Any) -> bool:
    """``value`` equals a field's default (lists and tuples compared as sequences)."""
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return list(value) == list(default)
    return default is not dataclasses.MISSING and type(value) is type(default) and value == default


def apply_overrides(cfg: T, overrides: Sequence[str]) -> T:
    """Apply ``key.sub=value`` overrides to a dataclass config; returns a new config."""
    for text in overrides:
        key, raw = parse_override(text)
        cfg = _set_path(cfg, key.split("."), raw, key)
    # re-validate the whole tree (runs __post_init__ checks on the new values)
    return from_dict(type(cfg), _shallow_dict(cfg))


def to_dict_shallow(values: Mapping[str, Any]) -> dict[str, Any]:
    """Field values as from_dict takes them (tuples as lists, None dropped)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items() if v is not None}


def _shallow_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}


# --------------------------------------------------------------------- load / dump


def load_config(
    source: str | os.PathLike | Mapping[str, Any],
    cls: type[T],
    overrides: Sequence[str] = (),
) -> T:
    """Load a TOML file (or a mapping) into dataclass ``cls`` and apply ``overrides``.

    Raises ConfigError for a missing or malformed file (with line/column as tomllib
    reports them), unknown keys, bad values and bad overrides.
    """
    if isinstance(source, Mapping):
        data = source
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return apply_overrides(from_dict(cls, data), overrides)


def dumps_config(cfg: Any) -> str:
    """The config as TOML text (None values omitted; see the module docstring)."""
    buf = io.BytesIO()
    tomli_w.dump(to_dict(cfg), buf)
    return buf.getvalue().decode("utf-8")


def dump_config(cfg: Any, path: str | os.PathLike) -> Path:
    """Write the config to ``path`` as TOML atomically (temp file then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(dumps_config(cfg), encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- freezing

_FROZEN_TYPES: dict[type, type] = {}
_FLAG = "_rnnkit_frozen"


def _frozen_type(cls: type) -> type:
    """A subclass of dataclass ``cls`` whose instances refuse attribute assignment once
    :func:`freeze` has flagged them (construction and ``dataclasses.replace`` still work)."""
    if cls not in _FROZEN_TYPES:
        def __setattr__(self: Any, name: str, value: Any) -> None:
            if self.__dict__.get(_FLAG):
                raise ConfigError(f"the config is frozen once loaded; {type(self).__name__}.{name} cannot be "
                                  f"assigned (use --set / settings when loading, or dataclasses.replace)")
            object.__setattr__(self, name, value)

        _FROZEN_TYPES[cls] = type(cls.__name__, (cls,), {"__setattr__": __setattr__, "__delattr__": __setattr__,
                                                         "__module__": cls.__module__, "__qualname__": cls.__qualname__})
    return _FROZEN_TYPES[cls]


def freeze(cfg: T) -> T:
    """Make ``cfg`` and every dataclass inside it read-only, in place; returns it.

    A validated config is not edited afterwards: code that needs other values builds a
    copy with ``dataclasses.replace`` (which is validated again)."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        for f in dataclasses.fields(cfg):
            freeze(getattr(cfg, f.name))
        if type(cfg) not in _FROZEN_TYPES.values():
            cfg.__class__ = _frozen_type(type(cfg))
        cfg.__dict__[_FLAG] = True
    return cfg


def is_frozen(cfg: Any) -> bool:
    return bool(getattr(cfg, "__dict__", {}).get(_FLAG))
