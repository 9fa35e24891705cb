"""``Model``: what every rnnkit model shares — its config, building from a config,
parameter counts and :meth:`Model.summary`."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.models.config import ModelConfig
from rnnkit.models.summary import summarize

__all__ = ["Model"]

M = TypeVar("M", bound="Model")


class Model(nn.Module):
    """Base class of the models.

    A model is built from its config (``Model(config)``, ``Model(**fields)``,
    ``Model.from_config(config_or_dict)``) and gives it back unchanged as
    ``model.config``, so ``type(m).from_config(m.config)`` builds the same
    architecture (fresh weights) — the config is what a run directory stores.
    """

    config_class: ClassVar[type[ModelConfig]] = ModelConfig

    def __init__(self, config: ModelConfig | None = None, **fields: Any) -> None:
        super().__init__()
        if config is None:
            config = self.config_class(**fields)
        elif fields:
            raise ConfigError(f"{type(self).__name__}: pass either a config or fields, not both; got both")
        if not isinstance(config, self.config_class):
            raise ConfigError(
                f"{type(self).__name__} needs a {self.config_class.__name__}; got {type(config).__name__}"
            )
        config.validate()  # a deferred config (sizes unset) is checked here at the latest
        self._config = copy.deepcopy(config)

    @property
    def config(self) -> ModelConfig:
        """A copy of the config this model was built from."""
        return copy.deepcopy(self._config)

    @classmethod
    def from_config(cls: type[M], config: ModelConfig | Mapping[str, Any]) -> M:
        """Build from a config object or its ``to_dict()`` form."""
        if isinstance(config, Mapping):
            config = cls.config_class.from_dict(config)
        return cls(config)

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of scalar parameters (only those with ``requires_grad`` if ``trainable_only``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of a small valid forward call, used by :meth:`summary`."""
        raise NotImplementedError

    def summary(self, *args: Any, print_fn: Callable[[str], Any] | None = print, **kwargs: Any) -> str:
        """Print (with ``print_fn``; None for silence) and return a table of layers,
        output shapes and parameter counts. Without arguments the forward pass runs on
        :meth:`example_inputs`; otherwise on ``model(*args, **kwargs)``."""
        if not args and not kwargs:
            args, kwargs = self.example_inputs()
        text = summarize(self, tuple(args), kwargs)
        if print_fn is not None:
            print_fn(text)
        return text
