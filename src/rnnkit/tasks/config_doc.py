"""A config as commented TOML (``rnnkit config TASK|RECIPE|RUN_DIR``), generated from the
config dataclasses themselves so that it cannot drift from them.

Every key is printed with its type, its default and a one-line meaning. The meaning is the
field's own comment in the source — the trailing ``# comment`` on its line, else the
comment lines right above it — else a ````name``: text`` sentence of its class docstring,
else its type. A key whose value is none (TOML has no null) is printed commented out, so
the text with its comments stripped loads back to the same config.

``[model]`` of classify/regress/forecast is a union told apart by ``kind``: the chosen kind
is printed, and a comment names the other kinds and how to print them.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import re
import textwrap
import tokenize
import typing
from pathlib import Path
from typing import Any, Sequence

import tomli_w

from rnnkit.config import apply_overrides, describe_type, field_default, from_dict, union_kinds
from rnnkit.errors import ConfigError
from rnnkit.tasks.configs import raw_config
from rnnkit.tasks.registry import get_task

__all__ = ["field_comments", "render_config", "describe_source", "config_of"]

_WIDTH = 96


# ------------------------------------------------------------------- source comments


@functools.lru_cache(maxsize=None)
def _own_comments(cls: type) -> dict[str, str]:
    """``field name → comment`` for the fields annotated in ``cls``'s own body."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    comments: dict[int, str] = {}  # line (1-based, in `source`) → comment text
    code_lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                                  tokenize.ENDMARKER):
                code_lines.add(tok.start[0])
        tree = ast.parse(source)
    except (SyntaxError, tokenize.TokenError):
        return {}
    body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef)), [])
    out: dict[str, str] = {}
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        end = node.end_lineno or node.lineno
        trailing = [comments[i] for i in range(node.lineno, end + 1) if i in comments and i in code_lines]
        if trailing:
            out[node.target.id] = " ".join(trailing)
            continue
        above, line = [], node.lineno - 1
        while line in comments and line not in code_lines:  # a block of comment-only lines
            above.insert(0, comments[line])
            line -= 1
        if above:
            out[node.target.id] = " ".join(above)
    return out


def _docstring_meaning(cls: type, name: str) -> str | None:
    """The ````name``: text`` sentence of a class docstring, if it has one."""
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    m = re.search(rf"``{re.escape(name)}``:\s*(.+?)(?:\.\s|\.$|\n\n|$)", doc, flags=re.S)
    return " ".join(m.group(1).split()) if m else None


