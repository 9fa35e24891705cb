"""Language models: :class:`LanguageModel` (char or word level) and the shared
machinery of every model that writes tokens one after another.

``forward(ids (B, T), state=None, lengths=None) -> (logits (B, T, V), state)`` is
stateful: the state it returns, fed back with the next chunk, continues the text
exactly (truncated BPTT detaches it between chunks — that is the trainer's job).
:meth:`LanguageModel.generate` primes on a prompt and samples with temperature,
top-k and top-p from a seeded generator.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError
from rnnkit.models._checks import check_ids, full_lengths
from rnnkit.models.base import Model
from rnnkit.models.config import RECURRENT_CELLS, ModelConfig
from rnnkit.models.decoding import check_sampling, generate_tokens, make_generator
from rnnkit.nn.chrono import check_chrono
from rnnkit.nn.factory import make_recurrent
from rnnkit.nn.recurrent import Recurrent

__all__ = ["LanguageModelConfig", "LanguageModel", "TokenGenerator"]


@dataclasses.dataclass
class LanguageModelConfig(ModelConfig):
    """``vocab_size`` (V, required), embedding, recurrent stack and ``tie_weights``
    (share the embedding matrix with the output layer; needs hidden_size == embedding_dim).
    ``dropout`` applies to the embeddings, between layers and before the output layer;
    ``recurrent_dropout`` is variational dropout on the state entering ``W_hh`` (one mask
    per sequence; the fused kernels cannot run it, so ``backend="auto"`` unrolls)."""

    data_sizes = ("vocab_size",)

    kind: Literal["rnn"] = "rnn"  # a task's [model] kind: "rnn" here, "transformer" for the lm task's decoder-only baseline
    # vocabulary size V
    vocab_size: int | None = None
    # size of each token embedding
    embedding_dim: int = 32
    # the recurrent cell: rnn (tanh), lstm, gru, or the parallel-scan mingru / minlstm
    cell: Literal["rnn", "lstm", "gru", "mingru", "minlstm"] = "lstm"
    # units per recurrent layer
    hidden_size: int = 64
    # stacked recurrent layers
    num_layers: int = 1
    # dropout probability on the embeddings, between layers and before the output layer
    dropout: float = 0.0
    # variational dropout on the state entering W_hh (one mask per sequence; unrolls)
    recurrent_dropout: float = 0.0
    # share the embedding matrix with the output layer (needs hidden_size == embedding_dim)
    tie_weights: bool = False
    # recurrent kernels: "auto" (the fastest measured path that can run: torch's fused kernels, or rnnkit's
    # compiled cpu_fused loops for RNN/GRU training on the CPU), "fused" (torch's kernels) or "unrolled" (a step loop)
    backend: Literal["auto", "fused", "unrolled"] = "auto"
    # the longest dependency expected, in steps: chrono initialisation of the gate biases (lstm, gru, mingru, minlstm)
    chrono_init: int | None = None

    def validate(self) -> None:
        super().validate()
        for name in ("vocab_size", "embedding_dim", "hidden_size", "num_layers"):
            self._positive(name)
        self._choice("cell", RECURRENT_CELLS)
        self._choice("backend", ("auto", "fused", "unrolled"))
        self._fraction("dropout")
        self._fraction("recurrent_dropout")
        check_chrono(self.chrono_init, self.cell, self._name("chrono_init"))
        if self.backend == "fused" and self.recurrent_dropout > 0:
            raise ConfigError(f"{self._name('backend')}='fused' cannot run recurrent_dropout={self.recurrent_dropout} "
                              "(the cuDNN/oneDNN kernels have no mask on the recurrent state); use backend='auto'")
        if self.cell in ("mingru", "minlstm") and self.recurrent_dropout > 0:
            raise ConfigError(f"{self._name('recurrent_dropout')} does not apply to cell={self.cell!r} (its gates "
                              f"read only the input: there is no W_hh to mask); got {self.recurrent_dropout}")
        if self.tie_weights and self.hidden_size != self.embedding_dim:
            raise ConfigError(
                f"{self._name('tie_weights')}=True needs hidden_size == embedding_dim (the output layer "
                f"reuses the embedding matrix); got hidden_size={self.hidden_size}, "
                f"embedding_dim={self.embedding_dim}"
            )


class TokenGenerator(Model):
    """Embedding → Recurrent → dropout → output layer (optionally tied), plus sampling.

    Subclasses decide what joins the token embedding at each step
    (:meth:`_step_extra`) and where the initial state comes from.
    """

    config_class = LanguageModelConfig

    def _build(self, cfg: LanguageModelConfig, extra_input_size: int = 0) -> None:
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embedding_dim)
        self.dropout = nn.Dropout(cfg.dropout)
        self.rnn = make_recurrent(
            cfg.cell,
            cfg.embedding_dim + extra_input_size,
            cfg.hidden_size,
            num_layers=cfg.num_layers,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
            backend=cfg.backend,
            recurrent_dropout=cfg.recurrent_dropout,
            chrono_init=cfg.chrono_init,
        )
        self.output = nn.Linear(cfg.hidden_size, cfg.vocab_size)
        if cfg.tie_weights:
            self.output.weight = self.embedding.weight  # (V, E) serves both directions

    def _run(self, ids: Tensor, state: Any, lengths: Tensor | None, extra: Tensor | None) -> tuple[Tensor, Any]:
        x = self.dropout(self.embedding(ids))  # (B, T, E)
        if extra is not None:  # (B, C) repeated over time
            x = torch.cat([x, extra.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=-1)
        outputs, state = self.rnn(x, state, lengths)  # (B, T, H)
        return self.output(self.dropout(outputs)), state

    def _check_prime(self, prime_ids: Tensor, prime_lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        if isinstance(prime_ids, Tensor) and prime_ids.dim() == 1:
            prime_ids = prime_ids.unsqueeze(0)
        check_ids(prime_ids, self._config.vocab_size, "prime_ids")
        B, P = prime_ids.shape
        return prime_ids, full_lengths(prime_lengths, B, P, prime_ids.device)

    @torch.no_grad()
    def _generate(
        self,
        prime_ids: Tensor,
        prime_lengths: Tensor,
        length: int,
        temperature: float,
        top_k: int | None,
        top_p: float | None,
        seed: int | None,
        state: Any,
        extra: Tensor | None,
        guidance: float = 0.0,
        on_token: Callable[[Tensor], None] | None = None,
    ) -> Tensor:
        """With ``guidance`` > 0 the batch holds 2B rows — B wanted streams, then B to steer
        away from — and each step samples the wanted row from
        ``log p + guidance * (log p - log p_away)``; both halves are fed the sampled token."""
        check_sampling(temperature, top_k, top_p)
        if not isinstance(length, int) or length < 1:
            raise ConfigError(f"length must be a positive integer (tokens to generate); got {length!r}")
        was_training = self.training
        self.eval()  # no dropout while writing
        try:
            logits, state = self._run(prime_ids, state, prime_lengths, extra)
            last = logits.gather(1, (prime_lengths - 1).view(-1, 1, 1).expand(-1, 1, logits.shape[-1])).squeeze(1)

            def guide(out: Tensor) -> Tensor:
                if not guidance:
                    return out
                half = out.shape[0] // 2
                wanted, away = out[:half].float().log_softmax(-1), out[half:].float().log_softmax(-1)
                return wanted + guidance * (wanted - away)

            rnn = self.rnn
            rows = prime_ids.shape[0] * (2 if guidance else 1)
            if isinstance(rnn, Recurrent) and not rnn.bidirectional and rows <= 16:
                # The fast step: everything was checked on the prompt above, so each token runs
                # embedding -> cell ops -> output layer with no validation, no dropout calls and
                # no fused-kernel set-up (a one-step oneDNN/cuDNN call costs several times the
                # arithmetic of a 1-layer LSTM-256 step). Equal to _run to float rounding. Up to
                # 16 rows: from about 32 rows on the fused kernel's batched GEMMs win
                # (benchmarks/inference_speed.py, "rnnkit step" vs "rnnkit eager").
                embedding, output = self.embedding, self.output

                def step(tok: Tensor, st: Any) -> tuple[Tensor, Any]:
                    x = embedding(tok.repeat(2) if guidance else tok)
                    if extra is not None:
                        x = torch.cat([x, extra], dim=-1)
                    h, st = rnn.step(x, st)
                    return guide(output(h)), st
            else:
                def step(tok: Tensor, st: Any) -> tuple[Tensor, Any]:
                    out, st = self._run((tok.repeat(2) if guidance else tok).unsqueeze(1), st, None, extra)
                    return guide(out.squeeze(1)), st

            last = guide(last)

            gen = make_generator(seed, prime_ids.device)
            return generate_tokens(step, last, state, length, temperature, top_k, top_p, gen, on_token)
        finally:
            self.train(was_training)


class LanguageModel(TokenGenerator):
    """``forward(ids (B, T), state=None, lengths=None) -> (logits (B, T, V), state)``."""

    config_class = LanguageModelConfig

    def __init__(self, config: LanguageModelConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        self._build(self._config)

    def forward(self, ids: Tensor, state: Any = None, lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        check_ids(ids, self._config.vocab_size)
        return self._run(ids, state, lengths, None)

    def stream(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One step (ids (B,) -> logits (B, V)) or a chunk ((B, Tc) -> (B, Tc, V)) with the carried state."""
        if isinstance(ids, Tensor) and ids.dim() == 1:
            logits, state = self(ids.unsqueeze(1), state)
            return logits.squeeze(1), state
        return self(ids, state)

    def generate(
        self,
        prime_ids: Tensor,
        length: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        prime_lengths: Tensor | None = None,
        state: Any = None,
        on_token: Callable[[Tensor], None] | None = None,
    ) -> Tensor:
        """Continue each prompt by ``length`` sampled tokens.

        ``prime_ids``: (P,) or (B, P), at least one token (e.g. a start or newline symbol);
        ``prime_lengths`` (B,) for prompts of different lengths (padded on the right).
        ``temperature=0`` is argmax (greedy). ``on_token(tokens (B,))`` is called as each
        step's tokens are drawn. Returns only the new tokens, (B, length).
        """
        prime_ids, prime_lengths = self._check_prime(prime_ids, prime_lengths)
        return self._generate(prime_ids, prime_lengths, length, temperature, top_k, top_p, seed, state, None,
                              on_token=on_token)

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        return (torch.randint(0, self._config.vocab_size, (batch_size, steps)),), {}
