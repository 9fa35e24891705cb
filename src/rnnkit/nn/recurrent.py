"""``Recurrent``: a stack of RNN/LSTM/GRU layers over time, on the fused or unrolled path."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from rnnkit.errors import BackendError, ConfigError
from rnnkit.nn.chrono import check_chrono, chrono_bias
from rnnkit.nn.cpu_fused import native_loops_ready, run_cpu_fused
from rnnkit.nn.fused import run_fused
from rnnkit.nn.segments import export_mode, run_export_safe
from rnnkit.nn.trace import Trace
from rnnkit.nn.unrolled import run_unrolled
from rnnkit.nn.validation import check_input, check_lengths, check_state

CellName = Literal["rnn", "lstm", "gru"]
Backend = Literal["auto", "fused", "cpu_fused", "unrolled"]
BACKENDS = ("auto", "fused", "cpu_fused", "unrolled")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _match_dtype(state, dtype: torch.dtype):
    def cast(s):
        return s.to(dtype) if isinstance(s, Tensor) and s.is_floating_point() and s.dtype != dtype else s
    return tuple(cast(s) for s in state) if isinstance(state, (tuple, list)) else cast(state)


class Recurrent(nn.Module):
    r"""Multi-layer, optionally bidirectional RNN / LSTM / GRU over a batch of sequences.

    Args:
        cell: ``"rnn"`` (vanilla, see :mod:`rnnkit.nn.rnn_cell`), ``"lstm"`` or ``"gru"``.
        input_size: D, features per step.
        hidden_size: H, units per layer and direction.
        num_layers: stacked layers; layer k+1 reads layer k's (concatenated) output.
        bidirectional: add a reverse direction per layer; outputs are ``[forward, reverse]``.
        dropout: dropout on each layer's output except the last (training only).
        nonlinearity: ``"tanh"`` or ``"relu"``, vanilla RNN only.
        bias: learn ``b_ih`` and ``b_hh``.
        batch_first: ``x`` is (B, T, D) (default) rather than (T, B, D).
        backend: ``"fused"`` uses torch's cuDNN/oneDNN kernels and raises
            :class:`~rnnkit.errors.BackendError` for what they cannot run; ``"unrolled"``
            runs the cells in a Python loop (every variant, per-step traces);
            ``"cpu_fused"`` is rnnkit's own whole-sequence forward and hand-written
            backward (:mod:`rnnkit.nn.cpu_fused`: the time loops in a compiled C kernel
            where a compiler is present, else in torch ops; bf16 GEMMs with fp32 gate math
            under bf16 autocast); ``"auto"`` takes the fastest measured of these that can
            run (see :meth:`auto_path`). :attr:`path` tells which runs.
        recurrent_dropout: variational dropout on the ``h`` that enters ``W_hh``, one
            mask per sequence (Gal & Ghahramani 2016); the fused kernels cannot do it.
        chrono_init: None, or the longest dependency expected in steps: LSTM/GRU keep-gate
            biases drawn by chrono initialisation (:mod:`rnnkit.nn.chrono`).

    Parameters are named and laid out exactly as in ``torch.nn.RNN/LSTM/GRU``
    (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, with
    ``_reverse`` for the reverse direction), so their ``state_dict`` loads unchanged.

    Shapes: ``x`` (B, T, D); ``lengths`` (B,) ints in [1, T]; ``state`` (L*dirs, B, H),
    or ``(h, c)`` for LSTM. ``forward`` returns ``output`` (B, T, dirs*H), zero at
    padded steps, and the final state taken at each sequence's own last step.
    """

    def __init__(
        self,
        cell: CellName,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        backend: Backend = "auto",
        recurrent_dropout: float = 0.0,
        chrono_init: int | None = None,
    ):
        super().__init__()
        if cell not in GATES:
            raise ConfigError(f"cell must be one of 'rnn', 'lstm', 'gru'; got {cell!r}")
        check_chrono(chrono_init, cell)
        if chrono_init is not None and not bias:
            raise ConfigError(f"chrono_init={chrono_init} sets gate biases; the layer was built with bias=False")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive int; got {value!r}")
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        if cell != "rnn" and nonlinearity != "tanh":
            raise ConfigError(f"nonlinearity applies to cell='rnn' only; got nonlinearity={nonlinearity!r} with cell={cell!r}")
        for name, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(value) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1); got {value!r}")
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
        if backend in ("fused", "cpu_fused") and recurrent_dropout > 0:
            raise BackendError(
                f"backend={backend!r} cannot run recurrent_dropout={recurrent_dropout}: the fused kernels "
                "have no per-step dropout on h; use backend='auto' or 'unrolled'"
            )
        self.cell, self.input_size, self.hidden_size, self.num_layers = cell, input_size, hidden_size, num_layers
        self.bidirectional, self.dropout, self.nonlinearity, self.bias = bool(bidirectional), float(dropout), nonlinearity, bias
        self.batch_first, self.backend, self.recurrent_dropout = batch_first, backend, float(recurrent_dropout)
        self.chrono_init = chrono_init
        self.num_directions = 2 if bidirectional else 1
        self.output_size = self.num_directions * hidden_size

        rows = GATES[cell] * hidden_size
        self._flat_weight_names: list[str] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else self.output_size
            for d in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (rows, layer_in)), ("weight_hh", (rows, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
                for base, shape in shapes:
                    self.register_parameter(base + suffix, nn.Parameter(torch.empty(shape)))
                    self._flat_weight_names.append(base + suffix)
        self.reset_parameters()

    # ----------------------------------------------------------------- parameters
    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as torch.nn does; then, for LSTM,
        the forget gate's bias 1 (its ``bias_ih`` part 1, its ``bias_hh`` part 0), so the cell
        state is carried from the first step (on a 20-series set the untuned classifier went
        from 0.67 to 0.82 test accuracy; benchmarks/defaults.py). With ``chrono_init`` the
        keep/write gate biases follow :mod:`rnnkit.nn.chrono` instead. Parity tests copy the weights."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        if not self.bias or self.cell == "rnn":
            return
        H = self.hidden_size
        keep = slice(H, 2 * H)  # lstm: f (gate order i, f, g, o); gru: z (order r, z, n; h = (1 - z) n + z h)
        write = slice(0, H) if self.cell == "lstm" else None  # lstm: i
        with torch.no_grad():
            for layer in range(self.num_layers):
                for d in range(self.num_directions):
                    _, _, b_ih, b_hh = self.layer_weights(layer, d)
                    if self.chrono_init is None:
                        if self.cell == "lstm":
                            b_ih[keep], b_hh[keep] = 1.0, 0.0
                        continue
                    b_ih[keep], b_hh[keep] = chrono_bias(H, self.chrono_init, b_ih), 0.0  # b_ih alone sets them
                    if write is not None:
                        b_ih[write], b_hh[write] = -b_ih[keep], 0.0

    def flat_weights(self) -> list[Tensor]:
        """Parameters in the order the fused kernels expect: per layer, per direction, w_ih, w_hh, b_ih, b_hh."""
        return [getattr(self, name) for name in self._flat_weight_names]

    def layer_weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
        if not self.bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix)

    def _apply(self, fn, recurse=True):
        ret = super()._apply(fn, recurse)
        self.flatten_parameters()
        return ret

    def flatten_parameters(self) -> None:
        """On CUDA with cuDNN, put the weights in one contiguous buffer as ``torch.nn.RNNBase``
        does, so cuDNN need not copy them each call. A no-op on CPU."""
        weights = self.flat_weights()
        first = weights[0]
        if not first.is_cuda or not all(
            w.is_cuda and w.dtype == first.dtype and torch.backends.cudnn.is_acceptable(w) for w in weights
        ):
            return
        if len({w.data_ptr() for w in weights}) != len(weights):
            return
        import torch.backends.cudnn.rnn as cudnn_rnn

        mode = "RNN_TANH" if self.cell == "rnn" and self.nonlinearity == "tanh" else (
            "RNN_RELU" if self.cell == "rnn" else self.cell.upper()
        )
        with torch.cuda.device_of(first), torch.no_grad():
            if torch._use_cudnn_rnn_flatten_weight():
                torch._cudnn_rnn_flatten_weight(
                    weights, 4 if self.bias else 2, self.input_size, cudnn_rnn.get_cudnn_mode(mode),
                    self.hidden_size, 0, self.num_layers, self.batch_first, self.bidirectional,
                )

    # ----------------------------------------------------------------- running
    @property
    def path(self) -> str:
        """``"fused"``, ``"cpu_fused"`` or ``"unrolled"``: the path :meth:`forward` takes now
        (it can depend on train/eval mode, the device and whether CPU bf16 autocast is on)."""
        if self.backend == "unrolled":
            return "unrolled"
        if self.training and self.recurrent_dropout > 0:
            return "unrolled"  # only reachable with backend="auto"; the fused ones refused this at construction
        if self.backend != "auto":
            return self.backend
        return self.auto_path()

    def auto_path(self) -> str:
        """What ``backend="auto"`` runs (recurrent dropout aside), as ``benchmarks/core_speed.py``
        measured it (training steps, one CPU thread): ``"cpu_fused"`` for RNN and GRU stacks with
        float32 weights on the CPU while gradients are recorded, when its compiled time loops can
        run (:mod:`rnnkit.nn.cpu_native`): 1.1-3.8x torch's oneDNN kernels at every measured shape.
        Everywhere else ``"fused"``: LSTM (oneDNN runs it near the GEMM rate; cpu_fused was 0.6-0.8x),
        CUDA, bf16 autocast, inference, and machines without a C compiler."""
        w = self.flat_weights()[0]
        if (self.cell != "lstm" and w.device.type == "cpu" and w.dtype == torch.float32 and torch.is_grad_enabled()
                and not torch.is_autocast_enabled("cpu") and native_loops_ready(w)):
            return "cpu_fused"
        return "fused"

    def _prepare(self, x: Tensor, state, lengths):
        weight = self.flat_weights()[0]
        check_input(x if self.batch_first or not isinstance(x, Tensor) or x.dim() != 3 else x.transpose(0, 1),
                    self.input_size, weight.dtype)
        if not self.batch_first:
            x = x.transpose(0, 1)
        B, T = x.shape[0], x.shape[1]
        if lengths is not None:
            lengths = check_lengths(lengths, B, T, x.device)
            if int(lengths.min()) == T:  # nothing is padded: skip packing/masking (packed CPU kernels are slow)
                lengths = None
        expected = (self.num_layers * self.num_directions, B, self.hidden_size)
        if state is None:
            h0 = x.new_zeros(expected)
            state = (h0, h0.clone()) if self.cell == "lstm" else h0
        else:
            if torch.is_autocast_enabled(x.device.type):
                # under autocast a carried state comes back in the autocast dtype (as from
                # torch.nn): accept it, as torch.nn does, by casting it to x's dtype
                state = _match_dtype(state, x.dtype)
            check_state(state, expected, self.cell == "lstm", x)
            state = tuple(state) if self.cell == "lstm" else state
        return x, state, lengths

    #: run the export-safe path (:func:`rnnkit.nn.segments.run_export_safe`) even in eager mode;
    #: it is taken anyway while a graph is captured (ONNX export, torch.export/compile, jit trace)
    export_safe: bool = False

    def _prepare_export(self, x: Tensor, state, lengths):
        """The boundary checks that need no tensor values (shapes, dtypes): no ``.item()``, no
        host sync, nothing a graph capture cannot follow. Value checks of ``lengths`` are the
        caller's, once, in eager mode (:func:`rnnkit.nn.validation.check_lengths`)."""
        if not self.batch_first:
            x = x.transpose(0, 1)
        B = x.shape[0]
        if lengths is not None and isinstance(lengths, Tensor):
            lengths = lengths.to(torch.int64)
        elif lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.int64, device=x.device)
        expected = (self.num_layers * self.num_directions, B, self.hidden_size)
        if state is None:
            h0 = x.new_zeros(expected)
            state = (h0, h0.clone()) if self.cell == "lstm" else h0
        else:
            state = tuple(state) if self.cell == "lstm" else state
        return x, state, lengths

    def forward(self, x: Tensor, state=None, lengths=None):
        """Run the stack over ``x``. Returns ``(output, state)``; see the class docstring for shapes."""
        if self.export_safe or export_mode():
            if not export_mode() and isinstance(x, Tensor):  # eager: the checks once, at the boundary
                self._prepare(x, state, lengths)
            x, state, lengths = self._prepare_export(x, state, lengths)
            output, final = run_export_safe(self, x, state, lengths)
            if not self.batch_first:
                output = output.transpose(0, 1)
            return output, final
        x, state, lengths = self._prepare(x, state, lengths)
        path = self.path
        if path == "fused":
            output, final = run_fused(self, x, state, lengths)
        elif path == "cpu_fused":
            output, final = run_cpu_fused(self, x, state, lengths)
        else:
            output, final = run_unrolled(self, x, state, lengths)
        if not self.batch_first:
            output = output.transpose(0, 1)
        return output, final

    def step(self, x: Tensor, state):
        """One time step of a unidirectional stack, for generation loops: ``x`` (B, D) and the
        state (L, B, H) — ``(h, c)`` for LSTM — give the top layer's output (B, H) and the new
        state. No checks (validate once with :meth:`forward`, e.g. on the prompt) and no
        inter-layer dropout: it runs the cell ops (``torch.lstm_cell`` ...) directly, which for a
        single step cost a fraction of a fused-kernel call. Equals ``forward`` on a one-step
        chunk in eval mode to float rounding."""
        if self.bidirectional:
            raise ConfigError("step() runs unidirectional stacks only (the reverse direction needs the whole sequence)")
        is_lstm = self.cell == "lstm"
        h_all, c_all = (state[0], state[1]) if is_lstm else (state, None)
        hs, cs = [], []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer, 0)
            if is_lstm:
                h, c = torch.lstm_cell(x, (h_all[layer], c_all[layer]), w_ih, w_hh, b_ih, b_hh)
                cs.append(c)
            elif self.cell == "gru":
                h = torch.gru_cell(x, h_all[layer], w_ih, w_hh, b_ih, b_hh)
            elif self.nonlinearity == "tanh":
                h = torch.rnn_tanh_cell(x, h_all[layer], w_ih, w_hh, b_ih, b_hh)
            else:
                h = torch.rnn_relu_cell(x, h_all[layer], w_ih, w_hh, b_ih, b_hh)
            hs.append(h)
            x = h
        h_n = hs[0].unsqueeze(0) if len(hs) == 1 else torch.stack(hs)
        if is_lstm:
            return x, (h_n, cs[0].unsqueeze(0) if len(cs) == 1 else torch.stack(cs))
        return x, h_n

    def trace(self, x: Tensor, state=None, lengths=None) -> Trace:
        """Run on the unrolled path and record every step's state (and, after
        ``backward()``, gradient dL/dh_t). Same arguments and results as :meth:`forward`."""
        x, state, lengths = self._prepare(x, state, lengths)
        trace = run_unrolled(self, x, state, lengths, record=True)
        if not self.batch_first:
            trace.output = trace.output.transpose(0, 1)
        return trace

    # ----------------------------------------------------------------- torch.nn interop
    def to_torch(self) -> nn.Module:
        """The same layers as a ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` (weights copied; names and
        layout are already torch's), so ``torch.ao.quantization.quantize_dynamic``,
        ``torch.compile`` and third-party tools apply. Recurrent dropout has no torch.nn
        equivalent and is refused."""
        if self.recurrent_dropout:
            raise BackendError(f"recurrent_dropout={self.recurrent_dropout} has no torch.nn equivalent; "
                               "to_torch() needs recurrent_dropout=0")
        kwargs = dict(num_layers=self.num_layers, bias=self.bias, batch_first=self.batch_first,
                      dropout=self.dropout, bidirectional=self.bidirectional)
        first = self.flat_weights()[0]
        if self.cell == "rnn":
            module: nn.Module = nn.RNN(self.input_size, self.hidden_size, nonlinearity=self.nonlinearity, **kwargs)
        else:
            module = (nn.LSTM if self.cell == "lstm" else nn.GRU)(self.input_size, self.hidden_size, **kwargs)
        module = module.to(device=first.device, dtype=first.dtype)
        module.load_state_dict(self.state_dict())
        return module.train(self.training)

    @classmethod
    def from_torch(cls, module: nn.Module, backend: Backend = "auto") -> "Recurrent":
        """A :class:`Recurrent` with the weights of ``module`` (``torch.nn.RNN`` / ``LSTM`` /
        ``GRU``; ``proj_size`` is not supported)."""
        if isinstance(module, nn.LSTM):
            cell, nonlinearity = "lstm", "tanh"
            if module.proj_size:
                raise ConfigError(f"from_torch: LSTM with proj_size={module.proj_size} is not supported")
        elif isinstance(module, nn.GRU):
            cell, nonlinearity = "gru", "tanh"
        elif isinstance(module, nn.RNN):
            cell, nonlinearity = "rnn", module.nonlinearity
        else:
            raise ConfigError(f"from_torch takes torch.nn.RNN, LSTM or GRU; got {type(module).__name__}")
        rec = cls(cell, module.input_size, module.hidden_size, num_layers=module.num_layers,
                  bidirectional=module.bidirectional, dropout=float(module.dropout), nonlinearity=nonlinearity,
                  bias=module.bias, batch_first=module.batch_first, backend=backend)
        first = next(module.parameters())
        rec = rec.to(device=first.device, dtype=first.dtype)
        rec.load_state_dict(module.state_dict())
        return rec.train(module.training)

    def extra_repr(self) -> str:
        parts = [f"{self.cell!r}", f"{self.input_size}", f"{self.hidden_size}", f"num_layers={self.num_layers}"]
        if self.bidirectional:
            parts.append("bidirectional=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.recurrent_dropout:
            parts.append(f"recurrent_dropout={self.recurrent_dropout}")
        if self.cell == "rnn":
            parts.append(f"nonlinearity={self.nonlinearity!r}")
        parts.append(f"backend={self.backend!r}")
        if self.chrono_init is not None:
            parts.append(f"chrono_init={self.chrono_init}")
        return ", ".join(parts)
