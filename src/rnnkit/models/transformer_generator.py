"""One-to-many with the transformer: :class:`TransformerGenerator`, the causal decoder-only
:class:`~rnnkit.models.TransformerLanguageModel` driven by a condition (the ``generate`` task's
``[model] kind = "transformer"``).

The condition — a label (B,) or a feature vector (B, condition_size) — is embedded to
``condition_dim`` as :class:`~rnnkit.models.ConditionalGenerator` embeds it, and enters as

* ``init``: a *condition token* before the text: the embedded condition projected to
  ``d_model`` at position 0, so the key/value cache every text starts from holds it (the
  transformer's initial state; the text's ``<bos>`` is at position 1). The cache always
  keeps it: past ``context_size`` tokens the oldest *text* tokens fall out, never the
  condition token;
* ``input``: the embedded condition projected to ``d_model`` and added to every token's
  input (the text starts at position 0 from an empty cache);
* ``both``.

Blocks, embedding, positions and the cache are the language model's (this class subclasses
it); generation samples as :meth:`TransformerLanguageModel.generate` does, with the
contrastive ``guidance`` of :meth:`ConditionalGenerator.generate`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models._checks import check_features, check_ids, full_lengths
from rnnkit.models.conditional import ConditionFields, Conditioned
from rnnkit.models.decoding import check_sampling, generate_tokens, make_generator
from rnnkit.models.transformer import TransformerLanguageModel, TransformerLanguageModelConfig

__all__ = ["TransformerGeneratorConfig", "TransformerGenerator"]


@dataclasses.dataclass
class TransformerGeneratorConfig(ConditionFields, TransformerLanguageModelConfig):
    """:class:`TransformerLanguageModelConfig` plus the condition (:class:`ConditionFields`; the
    condition embedding is projected to ``d_model``): ``condition_mode`` init puts a condition token
    at position 0, input adds it to every token's input, both does both."""

    def validate(self) -> None:
        super().validate()
        if self.condition_mode != "input" and self.context_size < 2:
            raise ConfigError(f"{self._name('context_size')} must be >= 2 with condition_mode={self.condition_mode!r} "
                              f"(the cache keeps the condition token and at least one text token); "
                              f"got {self.context_size}")


