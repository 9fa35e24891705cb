"""One-to-many: :class:`ConditionalGenerator`, a language model driven by a condition.

The condition is a label (B,) — "write a positive review" — or a feature vector
(B, condition_size) — "a sequence from this vector". It is embedded to
``condition_dim`` and enters the network as

* ``init``: the initial state, ``h0 = tanh(W c + b)`` per layer (and ``c0`` for LSTM);
* ``input``: an extra input concatenated to every step's token embedding;
* ``both``.

Generation starts from ``bos_id`` (or a given prompt) and samples as
:meth:`rnnkit.models.LanguageModel.generate` does.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models._checks import check_features, check_ids
from rnnkit.models.config import ModelConfig
from rnnkit.models.language_model import LanguageModelConfig, TokenGenerator

__all__ = ["ConditionFields", "Conditioned", "ConditionalGeneratorConfig", "ConditionalGenerator"]


@dataclasses.dataclass
class ConditionFields(ModelConfig):
    """The condition of a generator, shared by :class:`ConditionalGeneratorConfig` (RNN) and
    :class:`~rnnkit.models.TransformerGeneratorConfig`: ``condition`` (label or vector),
    ``condition_size`` (number of labels or vector size), ``condition_dim`` (its embedding),
    ``condition_mode`` (init, input or both) and ``bos_id`` (first input when no prompt). Mixed in
    before a language model's config, which supplies ``vocab_size``."""

    # what the text is written from: "label" (one of the training labels) or "vector" (numbers)
    condition: Literal["label", "vector"] = "label"
    # number of labels, or the length of the condition vector
    condition_size: int = 2
    # size of the condition's embedding
    condition_dim: int = 16
    # where the condition enters: "init" (the starting state: an RNN's initial state, a transformer's condition token before the text), "input" (every step's input) or "both"
    condition_mode: Literal["init", "input", "both"] = "init"
    # id of the start token every generated text begins with
    bos_id: int = 0

    def validate(self) -> None:
        super().validate()
        self._choice("condition", ("label", "vector"))
        self._positive("condition_size")
        self._positive("condition_dim")
        self._choice("condition_mode", ("init", "input", "both"))
        if not isinstance(self.bos_id, int) or not 0 <= self.bos_id < self.vocab_size:
            raise ConfigError(
                f"{self._name('bos_id')} must lie in [0, {self.vocab_size}) because vocab_size={self.vocab_size}; "
                f"got {self.bos_id!r}"
            )


@dataclasses.dataclass
class ConditionalGeneratorConfig(ConditionFields, LanguageModelConfig):
    """Language-model fields plus the condition (:class:`ConditionFields`)."""


