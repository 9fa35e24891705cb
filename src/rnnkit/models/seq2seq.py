"""Encoder–decoder: :class:`Seq2Seq` with attention, input feeding, teacher forcing,
greedy decoding and batched beam search.

Per decoder step t (Luong et al. 2015; the scoring function may be Bahdanau's additive one)::

    x_t      = [emb(y_{t-1}); ã_{t-1}]             (input feeding; ã_0 = 0)   else emb(y_{t-1})
    h_t, s_t = decoder(x_t, s_{t-1})
    c_t, α_t = attention(h_t, encoder outputs, source lengths)
    ã_t      = tanh(W_c [h_t; c_t])                  (ã_t = h_t without attention)
    logits_t = W_o ã_t                               (softmax="adaptive": log p_t from an adaptive softmax)

Teacher-forced training (``forward``, ``token_loss``) without input feeding and with
``teacher_forcing_ratio=1`` runs the decoder over all target steps in one fused call, the
attention for all steps in one batch and the output layer once, over the real (unpadded)
target positions only; input feeding (or sampling its own predictions) is the per-step
loop. Both give the same logits for the same weights (tested in float64).

The decoder starts from the encoder's final state; a bidirectional encoder's two
directions are joined per layer by ``tanh(W_b [h_fwd; h_bwd])`` (the "bridge").

Shapes: ``src`` (B, Ts) ids, ``src_lengths`` (B,), ``tgt_in`` (B, Tt) decoder inputs
(``bos`` followed by the target without its last token), logits (B, Tt, V),
attention weights (B, Tt, Ts).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models._checks import check_ids, full_lengths
from rnnkit.models.base import Model
from rnnkit.models.config import CELLS, ModelConfig
from rnnkit.models.encoder import DEFAULT_EMBEDDING_DIM
from rnnkit.nn.attention import make_attention
from rnnkit.nn.recurrent import Recurrent

__all__ = ["Seq2SeqConfig", "Seq2Seq", "Seq2SeqOutput", "TokenLoss", "Decoded", "EncoderMemory", "DecoderState"]

ADAPTIVE_MIN_VOCAB = 64


def adaptive_cutoffs(vocab_size: int) -> list[int]:
    """The adaptive softmax's cluster boundaries: ``[V // 8, V // 2]``."""
    return [vocab_size // 8, vocab_size // 2]


@dataclasses.dataclass
class Seq2SeqConfig(ModelConfig):
    """Vocabularies, sizes and decoding behaviour.

    ``attention``: none, dot (needs a unidirectional encoder: key size = hidden size),
    general or additive. ``input_feeding`` feeds the previous attentional vector to the
    decoder (needs attention). ``teacher_forcing_ratio``: during training, the chance
    per sequence and step that the decoder reads the true previous token rather than
    its own prediction. ``pad_id``/``bos_id``/``eos_id`` are target-side ids.
    ``softmax``: the output layer, a full softmax over the target vocabulary or an adaptive
    softmax (Grave et al. 2017, ``torch.nn.AdaptiveLogSoftmaxWithLoss``).
    """

    data_sizes = ("src_vocab_size", "tgt_vocab_size")

    # source vocabulary size
    src_vocab_size: int | None = None
    # target vocabulary size
    tgt_vocab_size: int | None = None
    embedding_dim: int | None = None  # None: 32, or the dimension of model.pretrained_embeddings
    # the recurrent cell of encoder and decoder: rnn (tanh), lstm or gru
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    # units per recurrent layer (encoder and decoder)
    hidden_size: int = 64
    # stacked recurrent layers (encoder and decoder)
    num_layers: int = 1
    # the encoder also reads the source backwards
    bidirectional_encoder: bool = False
    attention: Literal["none", "dot", "general", "additive"] = "general"
    # hidden size of additive attention (none: hidden_size)
    attention_size: int | None = None
    # feed the previous attentional vector to the decoder: the per-step path (off: the parallel one, which
    # reached val BLEU 15.5 vs 6.6 in the same 25 minutes on fra-eng, with the adaptive softmax)
    input_feeding: bool = False
    teacher_forcing_ratio: float = 1.0
    # dropout probability on embeddings, between layers and before the output layer
    dropout: float = 0.0
    # target-side id of the padding token
    pad_id: int = 0
    # target-side id of the start token
    bos_id: int = 1
    # target-side id of the end token
    eos_id: int = 2
    # recurrent kernels: "auto" (the fastest measured path that can run: torch's fused kernels, or rnnkit's
    # compiled cpu_fused loops for RNN/GRU training on the CPU), "fused" (torch's kernels) or "unrolled" (a step loop)
    backend: Literal["auto", "fused", "unrolled"] = "auto"
    # full: a linear layer over the whole target vocabulary; adaptive: adaptive softmax with clusters at
    # tgt_vocab_size // 8 and // 2 (ids are ranked by frequency), tails of size hidden/4 and hidden/16
    softmax: Literal["full", "adaptive"] = "full"
    pretrained_embeddings: str | None = None  # word vectors file for both embeddings (GloVe/word2vec/fastText text)
    freeze_embeddings: bool = False  # keep the pretrained vectors fixed while training (false: fine-tune them)

    def validate(self) -> None:
        super().validate()
        self._pretrained_settings()
        for name in ("src_vocab_size", "tgt_vocab_size", "hidden_size", "num_layers"):
            self._positive(name)
        self._choice("cell", CELLS)
        self._choice("attention", ("none", "dot", "general", "additive"))
        self._choice("backend", ("auto", "fused", "unrolled"))
        self._choice("softmax", ("full", "adaptive"))
        if self.softmax == "adaptive" and self.tgt_vocab_size < ADAPTIVE_MIN_VOCAB:
            raise ConfigError(
                f"{self._name('softmax')}='adaptive' needs tgt_vocab_size >= {ADAPTIVE_MIN_VOCAB} (its clusters "
                f"start at tgt_vocab_size // 8); got tgt_vocab_size={self.tgt_vocab_size} (use softmax='full')"
            )
        if self.softmax == "adaptive" and self.hidden_size < 16:
            raise ConfigError(
                f"{self._name('softmax')}='adaptive' needs hidden_size >= 16 (its last cluster projects to "
                f"hidden_size // 16); got hidden_size={self.hidden_size} (use softmax='full')"
            )
        self._positive("attention_size", optional=True)
        self._fraction("dropout")
        self._fraction("teacher_forcing_ratio", high_inclusive=True)
        for name in ("pad_id", "bos_id", "eos_id"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value < self.tgt_vocab_size:
                raise ConfigError(
                    f"{self._name(name)} must lie in [0, {self.tgt_vocab_size}) because tgt_vocab_size="
                    f"{self.tgt_vocab_size}; got {value!r}"
                )
        if self.attention == "dot" and self.bidirectional_encoder:
            raise ConfigError(
                f"{self._name('attention')}='dot' needs the encoder output size ({2 * self.hidden_size} with "
                f"bidirectional_encoder=True) to equal hidden_size={self.hidden_size}; use 'general' or 'additive'"
            )
        if self.attention == "none" and self.input_feeding:
            raise ConfigError(
                f"{self._name('input_feeding')}=True feeds the attentional vector and needs attention; "
                "got attention='none' (set input_feeding=False)"
            )
        if self.attention_size is not None and self.attention != "additive":
            raise ConfigError(
                f"{self._name('attention_size')} only applies to attention='additive'; got attention={self.attention!r}"
            )


class Seq2SeqOutput(NamedTuple):
    logits: Tensor  # (B, Tt, V)
    attention: Tensor | None  # (B, Tt, Ts)


class TokenLoss(NamedTuple):
    """Teacher-forced loss over the real target positions: ``loss`` (mean cross-entropy),
    ``predictions`` and ``targets`` (N,) at those positions (row-major over (B, Tt))."""

    loss: Tensor
    predictions: Tensor
    targets: Tensor


class Decoded(NamedTuple):
    """A decoding result: ``tokens`` (B, L) ending in eos then ``pad_id``; ``lengths`` (B,)
    count the tokens up to and including eos; ``scores`` (B,) their summed log-probability;
    ``attention`` (B, L, Ts), zero after each length (None without attention)."""

    tokens: Tensor
    lengths: Tensor
    scores: Tensor
    attention: Tensor | None


class EncoderMemory(NamedTuple):
    outputs: Tensor  # (B, Ts, dirs*H)
    lengths: Tensor  # (B,)
    state: Any  # the decoder's initial recurrent state
    keys: Tensor | None = None  # attention.prepare(outputs), computed once for every decoder step


class DecoderState(NamedTuple):
    rnn: Any  # (L, B, H) or (h, c)
    feed: Tensor  # (B, H): the previous attentional vector (zeros at the start)


def _map_state(state: Any, fn) -> Any:
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


class Seq2Seq(Model):
    """``forward(src, tgt_in, src_lengths=None, tgt_lengths=None) -> Seq2SeqOutput``."""

    config_class = Seq2SeqConfig

    def __init__(self, config: Seq2SeqConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        H = cfg.hidden_size
        E = cfg.embedding_dim or DEFAULT_EMBEDDING_DIM
        self.src_embedding = nn.Embedding(cfg.src_vocab_size, E)
        self.encoder = Recurrent(
            cfg.cell, E, H, num_layers=cfg.num_layers, bidirectional=cfg.bidirectional_encoder,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0, backend=cfg.backend,
        )
        self.bridge = nn.Linear(2 * H, H) if cfg.bidirectional_encoder else None
        self.tgt_embedding = nn.Embedding(cfg.tgt_vocab_size, E)
        for emb in (self.src_embedding, self.tgt_embedding) if cfg.freeze_embeddings else ():
            emb.weight.requires_grad_(False)  # pretrained vectors kept fixed
        self.decoder = Recurrent(
            cfg.cell, E + (H if cfg.input_feeding else 0), H, num_layers=cfg.num_layers,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0, backend=cfg.backend,
        )
        if cfg.attention != "none":
            self.attention = make_attention(cfg.attention, H, self.encoder.output_size, cfg.attention_size)
            self.combine = nn.Linear(H + self.encoder.output_size, H, bias=False)
        else:
            self.attention = None
            self.combine = None
        self.dropout = nn.Dropout(cfg.dropout)
        if cfg.softmax == "adaptive":
            self.output = nn.AdaptiveLogSoftmaxWithLoss(H, cfg.tgt_vocab_size, adaptive_cutoffs(cfg.tgt_vocab_size),
                                                        div_value=4.0)
        else:
            self.output = nn.Linear(H, cfg.tgt_vocab_size)

    # ------------------------------------------------------------------ encoder
    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> EncoderMemory:
        """Run the encoder: outputs (B, Ts, dirs*H), checked lengths and the decoder's initial state."""
        check_ids(src, self._config.src_vocab_size, "src")
        lengths = full_lengths(src_lengths, src.shape[0], src.shape[1], src.device)
        outputs, state = self.encoder(self.dropout(self.src_embedding(src)), lengths=lengths)
        if self.bridge is not None:
            L = self._config.num_layers

            def join(s: Tensor) -> Tensor:  # (L*2, B, H) -> (L, B, 2H) -> (L, B, H)
                s = s.view(L, 2, s.shape[1], s.shape[2])
                return torch.tanh(self.bridge(torch.cat([s[:, 0], s[:, 1]], dim=-1)))

            state = _map_state(state, join)
        keys = self.attention.prepare(outputs) if self.attention is not None else None
        return EncoderMemory(outputs, lengths, state, keys)

    def initial_decoder_state(self, memory: EncoderMemory) -> DecoderState:
        B = memory.outputs.shape[0]
        return DecoderState(memory.state, memory.outputs.new_zeros(B, self._config.hidden_size))

    # ------------------------------------------------------------------ decoder
    def _attend(self, h: Tensor, memory: EncoderMemory) -> tuple[Tensor, Tensor | None]:
        """Attentional vectors from decoder outputs h (B, [Tt,] H)."""
        if self.attention is None:
            return h, None
        context, weights = self.attention(h, memory.outputs, memory.lengths, prepared=memory.keys)
        return torch.tanh(self.combine(torch.cat([h, context], dim=-1))), weights

    def _logits(self, hidden: Tensor) -> Tensor:
        """The output layer on (dropped-out) attentional vectors (..., H) -> (..., V): logits, or
        log-probabilities with the adaptive softmax (their log_softmax is themselves)."""
        if self._config.softmax == "adaptive":
            return self.output.log_prob(hidden.reshape(-1, hidden.shape[-1])).view(*hidden.shape[:-1], -1)
        return self.output(hidden)

    def _step(self, tokens: Tensor, state: DecoderState, memory: EncoderMemory) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoder step up to the output layer: its input (B, H) after dropout, new state, attention."""
        x = self.dropout(self.tgt_embedding(tokens))  # (B, E)
        if self._config.input_feeding:
            x = torch.cat([x, state.feed], dim=-1)
        out, rnn_state = self.decoder(x.unsqueeze(1), state.rnn)
        attentional, weights = self._attend(out[:, 0], memory)
        return self.dropout(attentional), DecoderState(rnn_state, attentional), weights

    def decode_step(
        self, tokens: Tensor, state: DecoderState, memory: EncoderMemory
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoder step: previous tokens (B,) -> logits (B, V), new state, attention (B, Ts)."""
        hidden, state, weights = self._step(tokens, state, memory)
        return self._logits(hidden), state, weights

    def parallel(self) -> bool:
        """Whether teacher-forced decoding runs all target steps at once (nothing feeds back)."""
        forcing = self._config.teacher_forcing_ratio if self.training else 1.0
        return not self._config.input_feeding and forcing == 1.0

    def decoder_outputs(
        self,
        src: Tensor,
        tgt_in: Tensor,
        src_lengths: Tensor | None = None,
        tgt_lengths: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced decoding of ``tgt_in`` (B, Tt) up to the output layer: its inputs
        (B, Tt, H) after dropout and the attention weights (B, Tt, Ts) (None without attention).
        In training mode each step reads the model's own previous prediction with probability
        ``1 - teacher_forcing_ratio``."""
        cfg = self._config
        check_ids(tgt_in, cfg.tgt_vocab_size, "tgt_in")
        memory = self.encode(src, src_lengths)
        B, Tt = tgt_in.shape
        full_lengths(tgt_lengths, B, Tt, tgt_in.device)  # checked; the parallel path needs no lengths:
        if self.parallel():
            # The decoder is causal, so running it over the padding too leaves every real step's
            # output unchanged, and one fused call over (B, Tt) beats the per-length segments.
            x = self.dropout(self.tgt_embedding(tgt_in))
            out, _ = self.decoder(x, memory.state)  # (B, Tt, H)
            attentional, weights = self._attend(out, memory)
            return self.dropout(attentional), weights
        forcing = cfg.teacher_forcing_ratio if self.training else 1.0
        state = self.initial_decoder_state(memory)
        hidden, attention = [], []
        tokens = tgt_in[:, 0]
        for t in range(Tt):
            step_hidden, state, weights = self._step(tokens, state, memory)
            hidden.append(step_hidden)
            attention.append(weights)
            if t + 1 < Tt:
                tokens = tgt_in[:, t + 1]
                if forcing < 1.0:
                    own = torch.rand(B, device=tgt_in.device, generator=generator) >= forcing
                    tokens = torch.where(own, self._logits(step_hidden).argmax(-1), tokens)
        weights = torch.stack(attention, dim=1) if self.attention is not None else None
        return torch.stack(hidden, dim=1), weights

    def forward(
        self,
        src: Tensor,
        tgt_in: Tensor,
        src_lengths: Tensor | None = None,
        tgt_lengths: Tensor | None = None,
        generator: torch.Generator | None = None,
        tgt_out: Tensor | None = None,
    ) -> Seq2SeqOutput | TokenLoss:
        """Teacher-forced logits of ``tgt_in`` (B, Tt) (see :meth:`decoder_outputs`); with the
        adaptive softmax the "logits" are log-probabilities. Given ``tgt_out`` (B, Tt), the
        :meth:`token_loss` instead (so that a DDP wrapper's forward runs the training loss)."""
        if tgt_out is not None:
            return self.token_loss(src, tgt_in, tgt_out, src_lengths, tgt_lengths, generator)
        hidden, weights = self.decoder_outputs(src, tgt_in, src_lengths, tgt_lengths, generator)
        return Seq2SeqOutput(self._logits(hidden), weights)

    def token_loss(
        self,
        src: Tensor,
        tgt_in: Tensor,
        tgt_out: Tensor,
        src_lengths: Tensor | None = None,
        tgt_lengths: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> TokenLoss:
        """Mean cross-entropy of ``tgt_out`` (B, Tt) over the first ``tgt_lengths`` steps of each
        row, the output layer run on those positions only (the training objective)."""
        B, Tt = tgt_in.shape
        if tgt_out.shape != tgt_in.shape:
            raise ShapeError(f"tgt_out must have the shape of tgt_in {tuple(tgt_in.shape)}; got {tuple(tgt_out.shape)}")
        lengths = full_lengths(tgt_lengths, B, Tt, tgt_in.device)
        hidden, _ = self.decoder_outputs(src, tgt_in, src_lengths, lengths, generator)
        real = torch.arange(Tt, device=tgt_in.device) < lengths.unsqueeze(1)
        h, y = hidden[real], tgt_out[real]
        if self._config.softmax == "adaptive":
            loss = self.output(h, y).loss
            with torch.no_grad():
                predictions = self.output.predict(h.detach())
        else:
            logits = self.output(h)
            loss = F.cross_entropy(logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits, y)
            predictions = logits.detach().argmax(-1)
        return TokenLoss(loss, predictions, y)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def greedy_decode(self, src: Tensor, src_lengths: Tensor | None = None, max_len: int = 50) -> Decoded:
        """Pick the most likely token at each step until every sequence has emitted eos (or ``max_len``)."""
        if not isinstance(max_len, int) or max_len < 1:
            raise ConfigError(f"max_len must be a positive integer; got {max_len!r}")
        cfg = self._config
        was_training = self.training
        self.eval()
        try:
            memory = self.encode(src, src_lengths)
            B = src.shape[0]
            state = self.initial_decoder_state(memory)
            tokens = torch.full((B,), cfg.bos_id, dtype=torch.long, device=src.device)
            finished = torch.zeros(B, dtype=torch.bool, device=src.device)
            lengths = torch.zeros(B, dtype=torch.long, device=src.device)
            scores = torch.zeros(B, device=src.device)
            out_tokens, out_attn = [], []
            for _ in range(max_len):
                logits, state, weights = self.decode_step(tokens, state, memory)
                logp = F.log_softmax(logits.float(), dim=-1)
                tokens = logp.argmax(-1).masked_fill(finished, cfg.pad_id)
                scores = scores + logp.gather(1, tokens.unsqueeze(1)).squeeze(1).masked_fill(finished, 0.0)
                lengths = lengths + (~finished).long()
                if weights is not None:
                    out_attn.append(weights.masked_fill(finished.unsqueeze(1), 0.0))
                out_tokens.append(tokens)
                finished = finished | (tokens == cfg.eos_id)
                if bool(finished.all()):
                    break
            attention = torch.stack(out_attn, dim=1) if out_attn else None
            return Decoded(torch.stack(out_tokens, dim=1), lengths, scores, attention)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def beam_search(
        self,
        src: Tensor,
        src_lengths: Tensor | None = None,
        beam_size: int = 4,
        max_len: int = 50,
        length_penalty: float = 1.0,
    ) -> Decoded:
        """Batched beam search: all B sources × K beams advance together as one (B*K) batch.

        A beam that emits eos is finished: it keeps its score and only extends by
        ``pad_id`` at no cost. The best of the K final beams is the one with the highest
        ``score / length ** length_penalty`` (0: raw log-probability; 1: per-token mean).
        With ``beam_size=1`` this is greedy decoding.
        """
        if not isinstance(beam_size, int) or beam_size < 1:
            raise ConfigError(f"beam_size must be a positive integer; got {beam_size!r}")
        if not isinstance(max_len, int) or max_len < 1:
            raise ConfigError(f"max_len must be a positive integer; got {max_len!r}")
        if length_penalty < 0:
            raise ConfigError(f"length_penalty must be >= 0; got {length_penalty!r}")
        was_training = self.training
        self.eval()
        try:
            memory = self.encode(src, src_lengths)
            return self._beam(memory, beam_size, max_len, length_penalty)
        finally:
            self.train(was_training)

    def _beam(self, memory: EncoderMemory, K: int, max_len: int, alpha: float) -> Decoded:
        cfg = self._config
        B, Ts = memory.outputs.shape[:2]
        V = cfg.tgt_vocab_size
        device = memory.outputs.device

        def expand(x: Tensor, dim: int) -> Tensor:  # each batch entry repeated K times, beams adjacent
            return x.repeat_interleave(K, dim=dim)

        memory = EncoderMemory(expand(memory.outputs, 0), expand(memory.lengths, 0), _map_state(memory.state, lambda s: expand(s, 1)),
                               None if memory.keys is None else expand(memory.keys, 0))
        state = self.initial_decoder_state(memory)
        scores = torch.full((B, K), float("-inf"), device=device)
        scores[:, 0] = 0.0  # all beams start identical: keep one so the first step does not pick duplicates
        finished = torch.zeros(B, K, dtype=torch.bool, device=device)
        lengths = torch.zeros(B, K, dtype=torch.long, device=device)
        tokens = torch.full((B * K,), cfg.bos_id, dtype=torch.long, device=device)
        history = torch.zeros(B, K, 0, dtype=torch.long, device=device)
        attn_history = torch.zeros(B, K, 0, Ts, device=device)
        pad_row = torch.full((V,), float("-inf"), device=device)
        pad_row[cfg.pad_id] = 0.0
        offsets = (torch.arange(B, device=device) * K).unsqueeze(1)  # (B, 1)

        for _ in range(max_len):
            logits, state, weights = self.decode_step(tokens, state, memory)
            logp = F.log_softmax(logits.float(), dim=-1).view(B, K, V)
            logp = torch.where(finished.unsqueeze(-1), pad_row, logp)
            top, index = (scores.unsqueeze(-1) + logp).view(B, K * V).topk(K, dim=-1)  # (B, K)
            parent, tok = index // V, index % V
            flat = (offsets + parent).view(-1)  # rows of the (B*K) batch to continue
            state = DecoderState(_map_state(state.rnn, lambda s: s.index_select(1, flat)), state.feed.index_select(0, flat))
            was_finished = finished.gather(1, parent)
            history = torch.cat([history.gather(1, parent.unsqueeze(-1).expand_as(history)), tok.unsqueeze(-1)], dim=-1)
            step_attn = weights.index_select(0, flat).view(B, K, 1, Ts) if weights is not None else torch.zeros(B, K, 1, Ts, device=device)
            step_attn = step_attn.masked_fill(was_finished.view(B, K, 1, 1), 0.0)
            attn_history = torch.cat(
                [attn_history.gather(1, parent.view(B, K, 1, 1).expand_as(attn_history)), step_attn], dim=2
            )
            lengths = lengths.gather(1, parent) + (~was_finished).long()
            finished = was_finished | (tok == cfg.eos_id)
            scores = top
            tokens = tok.view(-1)
            if bool(finished.all()):
                break

        normalised = scores / lengths.clamp(min=1).float().pow(alpha)
        best = normalised.argmax(dim=1, keepdim=True)  # (B, 1)
        out_tokens = history.gather(1, best.unsqueeze(-1).expand(-1, 1, history.shape[-1])).squeeze(1)
        out_attn = attn_history.gather(1, best.view(B, 1, 1, 1).expand(-1, 1, *attn_history.shape[2:])).squeeze(1)
        return Decoded(
            out_tokens,
            lengths.gather(1, best).squeeze(1),
            scores.gather(1, best).squeeze(1),
            out_attn if self.attention is not None else None,
        )

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        cfg = self._config
        src = torch.randint(0, cfg.src_vocab_size, (batch_size, steps))
        tgt = torch.randint(0, cfg.tgt_vocab_size, (batch_size, steps - 1))
        return (src, tgt), {}
