"""The base of every model config: a dataclass that validates itself and round-trips
through plain dicts (for JSON/TOML run directories).

Each model module defines its own ``<Model>Config(ModelConfig)``; every field has a
default, Optional fields default to None (TOML has no null, so None is dropped by
:meth:`ModelConfig.to_dict` and restored from the default by :meth:`from_dict`).
Validation runs in ``__post_init__`` and raises :class:`~rnnkit.errors.ConfigError`
naming ``<Config>.<field>``, what was expected and what was received.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from rnnkit import config as _config
from rnnkit.errors import ConfigError

__all__ = ["ModelConfig", "CELLS", "MIN_CELLS", "RECURRENT_CELLS"]

C = TypeVar("C", bound="ModelConfig")

CELLS = ("rnn", "lstm", "gru")
#: parallel-scan cells (rnnkit.nn.MinRecurrent); the encoders and language models take them too
MIN_CELLS = ("mingru", "minlstm")
RECURRENT_CELLS = CELLS + MIN_CELLS


@dataclasses.dataclass
class ModelConfig:
    """Base class; subclasses add fields and extend :meth:`validate`.

    ``data_sizes`` names the fields a task fills in from the data (vocabulary size,
    input features...). A recipe leaves them unset (None); while one is None the
    config is *deferred*: construction does not validate it, and the model built
    from it does (``Model.__init__`` always calls :meth:`validate`).
    """

    data_sizes: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if not self.deferred:
            self.validate()

    @property
    def deferred(self) -> bool:
        """True while a data-derived size is still unset (None)."""
        return any(getattr(self, name) is None for name in self.data_sizes)

    #: sizes of which the task sets exactly one (token ids or features), not all
    exclusive_sizes: ClassVar[bool] = False
    #: further task-filled fields and the stand-in used by :meth:`check_settings`
    task_filled: ClassVar[dict[str, int]] = {}

    def validate(self) -> None:
        """Check the fields; subclasses call ``super().validate()`` first."""

    def check_settings(self) -> None:
        """Validate the user's settings now, before the data-derived sizes are known:
        stand-ins fill the unset sizes (this is what config loading calls, so a bad
        ``hidden_size`` fails before any data file is opened)."""
        unset = [n for n in self.data_sizes if getattr(self, n) is None]
        fill = {n: 1_000_003 for n in (unset[:1] if self.exclusive_sizes else unset)}
        fill.update({n: v for n, v in self.task_filled.items() if getattr(self, n) is None})
        dataclasses.replace(self, **fill).validate()

    # ------------------------------------------------------------------ round trip
    def to_dict(self) -> dict[str, Any]:
        """Plain, TOML-friendly dict (tuples become lists, None fields are left out)."""
        return _config.to_dict(self)

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Inverse of :meth:`to_dict`; unknown keys and wrong types raise ConfigError."""
        return _config.from_dict(cls, data)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ checks
    def _token_or_feature_input(self) -> None:
        """Exactly one of ``vocab_size`` (token ids) and ``input_size`` (features), positive."""
        vocab, features = getattr(self, "vocab_size"), getattr(self, "input_size")
        if (vocab is None) == (features is None):
            raise ConfigError(
                f"{type(self).__name__} needs exactly one of vocab_size (token ids) and input_size "
                f"(dense features); got vocab_size={vocab!r}, input_size={features!r}"
            )
        self._positive("vocab_size", optional=True)
        self._positive("input_size", optional=True)

    def _pretrained_settings(self, token_inputs: bool = True) -> None:
        """``embedding_dim`` (None or positive), ``pretrained_embeddings`` (a path, only for
        token inputs) and ``freeze_embeddings`` (only with pretrained vectors)."""
        self._positive("embedding_dim", optional=True)
        path = getattr(self, "pretrained_embeddings")
        if path is not None:
            if not isinstance(path, str) or not path.strip():
                raise ConfigError(f"{self._name('pretrained_embeddings')} must be the path of a word vectors file; "
                                  f"got {path!r}")
            if not token_inputs:
                raise ConfigError(f"{self._name('pretrained_embeddings')} needs token inputs (vocab_size: words "
                                  f"embedded by the model); these inputs are features "
                                  f"(input_size={getattr(self, 'input_size', None)})")
        if getattr(self, "freeze_embeddings") and path is None:
            raise ConfigError(f"{self._name('freeze_embeddings')}=True freezes pretrained vectors; "
                              "expected model.pretrained_embeddings to be set too; got none")

    def _name(self, field: str) -> str:
        return f"{type(self).__name__}.{field}"

    def _positive(self, field: str, *, optional: bool = False) -> None:
        value = getattr(self, field)
        if optional and value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            extra = " (or None)" if optional else ""
            raise ConfigError(f"{self._name(field)} must be a positive integer{extra}; got {value!r}")

    def _fraction(self, field: str, *, high_inclusive: bool = False) -> None:
        value = getattr(self, field)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
            0.0 <= value <= 1.0 if high_inclusive else 0.0 <= value < 1.0
        )
        if not ok:
            interval = "[0, 1]" if high_inclusive else "[0, 1)"
            raise ConfigError(f"{self._name(field)} must be in {interval}; got {value!r}")

    def _choice(self, field: str, choices: Iterable[str]) -> None:
        value = getattr(self, field)
        choices = tuple(choices)
        if value not in choices:
            raise ConfigError(
                f"{self._name(field)} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}"
            )