class TransformerGenerator(Conditioned, TransformerLanguageModel):
    """``forward(ids (B, T), condition, state=None, lengths=None) -> (logits (B, T, V), state)``.

    With ``state=None`` the text starts from the condition (mode init/both: a cache holding the
    condition token; mode input: an empty cache); a carried ``(position, caches)`` state
    continues the text. Right padding (``lengths``) masks nothing a real token can see
    (attention is causal), so a padded batch equals each row alone.
    """

    config_class = TransformerGeneratorConfig

    def __init__(self, config: TransformerGeneratorConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        if cfg.condition == "label":
            self.condition_embedding: nn.Module = nn.Embedding(cfg.condition_size, cfg.condition_dim)
        else:
            self.condition_embedding = nn.Sequential(nn.Linear(cfg.condition_size, cfg.condition_dim), nn.Tanh())
        self.condition_token = nn.Linear(cfg.condition_dim, cfg.d_model) if cfg.condition_mode != "input" else None
        self.condition_input = nn.Linear(cfg.condition_dim, cfg.d_model) if cfg.condition_mode != "init" else None

    @property
    def prefix(self) -> int:
        """Steps before the text: 1 (the condition token) in modes init/both, else 0."""
        return int(self.condition_token is not None)

    def window(self, cache: Tensor) -> Tensor:
        """The language model's window, the condition token (mode init/both) always kept."""
        keep = self._config.context_size
        if not self.prefix:
            return cache[:, :, -keep:]
        return torch.cat([cache[:, :, :1], cache[:, :, 1:][:, :, -(keep - 1):]], dim=2)

    def embed_condition(self, condition: Tensor) -> Tensor:
        """Labels (B,) or vectors (B, condition_size) -> (B, condition_dim)."""
        cfg = self._config
        if cfg.condition == "label":
            check_ids(condition, cfg.condition_size, "condition", dims=1)
        else:
            check_features(condition, cfg.condition_size, "condition", dims=2)
        return self.condition_embedding(condition)

    def initial_state(self, cond: Tensor) -> Any:
        """The state every text starts from, for an embedded condition (B, condition_dim): the
        condition token through the blocks at position 0 (mode init/both), or None (mode input)."""
        if not self.prefix:
            return None
        dec = self.decoder
        x = self.condition_token(cond).unsqueeze(1) + dec.position_encoding(
            torch.zeros(1, dtype=torch.long, device=cond.device), cond.dtype)
        return self._decode(dec.drop(x), 0, None)[1]

    def _start(self, condition: Tensor, state: Any) -> tuple[Any, Tensor | None]:
        cond = self.embed_condition(condition)
        if state is None:
            state = self.initial_state(cond)
        return state, None if self.condition_input is None else self.condition_input(cond)

    def _run(self, ids: Tensor, state: Any, extra: Tensor | None) -> tuple[Tensor, Any]:
        offset, caches = (0, None) if state is None else (int(state[0]), state[1])
        x = self.decoder.embed(ids, offset)
        if extra is not None:  # (B, d) on every step
            x = x + extra.unsqueeze(1)
        return self._decode(x, offset, caches)

    def forward(self, ids: Tensor, condition: Tensor, state: Any = None,
                lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        check_ids(ids, self._config.vocab_size)
        B, T = ids.shape
        if condition.shape[0] != B:
            raise ShapeError(f"condition must have batch size {B} to match ids; got {tuple(condition.shape)}")
        if lengths is not None and state is not None and \
                bool((full_lengths(lengths, B, T, ids.device) < T).any()):
            raise ShapeError("a carried state needs full chunks (lengths == T): padded keys would stay in the cache")
        state, extra = self._start(condition, state)
        return self._run(ids, state, extra)

    @torch.no_grad()
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
        """Write ``length`` tokens (B, length) for each condition, after ``prime_ids`` (B, P) or
        one ``bos_id``: :meth:`ConditionalGenerator.generate`'s arguments and sampling, one cached
        step at a time. ``guidance`` > 0 samples from ``log p(x | condition) + guidance *
        (log p(x | condition) - log p(x | away_from))``. Prompts must share one length
        (``prime_lengths`` all P: a padded prompt would leave its padding in the cache)."""
        check_sampling(temperature, top_k, top_p)
        if not isinstance(length, int) or length < 1:
            raise ConfigError(f"length must be a positive integer (tokens to generate); got {length!r}")
        B = condition.shape[0]
        if prime_ids is None:
            prime_ids = torch.full((B, 1), self._config.bos_id, dtype=torch.long, device=condition.device)
        if prime_ids.dim() == 1:
            prime_ids = prime_ids.unsqueeze(0)
        check_ids(prime_ids, self._config.vocab_size, "prime_ids")
        if prime_ids.shape[0] != B:
            raise ShapeError(f"prime_ids must have batch size {B} to match condition; got {tuple(prime_ids.shape)}")
        if prime_lengths is not None and bool((full_lengths(prime_lengths, *prime_ids.shape, prime_ids.device)
                                               < prime_ids.shape[1]).any()):
            raise ShapeError(f"{type(self).__name__}.generate needs prompts of one length (prime_lengths all "
                             f"{prime_ids.shape[1]}); got {prime_lengths.tolist()}: generate each prompt alone")
        condition = self._guided(condition, guidance, away_from)
        if guidance:
            prime_ids = prime_ids.repeat(2, 1)

        def guide(out: Tensor) -> Tensor:  # the wanted half steered away from the other half
            if not guidance:
                return out
            wanted, away = out[:B].float().log_softmax(-1), out[B:].float().log_softmax(-1)
            return wanted + guidance * (wanted - away)

        was_training = self.training
        self.eval()
        try:
            state, extra = self._start(condition, None)
            logits, state = self._run(prime_ids, state, extra)

            def step(tok: Tensor, st: Any) -> tuple[Tensor, Any]:
                out, st = self._run((tok.repeat(2) if guidance else tok).unsqueeze(1), st, extra)
                return guide(out.squeeze(1)), st

            return generate_tokens(step, guide(logits[:, -1]), state, length, temperature, top_k, top_p,
                                   make_generator(seed, prime_ids.device), on_token)
        finally:
            self.train(was_training)

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        return self._example(batch_size, min(steps, self._config.max_positions - self.prefix))