class Conditioned:
    """What both generators (:class:`ConditionalGenerator`, :class:`~rnnkit.models.TransformerGenerator`)
    share around ``forward(ids, condition, state)``: :meth:`stream`, the guidance conditions and
    example inputs. Mixed in before the model's base class."""

    def stream(self, ids: Tensor, condition: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One step (ids (B,) -> logits (B, V)) or a chunk ((B, Tc) -> (B, Tc, V)) with the carried state."""
        if isinstance(ids, Tensor) and ids.dim() == 1:
            logits, state = self(ids.unsqueeze(1), condition, state)
            return logits.squeeze(1), state
        return self(ids, condition, state)

    @staticmethod
    def _guided(condition: Tensor, guidance: float, away_from: Tensor | None) -> Tensor:
        """The conditions generation runs: ``condition``, then ``away_from`` below it when ``guidance`` > 0."""
        if not guidance >= 0:
            raise ConfigError(f"guidance must be >= 0 (0: none); got {guidance!r}")
        if not guidance:
            return condition
        if away_from is None:
            raise ConfigError(f"guidance={guidance} needs away_from, the conditions to steer away from; got None")
        if away_from.shape != condition.shape:
            raise ShapeError(f"away_from must have the shape of condition {tuple(condition.shape)}; "
                             f"got {tuple(away_from.shape)}")
        return torch.cat([condition, away_from])

    def _example(self, batch_size: int, steps: int) -> tuple[tuple, dict]:
        cfg = self._config
        ids = torch.randint(0, cfg.vocab_size, (batch_size, steps))
        if cfg.condition == "label":
            cond = torch.randint(0, cfg.condition_size, (batch_size,))
        else:
            cond = torch.randn(batch_size, cfg.condition_size)
        return (ids, cond), {}


class ConditionalGenerator(Conditioned, TokenGenerator):
    """``forward(ids (B, T), condition, state=None, lengths=None) -> (logits (B, T, V), state)``.

    With ``state=None`` the initial state comes from the condition (modes init/both)
    or is zero (mode input); a carried state continues the text.
    """

    config_class = ConditionalGeneratorConfig

    def __init__(self, config: ConditionalGeneratorConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        if cfg.condition == "label":
            self.condition_embedding: nn.Module = nn.Embedding(cfg.condition_size, cfg.condition_dim)
        else:
            self.condition_embedding = nn.Sequential(nn.Linear(cfg.condition_size, cfg.condition_dim), nn.Tanh())
        self._build(cfg, extra_input_size=cfg.condition_dim if cfg.condition_mode != "init" else 0)
        if cfg.condition_mode != "input":
            parts = 2 if cfg.cell == "lstm" else 1
            self.init_state = nn.Linear(cfg.condition_dim, parts * cfg.num_layers * cfg.hidden_size)

    def embed_condition(self, condition: Tensor) -> Tensor:
        """Labels (B,) or vectors (B, condition_size) -> (B, condition_dim)."""
        cfg = self._config
        if cfg.condition == "label":
            check_ids(condition, cfg.condition_size, "condition", dims=1)
        else:
            check_features(condition, cfg.condition_size, "condition", dims=2)
        return self.condition_embedding(condition)

    def initial_state(self, cond: Tensor) -> Any:
        """The state (L, B, H) — (h, c) for LSTM — from an embedded condition (B, condition_dim)."""
        cfg = self._config
        B, L, H = cond.shape[0], cfg.num_layers, cfg.hidden_size
        flat = torch.tanh(self.init_state(cond))  # (B, parts*L*H)
        parts = flat.view(B, -1, L, H).permute(1, 2, 0, 3).contiguous()  # (parts, L, B, H)
        return (parts[0], parts[1]) if cfg.cell == "lstm" else parts[0]

    def _start(self, condition: Tensor, state: Any) -> tuple[Tensor, Any, Tensor | None]:
        cond = self.embed_condition(condition)
        if state is None and self._config.condition_mode != "input":
            state = self.initial_state(cond)
        extra = cond if self._config.condition_mode != "init" else None
        return cond, state, extra

    def forward(
        self, ids: Tensor, condition: Tensor, state: Any = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, Any]:
        check_ids(ids, self._config.vocab_size)
        if condition.shape[0] != ids.shape[0]:
            raise ShapeError(f"condition must have batch size {ids.shape[0]} to match ids; got {tuple(condition.shape)}")
        _, state, extra = self._start(condition, state)
        return self._run(ids, state, lengths, extra)

    def generate(
        self,
        condition: Tensor,
        length: int,
        prime_ids: Tensor | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        prime_lengths: Tensor | None = None,
        guidance: float = 0.0,
        away_from: Tensor | None = None,
        on_token: Callable[[Tensor], None] | None = None,
    ) -> Tensor:
        """Write ``length`` tokens for each condition (B,) / (B, condition_size), after
        ``prime_ids`` (B, P) or, by default, one ``bos_id``. Returns the new tokens (B, length).

        ``guidance`` > 0 steers each row away from ``away_from`` (conditions shaped like
        ``condition``, e.g. the opposite sentiment): tokens are sampled from
        ``log p(x | condition) + guidance * (log p(x | condition) - log p(x | away_from))``,
        the contrastive guidance of DExperts (Liu et al. 2021) and classifier-free guidance
        for language models (Sanchez et al. 2023). It sharpens what sets the condition apart,
        at the cost of one more stream per row.
        """
        B = condition.shape[0]
        if prime_ids is None:
            prime_ids = torch.full((B, 1), self._config.bos_id, dtype=torch.long, device=condition.device)
        prime_ids, prime_lengths = self._check_prime(prime_ids, prime_lengths)
        if prime_ids.shape[0] != B:
            raise ShapeError(f"prime_ids must have batch size {B} to match condition; got {tuple(prime_ids.shape)}")
        condition = self._guided(condition, guidance, away_from)
        if guidance:
            prime_ids, prime_lengths = prime_ids.repeat(2, 1), prime_lengths.repeat(2)
        with torch.no_grad():
            _, state, extra = self._start(condition, None)
        return self._generate(prime_ids, prime_lengths, length, temperature, top_k, top_p, seed, state, extra,
                              guidance, on_token)

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        return self._example(batch_size, steps)
