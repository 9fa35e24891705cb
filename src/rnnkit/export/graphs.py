"""The graphs an export writes: small ``nn.Module`` wrappers around a trained model that take
plain tensors, name the recurrent state as explicit inputs and outputs, and skip the models'
eager value checks (the exporter and the runtime check values once, at the boundary).

Every wrapper's inputs and outputs are tensors only, in a fixed order, so the same module
traces to TorchScript and exports to ONNX; the names are :attr:`inputs` / :attr:`outputs`.
Batch and time are dynamic in both formats.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.models.feedforward import FeedForward
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.sequence_classifier import PooledSequenceModel

__all__ = ["Graph", "ManyToOneGraph", "FeedForwardGraph", "LMSequenceGraph", "LMStepGraph", "EmissionsGraph",
           "TransformerManyToOneGraph", "TransformerEmissionsGraph", "TransformerLMSequenceGraph",
           "TransformerLMStepGraph", "TransformerGeneratorConditionGraph", "TransformerGeneratorStepGraph"]


class Graph(nn.Module):
    """Base: ``inputs``/``outputs`` names, ``dynamic`` axes per input and an example batch."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    #: index of the first input that ``forward`` takes through ``*args`` (torch.export sees them as one tuple)
    vararg_from: int | None = None
    #: the smallest size of a named dynamic axis where it is not 1
    dim_min: dict[str, int] = {}

    def example(self, batch: int, steps: int) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def dynamic(self) -> dict[str, dict[int, str]]:
        raise NotImplementedError