def field_comments(cls: type) -> dict[str, str]:
    """The one-line meaning of each field of dataclass ``cls`` that its source states:
    the nearest class of the MRO that annotates the field decides."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        for klass in cls.__mro__:
            if f.name not in inspect.get_annotations(klass):
                continue
            text = _own_comments(klass).get(f.name)
            if text is None:
                text = next((t for k in cls.__mro__ if (t := _docstring_meaning(k, f.name))), None)
            if text:
                out[f.name] = text
            break
    return out


# ------------------------------------------------------------------------- rendering

_FIXED_MEANINGS = {("", "task"): "the task type; fixed for this config"}


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    return value


def _toml_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = tomli_w.dumps({"v": _plain(value)})
    return text.strip()[len("v = "):] if text.startswith("v = ") else text.strip()


def _base_class(obj: Any) -> type:
    """The declared dataclass of ``obj`` (a frozen config is an instance of a generated subclass)."""
    return next(k for k in type(obj).__mro__ if "__dataclass_fields__" in k.__dict__)


def _key_lines(cls: type, obj: Any, name: str, tp: Any, f: dataclasses.Field, where: str,
               meanings: dict[str, str], defaults: Any = None) -> list[str]:
    """``# meaning`` (the type when the source states none), then ``key = value  # type; default``;
    the default is the task's (``defaults``, the table in the task's default config) when known."""
    value = getattr(obj, name)
    default = getattr(defaults, name) if defaults is not None else field_default(f)
    meaning = _FIXED_MEANINGS.get((where, name)) or meanings.get(name)
    notes = [describe_type(tp)]
    if default is not dataclasses.MISSING:
        notes.append(f"default {_toml_value(default)}")
    if name in getattr(cls, "data_sizes", ()) or name in getattr(cls, "task_filled", {}):
        notes.append("set from the data when none")
    lines = [f"# {line}" for line in textwrap.wrap(_unrst(meaning), _WIDTH - 2)] if meaning else []
    assignment = f"{name} = {_toml_value(value)}  # {'; '.join(notes)}"
    lines.append(f"# {assignment}" if value is None else assignment)
    return lines


def _unrst(text: str) -> str:
    """Docstring markup as plain text: ``x`` and :class:`X` become x and X."""
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")


def _table(obj: Any, where: str, task: str, kinds_note: str | None = None, defaults: Any = None) -> list[str]:
    """The lines of one table (its scalar keys), then its sub-tables; ``defaults`` is the same table
    in the task's default config (None when it is another kind)."""
    cls = _base_class(obj)
    hints = typing.get_type_hints(cls)
    meanings = field_comments(cls)
    lines: list[str] = []
    subtables: list[tuple[str, Any, str | None]] = []
    if where:
        lines += ["", f"[{where}]"]
        if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
            first = " ".join(inspect.cleandoc(cls.__doc__).split("\n\n")[0].split())
            lines += [f"# {line}" for line in textwrap.wrap(f"{cls.__name__}: {_unrst(first)}", _WIDTH - 2)]
        if kinds_note:
            lines += [f"# {line}" for line in kinds_note.splitlines()]
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        tp = hints[f.name]
        value = getattr(obj, f.name)
        key = f"{where}.{f.name}" if where else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            note = None
            kinds = union_kinds(tp)
            if kinds:
                current = getattr(value, "kind", None)
                others = [k for k in kinds if k != current]
                default = next(iter(kinds))
                this = f"{_quoted(current)}, the default" if current == default else \
                    f"{_quoted(current)}; the default is {_quoted(default)}"
                note = "\n".join([f"{key} kinds: {' | '.join(_quoted(k) for k in kinds)} (this is {this});",
                                  "each kind has its own keys; print them with",
                                  *(f"  rnnkit config {task} --set {key}.kind={k}" for k in others)])
            sub = getattr(defaults, f.name, None)
            subtables.append((key, value, note, sub if sub is not None and _base_class(sub) is _base_class(value)
                              else None))
            continue
        lines += _key_lines(cls, obj, f.name, tp, f, where, meanings, defaults)
    subtables.sort(key=lambda t: t[0] == "train")  # [data], [model], the task's own tables, then [train]
    for key, value, note, sub in subtables:
        lines += _table(value, key, task, note, sub)
    return lines


def _quoted(text: Any) -> str:
    return f'"{text}"'


def render_config(cfg: Any, header: str = "") -> str:
    """``cfg`` (a task config) as commented TOML: every key, its meaning, type and default."""
    task = str(getattr(cfg, "task", ""))
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    lines += ["# Generated from rnnkit's config dataclasses: each key with its meaning above it (where the",
              "# source states one), then `key = value  # type; default`. A key whose value is none is",
              "# commented out (TOML has no null). Change a value with `--set key.sub=value` or in a TOML",
              "# file given to `rnnkit train`.", ""]
    lines += _table(cfg, "", task, defaults=type(cfg)())
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------- sources


def config_of(source: str | Path, overrides: Sequence[str] = ()) -> tuple[Any, str]:
    """The config of a task name, a recipe, a TOML file or a run directory (its effective
    ``config.toml``), with ``overrides``; and what it is, for the header. The values are
    type-checked but not checked against this machine (a run trained on cuda still prints)."""
    path = Path(source)
    if path.is_dir():
        if not (path / "config.toml").is_file():
            raise ConfigError(f"{path} is not a run directory: config.toml is missing")
        raw, what = raw_config(path / "config.toml"), f"the effective config of the run {path}"
    else:
        raw = raw_config(source)
        if set(raw) == {"task"}:
            what = f"the defaults of task {raw['task']!r}"
        elif path.suffix == ".toml" or path.exists():
            what = f"the config file {path}"
        else:
            what = f"the built-in recipe {source!r}"
    cfg = from_dict(get_task(str(raw["task"])).Config, raw)
    cfg = apply_overrides(cfg, overrides)
    if overrides:
        what += " with " + " ".join(f"--set {o}" for o in overrides)
    return cfg, what


def describe_source(source: str | Path, overrides: Sequence[str] = ()) -> str:
    """What ``rnnkit config SOURCE`` prints."""
    cfg, what = config_of(source, overrides)
    return render_config(cfg, header=f"rnnkit config: {what}")