def _state_names(cell: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (("h0", "c0"), ("h_n", "c_n")) if cell == "lstm" else (("h0",), ("h_n",))


def _ids_or_features(embedding: nn.Module | None, input_size: int | None, batch: int, steps: int, vocab: int | None):
    if embedding is not None:
        return torch.randint(0, vocab, (batch, steps))
    return torch.randn(batch, steps, input_size)


class ManyToOneGraph(Graph):
    """``(inputs (B, T) ids or (B, T, D) features, lengths (B,)) -> output (B, K)``: the
    classifier's logits or the regressor's (scaled) predictions."""

    inputs = ("inputs", "lengths")
    outputs = ("output",)

    def __init__(self, model: PooledSequenceModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        m = self.model
        x = m.encoder.embed(inputs)
        out, _ = m.encoder.rnn(x, None, lengths)
        pooled, _ = m.pooling(out, lengths)
        return m.head(pooled)

    def example(self, batch: int, steps: int):
        enc = self.model.encoder
        if self.model._config.pooling == "flatten":
            steps = self.model._config.max_len
        x = _ids_or_features(enc.embedding, enc.input_size, batch, steps, enc.vocab_size)
        return x, torch.full((batch,), steps, dtype=torch.int64)

    def dynamic(self):
        time = None if self.model._config.pooling == "flatten" else "time"
        return {"inputs": {0: "batch", **({1: time} if time else {})}, "lengths": {0: "batch"}}


class FeedForwardGraph(Graph):
    """The one-to-one baseline: ``(inputs, lengths) -> output``; numeric inputs are (B, T, D)
    with the fixed T·D of training, token ids (B, T) are averaged over their lengths."""

    inputs = ("inputs", "lengths")
    outputs = ("output",)

    def __init__(self, model: FeedForward, steps: int | None = None, features: int | None = None) -> None:
        super().__init__()
        self.model, self.steps, self.features = model, steps, features

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        m = self.model
        if m.embedding is not None:
            T = inputs.shape[1]
            mask = (torch.arange(T, device=inputs.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
            emb = m.embedding(inputs) * mask.to(m.embedding.weight.dtype)
            feats = emb.sum(1) / lengths.unsqueeze(1).to(emb.dtype)
        else:
            feats = inputs.reshape(inputs.shape[0], -1)
        return m.layers(feats)

    def example(self, batch: int, steps: int):
        cfg = self.model._config
        if self.model.embedding is not None:
            return torch.randint(0, cfg.vocab_size, (batch, steps)), torch.full((batch,), steps, dtype=torch.int64)
        T, D = (self.steps, self.features) if self.steps else (1, cfg.input_size)
        return torch.randn(batch, T, D), torch.full((batch,), T, dtype=torch.int64)

    def dynamic(self):
        if self.model.embedding is not None:
            return {"inputs": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}
        return {"inputs": {0: "batch"}, "lengths": {0: "batch"}}


class _StateGraph(Graph):
    def __init__(self, model: nn.Module, rnn: nn.Module) -> None:
        super().__init__()
        self.model, self.rnn = model, rnn
        self.state_in, self.state_out = _state_names(rnn.cell)

    def _state(self, states: tuple[Tensor, ...]):
        return (states[0], states[1]) if self.rnn.cell == "lstm" else states[0]

    def _flat(self, state) -> tuple[Tensor, ...]:
        return (state[0], state[1]) if self.rnn.cell == "lstm" else (state,)

    def zero_state(self, batch: int) -> tuple[Tensor, ...]:
        r = self.rnn
        shape = (r.num_layers * r.num_directions, batch, r.hidden_size)
        return tuple(torch.zeros(shape) for _ in self.state_in)

    def dynamic_state(self) -> dict[str, dict[int, str]]:
        return {name: {1: "batch"} for name in self.state_in}


class LMSequenceGraph(_StateGraph):
    """``(ids (B, T), lengths (B,), h0[, c0]) -> (logits (B, T, V), h_n[, c_n])``: a whole
    chunk with the state taken at each sequence's own last step."""

    def __init__(self, model: LanguageModel) -> None:
        super().__init__(model, model.rnn)
        self.vararg_from = 2
        self.inputs = ("ids", "lengths", *self.state_in)
        self.outputs = ("logits", *self.state_out)

    def forward(self, ids: Tensor, lengths: Tensor, *states: Tensor):
        m = self.model
        out, state = m.rnn(m.embedding(ids), self._state(states), lengths)
        return (m.output(out), *self._flat(state))

    def example(self, batch: int, steps: int):
        V = self.model._config.vocab_size
        return (torch.randint(0, V, (batch, steps)), torch.full((batch,), steps, dtype=torch.int64),
                *self.zero_state(batch))

    def dynamic(self):
        return {"ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, **self.dynamic_state()}


class LMStepGraph(_StateGraph):
    """``(ids (B,), h0[, c0]) -> (logits (B, V), h_n[, c_n])``: one token per stream, the
    streaming and generation graph."""

    def __init__(self, model: LanguageModel) -> None:
        super().__init__(model, model.rnn)
        self.vararg_from = 1
        self.inputs = ("ids", *self.state_in)
        self.outputs = ("logits", *self.state_out)

    def forward(self, ids: Tensor, *states: Tensor):
        m = self.model
        out, state = m.rnn(m.embedding(ids).unsqueeze(1), self._state(states), None)
        return (m.output(out.squeeze(1)), *self._flat(state))

    def example(self, batch: int, steps: int):
        return (torch.randint(0, self.model._config.vocab_size, (batch,)), *self.zero_state(batch))

    def dynamic(self):
        return {"ids": {0: "batch"}, **self.dynamic_state()}


class RecurrentGraph(_StateGraph):
    """A bare :class:`~rnnkit.nn.recurrent.Recurrent`: ``(x (B, T, D), lengths, h0[, c0]) ->
    (output, h_n[, c_n])``, or without ``lengths`` (every sequence whole: no mask in the graph,
    the leanest streaming step). Benchmarks and the parity tests of the core."""

    def __init__(self, rnn: nn.Module, with_lengths: bool = True) -> None:
        super().__init__(rnn, rnn)
        self.with_lengths = with_lengths
        self.vararg_from = 1
        self.inputs = ("x", *(("lengths",) if with_lengths else ()), *self.state_in)
        self.outputs = ("output", *self.state_out)

    def forward(self, x: Tensor, *rest: Tensor):
        lengths, states = (rest[0], rest[1:]) if self.with_lengths else (None, rest)
        out, state = self.rnn(x, self._state(states), lengths)
        return (out, *self._flat(state))

    def example(self, batch: int, steps: int):
        lengths = (torch.full((batch,), steps, dtype=torch.int64),) if self.with_lengths else ()
        return (torch.randn(batch, steps, self.rnn.input_size), *lengths, *self.zero_state(batch))

    def dynamic(self):
        return {"x": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, **self.dynamic_state()}


class EmissionsGraph(Graph):
    """The tagger up to its per-step scores: ``(inputs (B, T) word ids, lengths (B,)[, chars
    (B, T, W) character ids]) -> emissions (B, T, K)``. CRF Viterbi (if any) runs in the
    runtime over the transitions the manifest carries."""

    outputs = ("emissions",)

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.has_chars = model.char_features is not None
        self.inputs = ("inputs", "lengths", "chars") if self.has_chars else ("inputs", "lengths")

    def forward(self, inputs: Tensor, lengths: Tensor, chars: Tensor | None = None) -> Tensor:
        m = self.model
        x = m.encoder.embed(inputs)
        if chars is not None:
            x = torch.cat([x, m.char_features(chars)], dim=-1)
        out, _ = m.encoder.rnn(x, None, lengths)
        return m.head(out)

    def example(self, batch: int, steps: int):
        cfg = self.model._config
        ids = torch.randint(1, cfg.vocab_size, (batch, steps))
        lengths = torch.full((batch,), steps, dtype=torch.int64)
        if not self.has_chars:
            return ids, lengths
        return ids, lengths, torch.randint(1, cfg.char_vocab_size, (batch, steps, 3))

    def dynamic(self):
        out = {"inputs": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}
        if self.has_chars:
            out["chars"] = {0: "batch", 1: "time", 2: "width"}
        return out


def _attend(model: nn.Module, h: Tensor, memory: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """``Seq2Seq._attend`` for one step without the attention's eager value checks."""
    att = model.attention
    scores = att.score(h.unsqueeze(1), memory)  # (B, 1, Ts)
    live = torch.arange(memory.shape[1], device=memory.device).unsqueeze(0) < lengths.unsqueeze(1)
    scores = scores.masked_fill(~live.unsqueeze(1), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    context = torch.bmm(weights, memory).squeeze(1)
    return torch.tanh(model.combine(torch.cat([h, context], dim=-1))), weights.squeeze(1)


class Seq2SeqEncoderGraph(_StateGraph):
    """``(src (B, Ts), src_lengths (B,)) -> (memory (B, Ts, dirs*H), h0[, c0])``: the encoder
    outputs the decoder attends over and the decoder's initial state (after the bridge)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, model.decoder)
        self.inputs = ("src", "src_lengths")
        self.outputs = ("memory", *self.state_in)

    def forward(self, src: Tensor, src_lengths: Tensor):
        m = self.model
        outputs, state = m.encoder(m.src_embedding(src), None, src_lengths)
        states = self._flat(state) if m.encoder.cell == "lstm" else (state,)
        if m.bridge is not None:
            L = m._config.num_layers

            def join(s: Tensor) -> Tensor:
                s = s.reshape(L, 2, s.shape[1], s.shape[2])
                return torch.tanh(m.bridge(torch.cat([s[:, 0], s[:, 1]], dim=-1)))

            states = tuple(join(s) for s in states)
        return (outputs, *states)

    def example(self, batch: int, steps: int):
        V = self.model._config.src_vocab_size
        return torch.randint(0, V, (batch, steps)), torch.full((batch,), steps, dtype=torch.int64)

    def dynamic(self):
        return {"src": {0: "batch", 1: "src_time"}, "src_lengths": {0: "batch"}}


class Seq2SeqDecoderStepGraph(_StateGraph):
    """``(tokens (B,), h[, c], feed (B, H), memory (B, Ts, M), src_lengths (B,)) ->
    (logits (B, V), h_n[, c_n], feed_out (B, H), attention (B, Ts))``: one decoder step with
    the recurrent state, the input-feeding vector and the attention memory passed explicitly.
    Without attention the ``attention`` output is zeros (B, Ts)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, model.decoder)
        self.vararg_from = 1
        self.inputs = ("tokens", *self.state_in, "feed", "memory", "src_lengths")
        self.outputs = ("logits", *self.state_out, "feed_out", "attention")

    def forward(self, tokens: Tensor, *rest: Tensor):
        m = self.model
        n = len(self.state_in)
        states, feed, memory, src_lengths = rest[:n], rest[n], rest[n + 1], rest[n + 2]
        x = m.tgt_embedding(tokens)
        if m._config.input_feeding:
            x = torch.cat([x, feed], dim=-1)
        out, state = m.decoder(x.unsqueeze(1), self._state(states), None)
        h = out[:, 0]
        if m.attention is None:
            attentional = h
            weights = memory[:, :, 0] * 0.0 + (src_lengths.unsqueeze(1) * 0).to(memory.dtype)
        else:
            attentional, weights = _attend(m, h, memory, src_lengths)
        return (m.output(attentional), *self._flat(state), attentional, weights)

    def example(self, batch: int, steps: int):
        cfg = self.model._config
        M = self.model.encoder.output_size
        return (torch.randint(0, cfg.tgt_vocab_size, (batch,)), *self.zero_state(batch),
                torch.zeros(batch, cfg.hidden_size), torch.randn(batch, steps, M),
                torch.full((batch,), steps, dtype=torch.int64))

    def dynamic(self):
        return {"tokens": {0: "batch"}, **self.dynamic_state(), "feed": {0: "batch"},
                "memory": {0: "batch", 1: "src_time"}, "src_lengths": {0: "batch"}}


class GeneratorConditionGraph(_StateGraph):
    """``(condition (B,) label ids or (B, condition_size) vectors) -> (cond (B, condition_dim),
    h0[, c0])``: the embedded condition and the initial state it sets (zeros when
    ``condition_mode = "input"``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, model.rnn)
        self.inputs = ("condition",)
        self.outputs = ("cond", *self.state_in)

    def forward(self, condition: Tensor):
        m = self.model
        cond = m.condition_embedding(condition)
        if m._config.condition_mode != "input":
            state = m.initial_state(cond)
            states = self._flat(state)
        else:
            r = self.rnn
            zero = cond.new_zeros(r.num_layers, 1, r.hidden_size) * cond[:, :1].unsqueeze(0)
            states = tuple(zero for _ in self.state_in)
        return (cond, *states)

    def example(self, batch: int, steps: int):
        cfg = self.model._config
        if cfg.condition == "label":
            return (torch.randint(0, cfg.condition_size, (batch,)),)
        return (torch.randn(batch, cfg.condition_size),)

    def dynamic(self):
        return {"condition": {0: "batch"}}


class GeneratorStepGraph(_StateGraph):
    """``(ids (B,)[, cond (B, condition_dim)], h0[, c0]) -> (logits (B, V), h_n[, c_n])``: one
    token of the conditional generator (``cond`` is an input unless ``condition_mode = "init"``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, model.rnn)
        self.vararg_from = 1
        self.uses_cond = model._config.condition_mode != "init"
        self.inputs = ("ids", *(("cond",) if self.uses_cond else ()), *self.state_in)
        self.outputs = ("logits", *self.state_out)

    def forward(self, ids: Tensor, *rest: Tensor):
        m = self.model
        cond, states = (rest[0], rest[1:]) if self.uses_cond else (None, rest)
        x = m.embedding(ids).unsqueeze(1)
        if cond is not None:
            x = torch.cat([x, cond.unsqueeze(1)], dim=-1)
        out, state = m.rnn(x, self._state(states), None)
        return (m.output(out.squeeze(1)), *self._flat(state))

    def example(self, batch: int, steps: int):
        cfg = self.model._config
        cond = (torch.randn(batch, cfg.condition_dim),) if self.uses_cond else ()
        return (torch.randint(0, cfg.vocab_size, (batch,)), *cond, *self.zero_state(batch))

    def dynamic(self):
        return {"ids": {0: "batch"}, "cond": {0: "batch"}, **self.dynamic_state()}


# ----------------------------------------------------------------------------- transformer encoders
def _transformer_encode(enc: nn.Module, inputs: Tensor, lengths: Tensor) -> Tensor:
    """``TransformerEncoder.forward`` (non-causal) with the key-padding mask always in the graph
    (all true for full rows, which attends as no mask) and without the eager checks: the
    learned positions' ``max_positions`` check becomes the position table's own bound."""
    from rnnkit.models.transformer import sinusoidal_positions

    x = enc.embedding(inputs)
    T = x.shape[1]
    pos = torch.arange(T, device=x.device)
    pe = enc.position_embedding(pos) if enc.position_embedding is not None else \
        sinusoidal_positions(pos, enc.d_model, x.dtype)
    x = x + pe
    live = torch.arange(T, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
    x = x.masked_fill(~live.unsqueeze(-1), 0.0)
    key_mask = live.unsqueeze(1).unsqueeze(1)  # (B, 1, 1, T)
    for block in enc.blocks:
        x, _ = block(x, key_mask, False)
    return enc.norm(x)


def _transformer_example(enc: nn.Module, batch: int, steps: int) -> tuple[Tensor, Tensor]:
    steps = min(steps, enc.max_positions)
    x = torch.randint(1, enc.vocab_size, (batch, steps)) if enc.vocab_size is not None else \
        torch.randn(batch, steps, enc.input_size)
    return x, torch.full((batch,), steps, dtype=torch.int64)


class TransformerManyToOneGraph(ManyToOneGraph):
    """:class:`ManyToOneGraph` (``(inputs, lengths) -> output``) for the transformer's
    classifier / regressor (classify, regress, forecast)."""

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        m = self.model
        pooled, _ = m.pooling(_transformer_encode(m.encoder, inputs, lengths), lengths)
        return m.head(pooled)

    def example(self, batch: int, steps: int):
        return _transformer_example(self.model.encoder, batch, steps)

    def dynamic(self):
        return {"inputs": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}


class TransformerEmissionsGraph(EmissionsGraph):
    """:class:`EmissionsGraph` (``(inputs, lengths) -> emissions``) for the transformer tagger
    (word ids only; CRF Viterbi in the runtime)."""

    def __init__(self, model: nn.Module) -> None:
        Graph.__init__(self)
        self.model, self.has_chars = model, False
        self.inputs = ("inputs", "lengths")

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        m = self.model
        return m.head(_transformer_encode(m.encoder, inputs, lengths))

    def example(self, batch: int, steps: int):
        return _transformer_example(self.model.encoder, batch, steps)


# ----------------------------------------------------------------------------- transformer language model
class _TransformerLMGraph(Graph):
    """Base of the transformer language model's graphs. The carried state is the model's
    ``(position, caches)`` as three tensors: ``position`` (0-d int64, the absolute position of
    the next token) and every block's keys and values stacked, ``keys`` / ``values``
    (num_layers, B, num_heads, past, d_model / num_heads), ``past`` >= 0 (0: no text yet). The
    outputs ``position_n``, ``keys_n``, ``values_n`` are the state after the new tokens, the
    caches cut to their last ``context_size`` steps as :class:`TransformerLanguageModel` does."""

    state_in = ("position", "keys", "values")
    state_out = ("position_n", "keys_n", "values_n")
    #: the smallest size of each named dynamic axis (an empty cache has past = 0)
    dim_min = {"past": 0}

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def _run(self, ids: Tensor, lengths: Tensor | None, position: Tensor, keys: Tensor | None,
             values: Tensor | None, extra: Tensor | None = None):
        """``TransformerLanguageModel.forward(ids, state)`` without the eager checks; with
        ``lengths``, keys past each row's length are masked (no real step sees them: attention
        is causal) and the returned cache is meaningful for full rows only, as in the model.
        ``extra`` (B, d) is added to every step's input (the conditional generator's condition)."""
        dec = self.model.decoder
        x = dec.embedding(ids)
        T = x.shape[1]
        x = x + dec.position_encoding(position + torch.arange(T, device=x.device), x.dtype)
        if extra is not None:
            x = x + extra.unsqueeze(1)
        return self._blocks(x, lengths, position, keys, values)

    def _blocks(self, x: Tensor, lengths: Tensor | None, position: Tensor, keys: Tensor | None,
                values: Tensor | None):
        """Embedded steps x (B, T, d) through the causal blocks after the cache (``keys`` None: no
        cache) -> (logits, position + T, keys, values), each cache cut by the model's ``window``."""
        dec, T = self.model.decoder, x.shape[1]
        P = 0 if keys is None else keys.shape[3]
        key_mask = None
        if lengths is not None:
            live = torch.arange(P + T, device=x.device).unsqueeze(0) < (lengths + P).unsqueeze(1)  # (B, S)
            key_mask = live.unsqueeze(1).unsqueeze(1)  # (B, 1, 1, S)
        ks, vs = [], []
        for i, block in enumerate(dec.blocks):
            x, (k, v) = block(x, key_mask, True, None if keys is None else (keys[i], values[i]))
            ks.append(self.model.window(k))
            vs.append(self.model.window(v))
        return self.model.output(dec.norm(x)), position + T, torch.stack(ks), torch.stack(vs)

    def zero_state(self, batch: int, past: int = 0) -> tuple[Tensor, ...]:
        cfg = self.model._config
        shape = (cfg.num_layers, batch, cfg.num_heads, past, cfg.d_model // cfg.num_heads)
        return torch.tensor(past, dtype=torch.int64), torch.zeros(shape), torch.zeros(shape)

    def _example_state(self, batch: int) -> tuple[Tensor, ...]:
        # a cache of 3 steps: torch.export specialises axes of size 0 or 1
        position, keys, values = self.zero_state(batch, 3)
        return position, torch.randn_like(keys), torch.randn_like(values)

    def dynamic_state(self) -> dict[str, dict[int, str]]:
        return {"position": {}, "keys": {1: "batch", 3: "past"}, "values": {1: "batch", 3: "past"}}


class TransformerLMSequenceGraph(_TransformerLMGraph):
    """``(ids (B, T), lengths (B,), position, keys, values) -> (logits (B, T, V), position_n,
    keys_n, values_n)``: :class:`LMSequenceGraph` for :class:`TransformerLanguageModel` (a chunk
    after ``past`` cached steps; an empty cache starts a text)."""

    inputs = ("ids", "lengths", *_TransformerLMGraph.state_in)
    outputs = ("logits", *_TransformerLMGraph.state_out)

    def forward(self, ids: Tensor, lengths: Tensor, position: Tensor, keys: Tensor, values: Tensor):
        return self._run(ids, lengths, position, keys, values)

    def example(self, batch: int, steps: int):
        V = self.model._config.vocab_size
        return (torch.randint(0, V, (batch, steps)), torch.full((batch,), steps, dtype=torch.int64),
                *self._example_state(batch))

    def dynamic(self):
        return {"ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, **self.dynamic_state()}


class TransformerLMStepGraph(_TransformerLMGraph):
    """``(ids (B,), position, keys, values) -> (logits (B, V), position_n, keys_n, values_n)``:
    :class:`LMStepGraph` for :class:`TransformerLanguageModel` (one token attending to the cache)."""

    inputs = ("ids", *_TransformerLMGraph.state_in)
    outputs = ("logits", *_TransformerLMGraph.state_out)

    def forward(self, ids: Tensor, position: Tensor, keys: Tensor, values: Tensor):
        logits, *state = self._run(ids.unsqueeze(1), None, position, keys, values)
        return (logits.squeeze(1), *state)

    def example(self, batch: int, steps: int):
        return (torch.randint(0, self.model._config.vocab_size, (batch,)), *self._example_state(batch))

    def dynamic(self):
        return {"ids": {0: "batch"}, **self.dynamic_state()}


# ----------------------------------------------------------------------------- transformer conditional generator
class TransformerGeneratorConditionGraph(_TransformerLMGraph):
    """``(condition (B,) label ids or (B, condition_size) vectors) -> (cond (B, condition_dim),
    position, keys, values)``: :class:`GeneratorConditionGraph` for
    :class:`~rnnkit.models.TransformerGenerator`: the embedded condition and the state every text
    starts from, the condition token's cache (``past`` = 1, ``position`` 1) in modes init/both, an
    empty cache (``past`` = 0, ``position`` 0) in mode input."""

    inputs = ("condition",)
    outputs = ("cond", *_TransformerLMGraph.state_in)

    def forward(self, condition: Tensor):
        m = self.model
        cond = m.condition_embedding(condition)
        zero = torch.zeros((), dtype=torch.int64, device=cond.device)
        if m.prefix:
            x = m.condition_token(cond).unsqueeze(1) + m.decoder.position_encoding(zero.view(1), cond.dtype)
            _, position, keys, values = self._blocks(x, None, zero, None, None)
            return cond, position, keys, values
        cfg = m._config
        empty = cond.new_zeros((cfg.num_layers, cond.shape[0], cfg.num_heads, 0, cfg.d_model // cfg.num_heads))
        return cond, zero, empty, empty.clone()

    def example(self, batch: int, steps: int):
        return GeneratorConditionGraph.example(self, batch, steps)

    def dynamic(self):
        return {"condition": {0: "batch"}}


class TransformerGeneratorStepGraph(_TransformerLMGraph):
    """``(ids (B,)[, cond (B, condition_dim)], position, keys, values) -> (logits (B, V),
    position_n, keys_n, values_n)``: one token of :class:`~rnnkit.models.TransformerGenerator`
    attending to the cache (``cond`` is an input unless ``condition_mode = "init"``)."""

    outputs = ("logits", *_TransformerLMGraph.state_out)
    vararg_from = 1

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.uses_cond = model.condition_input is not None
        self.inputs = ("ids", *(("cond",) if self.uses_cond else ()), *self.state_in)

    def forward(self, ids: Tensor, *rest: Tensor):
        m = self.model
        extra = m.condition_input(rest[0]) if self.uses_cond else None
        position, keys, values = rest[1:] if self.uses_cond else rest
        logits, *state = self._run(ids.unsqueeze(1), None, position, keys, values, extra)
        return (logits.squeeze(1), *state)

    def example(self, batch: int, steps: int):
        cfg = self.model._config
        cond = (torch.randn(batch, cfg.condition_dim),) if self.uses_cond else ()
        return (torch.randint(0, cfg.vocab_size, (batch,)), *cond, *self._example_state(batch))

    def dynamic(self):
        return {"ids": {0: "batch"}, "cond": {0: "batch"}, **self.dynamic_state()}
