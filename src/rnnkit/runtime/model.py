"""Runtime models over an export folder: reading raw inputs, batching, the ONNX session(s)
and the rows ``rnnkit predict`` prints. numpy + onnxruntime only."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from rnnkit.runtime import text as _text
from rnnkit.runtime.text import RuntimeError_
from rnnkit.tag_schemes import to_iob2

BATCH = 64


def _ort():
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError_("rnnkit.runtime needs onnxruntime: pip install 'rnnkit[export]' "
                            "(or pip install numpy onnxruntime)") from exc
    return onnxruntime


def load(folder: str | Path, *, threads: int | None = 1) -> RuntimeModel:
    """The model exported into ``folder`` by ``rnnkit export`` (ONNX). ``threads``: intra-op
    threads of each session (1 is fastest for one small recurrent stream; None lets
    onnxruntime choose)."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise RuntimeError_(f"{folder}: no manifest.json; is this a folder written by `rnnkit export`?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != "rnnkit-export":
        raise RuntimeError_(f"{manifest_path}: not an rnnkit export manifest")
    if manifest.get("graph_format") != "onnx":
        raise RuntimeError_(f"{folder} holds a {manifest.get('graph_format')!r} export; rnnkit.runtime runs "
                            "ONNX exports (rnnkit export RUN_DIR --format onnx); load TorchScript with torch.jit.load")
    artifacts = json.loads((folder / "artifacts.json").read_text(encoding="utf-8"))
    artifacts = artifacts.get("artifacts", artifacts) if isinstance(artifacts, dict) else artifacts
    cls = {"classify": ClassifierModel, "regress": RegressorModel, "forecast": ForecastModel,
           "lm": LanguageModel, "tag": TaggerModel, "seq2seq": Seq2SeqModel,
           "generate": GeneratorModel}.get(manifest["task"])
    if cls is None:
        raise RuntimeError_(f"rnnkit.runtime does not run {manifest['task']!r} exports")
    return cls(folder, manifest, artifacts, threads)


class RuntimeModel:
    """Base: the sessions of every graph in the manifest (``sessions[name]``)."""

    def __init__(self, folder: Path, manifest: dict, artifacts: dict, threads: int | None) -> None:
        ort = _ort()
        self.folder, self.manifest, self.artifacts = folder, manifest, artifacts
        self.task: str = manifest["task"]
        self.data: dict = manifest.get("data", {})
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.sessions = {name: ort.InferenceSession(str(folder / g["file"]), options,
                                                    providers=["CPUExecutionProvider"])
                         for name, g in manifest["graphs"].items()}
        rec = manifest.get("model", {}).get("recurrent")
        self.recurrent = rec

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.folder)!r}, task={self.task!r})"

    def run(self, graph: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.sessions[graph].run(None, feeds)


# ----------------------------------------------------------------------------- reading
def _open_text(path: Path) -> str:
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8-sig")


def _table_column(path: Path, column: str) -> list[str]:
    name = path.name.lower().removesuffix(".gz")
    text = _open_text(path)
    if name.endswith(".jsonl"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [str(r[column]) for r in rows]
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if name.endswith(".tsv") else ",")
    if reader.fieldnames is None or column not in reader.fieldnames:
        raise RuntimeError_(f"{path}: no column {column!r}; its columns: {reader.fieldnames}")
    return [row[column] for row in reader]


def _npz(path: Path) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        unknown = sorted(set(z.files) - {"X", "y", "lengths"})
        if unknown or "X" not in z.files:
            raise RuntimeError_(f"{path}: an npz input holds X (N, T[, D]), optionally lengths (N,) and y; "
                                f"got arrays {sorted(z.files)}" + (f" (unknown: {unknown})" if unknown else ""))
        x = z["X"]
        lengths = z["lengths"] if "lengths" in z else None
    x = x[:, :, None] if x.ndim == 2 else x
    x = x.astype(np.float32)
    if lengths is None:
        return list(x)
    return [row[:int(n)] for row, n in zip(x, lengths)]


def _sequences(data: Any) -> list[np.ndarray]:
    if isinstance(data, np.ndarray):
        if data.ndim == 2:
            data = data[:, :, None]
        if data.ndim != 3:
            raise RuntimeError_(f"an array input must be (N, T, D) or (N, T); got shape {data.shape}")
        return [np.asarray(a, dtype=np.float32) for a in data]
    out = []
    for a in data:
        a = np.asarray(a, dtype=np.float32)
        out.append(a[:, None] if a.ndim == 1 else a)
    return out


def _batches(n: int, size: int = BATCH) -> Iterable[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def _pad(arrays: list[np.ndarray], dtype) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    T = int(lengths.max())
    out = np.zeros((len(arrays), T, *arrays[0].shape[1:]), dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = a
    return out, lengths


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float32)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ----------------------------------------------------------------------------- many-to-one
class _SequenceInputs(RuntimeModel):
    """Raw inputs → encoded sequences, as the task's reader and ``encode`` do."""

    def _kind(self) -> str:
        return self.artifacts.get("kind", "numeric")

    def read(self, inputs: Any) -> tuple[list[Any], list[np.ndarray], list | None]:
        """``(raw examples, encoded (T_i, ...) arrays, line numbers or None)``."""
        lines = None
        if isinstance(inputs, (str, Path)) and not (isinstance(inputs, str) and "\n" in inputs) \
                and Path(inputs).is_file():
            path = Path(inputs)
            name = path.name.lower().removesuffix(".gz")
            if name.endswith(".npz"):
                raw: Any = _npz(path)
            elif name.endswith((".csv", ".tsv", ".jsonl")) and self._kind() == "text":
                raw = _table_column(path, self.data.get("text_column", "text"))
            else:
                pairs = [(n, s) for n, s in enumerate(_open_text(path).splitlines(), 1) if s.strip()]
                raw, lines = [s for _, s in pairs], [n for n, _ in pairs]
        elif isinstance(inputs, str):
            raw = [inputs]
        elif isinstance(inputs, (list, tuple)) and inputs and all(isinstance(s, str) for s in inputs):
            raw = list(inputs)
        else:
            raw = _sequences(inputs)
        return raw, self.encode(raw), lines

    def encode(self, raw: list[Any]) -> list[np.ndarray]:
        a = self.artifacts
        if raw and isinstance(raw[0], str):
            if self._kind() != "text":
                raise RuntimeError_("text inputs cannot feed a model trained on numeric inputs")
            tok, vocab = _text.tokenizer(a["tokenizer"]), _text.Vocab(a["vocab"])
            out = []
            for s in raw:
                t = tok(s)
                ids = vocab.encode(t) if t else np.array([vocab.unk_id], dtype=np.int64)
                out.append(ids)
            max_len = self.data.get("max_len")
            if max_len:
                out = [x[-max_len:] for x in out]
            if self.data.get("ids_as_features"):
                out = [x.astype(np.float32)[:, None] for x in out]
            return out
        if self._kind() == "text":
            raise RuntimeError_("numeric inputs cannot feed a model trained on text")
        sc = _text.scaler(a.get("scaler"))
        feats = a.get("features")
        if raw and feats is not None and raw[0].shape[1] != feats:
            raise RuntimeError_(f"sequences must have D = {feats} features as in training; got {raw[0].shape[1]}")
        return [x.astype(np.float32) if sc is None else sc.transform(x).astype(np.float32) for x in raw]

    def outputs(self, encoded: list[np.ndarray]) -> np.ndarray:
        """The graph's output for every example, (N, K)."""
        results = []
        for idx in _batches(len(encoded)):
            part = [encoded[i] for i in idx]
            x, lengths = _pad(part, part[0].dtype)
            results.append(self.run("model", {"inputs": x, "lengths": lengths})[0])
        return np.concatenate(results, 0)


class ClassifierModel(_SequenceInputs):
    """``classify`` exports: rows ``{text|index, label, probability, p_<label>...}``."""

    @property
    def labels(self) -> list[str]:
        return list(self.artifacts["labels"])

    def predict_proba(self, inputs: Any) -> np.ndarray:
        _, encoded, _ = self.read(inputs)
        return _softmax(self.outputs(encoded))

    def predict(self, inputs: Any) -> list[dict[str, Any]]:
        raw, encoded, _ = self.read(inputs)
        probs = _softmax(self.outputs(encoded))
        labels, rows = self.labels, []
        for i, p in enumerate(probs.tolist()):
            k = int(np.argmax(p))
            row: dict[str, Any] = {"text": raw[i]} if self._kind() == "text" else {"index": i}
            row.update(label=labels[k], probability=p[k])
            row.update({f"p_{name}": v for name, v in zip(labels, p)})
            rows.append(row)
        return rows


class RegressorModel(_SequenceInputs):
    """``regress`` exports: rows ``{index, <target>: value...}`` in original units."""

    def predict_values(self, inputs: Any) -> np.ndarray:
        _, encoded, _ = self.read(inputs)
        pred = self.outputs(encoded).astype(np.float32)
        ts = _text.scaler(self.artifacts.get("target_scaler"))
        return pred if ts is None else ts.inverse_transform(pred)

    def predict(self, inputs: Any) -> list[dict[str, Any]]:
        values = self.predict_values(inputs)
        names = self.artifacts["targets"]
        return [{"index": i, **{n: float(v) for n, v in zip(names, row)}} for i, row in enumerate(values)]


class ForecastModel(RuntimeModel):
    """``forecast`` exports over windows in original units: ``predict(windows (N, input_len, C))``
    (every column of the series, in the order of ``artifacts['columns']``) returns one row per
    future step and window, as ``rnnkit predict`` does for each window."""

    def _cols(self) -> tuple[list[int], list[int]]:
        cols, feats, targets = self.artifacts["columns"], self.artifacts.get("features"), self.artifacts["targets"]
        fc = [cols.index(c) for c in (feats or cols)]
        return fc, [cols.index(c) for c in targets]

    def predict_values(self, windows: Any) -> np.ndarray:
        w = np.asarray(windows, dtype=np.float64)
        if w.ndim == 2:
            w = w[None]
        sc = _text.scaler(self.artifacts.get("scaler"))
        scaled = (w if sc is None else sc.transform(w)).astype(np.float32)
        fc, tc = self._cols()
        x = scaled[:, :, fc]
        relative = bool(self.data.get("relative"))
        inputs = x - x[:, -1:] if relative else x
        horizon = int(self.data["horizon"])
        out = []
        for idx in _batches(len(inputs)):
            part = inputs[list(idx)]
            lengths = np.full(len(part), part.shape[1], dtype=np.int64)
            out.append(self.run("model", {"inputs": np.ascontiguousarray(part), "lengths": lengths})[0])
        pred = np.concatenate(out, 0).reshape(len(inputs), horizon, -1)
        if relative:
            pred = pred + scaled[:, -1:, tc]
        if sc is None:
            return pred
        width = len(self.artifacts["columns"])
        b = sc.inverse_transform(np.zeros((1, width)))[0]
        a = sc.inverse_transform(np.ones((1, width)))[0] - b
        return pred * a[tc] + b[tc]

    def predict(self, windows: Any) -> list[dict[str, Any]]:
        names = self.artifacts["targets"]
        return [{"step": k + 1, **{n: float(v) for n, v in zip(names, row)}}
                for values in self.predict_values(windows) for k, row in enumerate(values.tolist())]


# ----------------------------------------------------------------------------- language model
def _sample(logits: np.ndarray, temperature: float, top_k: int | None, top_p: float | None,
            rng: np.random.Generator) -> np.ndarray:
    """One token per row of ``logits`` (B, V), as :func:`rnnkit.models.decoding.sample_logits`."""
    if temperature == 0:
        return logits.argmax(-1)
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-p, axis=-1, kind="stable")
        sp = np.take_along_axis(p, order, -1)
        drop_sorted = (np.cumsum(sp, -1) - sp) >= top_p
        drop = np.empty_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, -1)
        p = np.where(drop, 0.0, p)
        p /= p.sum(-1, keepdims=True)
    u = rng.random((p.shape[0], 1))
    return np.minimum((np.cumsum(p, -1) < u).sum(-1), p.shape[-1] - 1)


def _line_text(line: str) -> str:
    """``line`` without its line break (any that ``str.splitlines`` ends a line with)."""
    body = line.splitlines()
    return body[0] if body else ""


def _ends_line(text: str) -> bool:
    """Whether ``text`` ends with a line break (as ``str.splitlines`` sees one)."""
    return text[-1:].splitlines() == [""]


class LanguageModel(RuntimeModel):
    """``lm`` exports: :meth:`stream` (the step graph with carried state), :meth:`generate`.
    Char, word or BPE subword level (``level = "bpe"``: the tokenizer file in the folder, read
    with Hugging Face ``tokenizers``, subwords glued back into text as ``rnnkit generate`` does).

    The state is whatever the step graph takes after ``ids``, as its manifest names it: ``h0``
    (and ``c0``) for a recurrent model; ``position``, ``keys``, ``values`` for the transformer
    (its key/value cache, ``past`` steps long: 0 at the start). With learned positions
    (``manifest["model"]["cache"]["max_positions"]``) a text longer than the table is refused,
    never cropped, as the torch model refuses it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.vocab = _text.Vocab(self.artifacts["vocab"])
        self.level, self.lower = self.artifacts["level"], bool(self.artifacts.get("lower"))
        self.bpe: _text.BPE | None = None
        if self.level == "bpe":
            entry = self.artifacts.get("tokenizer")
            if not isinstance(entry, dict):
                raise RuntimeError_(f"{self.folder / 'artifacts.json'}: level 'bpe' needs a 'tokenizer' entry "
                                    f"naming the tokenizer file; got {str(entry)[:80]}")
            self.bpe = _text.BPE.load(entry, self.folder)
        # a BPE run trained before lines were tokenized without their line breaks (its subwords
        # hold them) is read as it was trained, as the lm task reads it (tasks/lm.py subword_breaks)
        self.subword_breaks = self.bpe is not None and any(_line_text(t) != t for t in self.vocab.tokens)
        self.state_specs: list[dict] = self.manifest["graphs"]["step"]["inputs"][1:]
        self.max_positions: int | None = (self.manifest.get("model", {}).get("cache") or {}).get("max_positions")

    def zero_state(self, batch: int) -> tuple[np.ndarray, ...]:
        """The state before any text, from the step graph's input shapes: ``batch`` axes of size
        ``batch``, every other named axis (the cache's ``past``) empty, zeros of the input's dtype."""
        return tuple(np.zeros([batch if d == "batch" else 0 if isinstance(d, str) else d for d in s["shape"]],
                              dtype=s["dtype"]) for s in self.state_specs)

    def _state_feeds(self, graph: str, state: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        names = [s["name"] for s in self.state_specs]
        if len(state) != len(names):
            raise RuntimeError_(f"state must be {len(names)} array(s) ({', '.join(names)}); got {len(state)}")
        # np.asarray, not np.ascontiguousarray: that one makes the 0-d position (1,)
        return {s["name"]: np.asarray(x, dtype=s["dtype"], order="C") for s, x in zip(self.state_specs, state)}

    def _check_positions(self, start: int, steps: int) -> None:
        """Refuse ``steps`` tokens from position ``start`` beyond the learned position table."""
        limit = self.max_positions
        if limit is not None and start + steps > limit:
            raise RuntimeError_(f"positions='learned' covers at most max_positions={limit} tokens per text; this "
                                f"one would reach position {start + steps - 1} (counting from 0; the model refuses "
                                "rather than crop): use a shorter prime/length or text, or train with "
                                "positions='sinusoidal' or a larger max_positions")

    def _start(self, state: Sequence[np.ndarray] | None) -> int:
        """The position of the next token: the transformer's ``position`` input (0 without a state)."""
        has_position = self.state_specs and self.state_specs[0]["name"] == "position"
        return int(np.asarray(state[0])) if state is not None and has_position else 0

    def encode(self, text: str) -> np.ndarray:
        if self.level == "char":
            text = text.lower() if self.lower else text
            missing = sorted({ch for ch in text if ch not in self.vocab})
            if missing:
                raise RuntimeError_(f"the prime has characters the model never saw: {missing!r}")
            tokens = list(text)
        elif self.bpe is not None:  # each line's subwords and <eos> at its line break, as the training text
            tokens = []
            for line in text.splitlines(keepends=True):
                body = _line_text(line)
                tokens += self.bpe(line if self.subword_breaks else body)
                if body != line:
                    tokens.append("<eos>")
        else:  # words, and <eos> at each line break, as the training text was encoded
            tok = self._words()
            lines = text.split("\n")
            tokens = [t for i, line in enumerate(lines) for t in [*tok(line), *(["<eos>"] if i < len(lines) - 1 else [])]]
        if not tokens:
            raise RuntimeError_("the prime must contain at least one token")
        return self.vocab.encode(tokens)

    def _words(self) -> Any:
        """The word level's tokenizer of a line (BPE lines take their own branch)."""
        return _text.tokenizer({"level": "word", "lower": self.lower, "punctuation": "split", "strip_html": False})

    def decode(self, ids: Any, line_start: bool = True) -> str:
        """Characters as they are; words with spaces between them, BPE subwords glued (a word's
        start mark ``▁`` a space, dropped at a line start), <eos> as a line break (as
        ``rnnkit generate`` writes them). ``line_start``: whether the text starts a line. One line
        break per line end: after a subword ending with one (a BPE run trained before line breaks
        were left out of subwords) the <eos> writes nothing, as ``TextWriter`` does."""
        if self.level == "char":
            return "".join(self.vocab.tokens[int(i)] for i in ids)
        out, broken = [], False
        for i in (int(i) for i in ids):
            if i == self.vocab.eos_id:
                out.append("" if broken else "\n")
                line_start, broken = True, False
            elif i != self.vocab.pad_id:
                token = self.vocab.tokens[i]
                if self.level == "bpe":
                    piece = token.replace(_text.MARK, " ")
                    piece = piece.lstrip(" ") if line_start else piece
                    out.append(piece)
                    broken = line_start = _ends_line(piece)
                else:
                    out.append(token if line_start else " " + token)
                    line_start = False
        return "".join(out)

    def _ids(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of the whole text and the end of each line, as the lm task encodes them."""
        if self.level == "char":
            text = "".join(s.lower() for s in lines) if self.lower else "".join(lines)
            missing = sorted({ch for ch in text if ch not in self.vocab})
            if missing:
                raise RuntimeError_(f"characters the model never saw in training: {missing[:20]!r}")
            ids, sizes = self.vocab.encode(list(text)), [len(s) for s in lines]
        elif self.bpe is not None:  # each line's subwords without its line break (the line end is <eos>)
            per_line = [self.vocab.encode([*self.bpe(line if self.subword_breaks else _line_text(line)), "<eos>"])
                        for line in lines]
            ids, sizes = np.concatenate(per_line).astype(np.int64), [len(t) for t in per_line]
        else:
            tok = self._words()
            per_line = [self.vocab.encode([*tok(line), "<eos>"]) for line in lines]
            ids, sizes = np.concatenate(per_line).astype(np.int64), [len(t) for t in per_line]
        return ids, np.cumsum(np.asarray(sizes, dtype=np.int64))

    def predict(self, inputs: Any) -> list[dict[str, Any]]:
        """Per line of a text file (or of a list of texts): the mean NLL of its tokens in nats,
        perplexity, bits per token and the token count, each line read after up to
        ``data.eval_context`` tokens before it — the rows ``rnnkit predict`` prints."""
        if isinstance(inputs, (str, Path)) and Path(inputs).is_file():
            text = _open_text(Path(inputs))
        else:
            items = [inputs] if isinstance(inputs, str) else list(inputs)
            text = "".join(s if s.endswith("\n") else s + "\n" for s in items)
        if not text:
            raise RuntimeError_("the text is empty")
        lines = text.splitlines(keepends=True)
        ids, ends = self._ids(lines)
        ctx = int(self.data.get("eval_context", 0) or 0)
        starts = np.concatenate(([0], ends[:-1]))
        examples: list[tuple[np.ndarray, np.ndarray, int]] = []  # inputs, scored targets, first scored position
        for s, e in zip(starts.tolist(), ends.tolist()):
            s = max(s, 1)
            if e <= s:
                examples.append((ids[:1], ids[:0], 1))
                continue
            a = max(0, s - 1 - ctx)
            examples.append((ids[a:e - 1], ids[s:e], s - 1 - a))
        rows = []
        for idx in _batches(len(examples), 32):
            part = [examples[i] for i in idx]
            x, lengths = _pad([p[0] for p in part], np.int64)
            logits = self.stream_full(x, lengths)
            for b, (_, targets, first) in enumerate(part):
                n = len(targets)
                if n == 0:
                    rows.append((0.0, 0))
                    continue
                z = logits[b, first:first + n].astype(np.float64)
                z = z - z.max(-1, keepdims=True)
                logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
                rows.append((float(-logp[np.arange(n), targets].sum()), n))
        out = []
        for line, (nll_sum, n) in zip(lines, rows):
            row: dict[str, Any] = {"text": line.rstrip("\r\n")}
            if n == 0:
                row.update(nll=None, ppl=None, bits_per_token=None, tokens=0)
            else:
                nll = nll_sum / n
                row.update(nll=nll, ppl=float(np.exp(nll)), bits_per_token=nll / np.log(2.0), tokens=n)
            out.append(row)
        return out

    def stream_full(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Logits (B, T, V) of padded ``ids`` with ``lengths``, from the zero state."""
        self._check_positions(0, ids.shape[1])
        feeds = {"ids": ids, "lengths": lengths, **self._state_feeds("sequence", self.zero_state(len(ids)))}
        return self.run("sequence", feeds)[0]

    def stream(self, ids: Any, state: Sequence[np.ndarray] | None = None) -> tuple[np.ndarray, tuple]:
        """Feed one token per stream (ids (B,) → logits (B, V)) or a chunk ((B, T) → (B, T, V))
        with the carried ``state`` (None at the start); returns ``(logits, state)``."""
        ids = np.asarray(ids, dtype=np.int64)
        self._check_positions(self._start(state), 1 if ids.ndim == 1 else ids.shape[1])
        if ids.ndim == 1:
            state = self.zero_state(len(ids)) if state is None else state
            out = self.run("step", {"ids": ids, **self._state_feeds("step", state)})
        else:
            state = self.zero_state(ids.shape[0]) if state is None else state
            lengths = np.full(ids.shape[0], ids.shape[1], dtype=np.int64)
            out = self.run("sequence", {"ids": ids, "lengths": lengths, **self._state_feeds("sequence", state)})
        return out[0], tuple(out[1:])

    def generate(self, prime: str | None = None, length: int | None = None, temperature: float | None = None,
                 top_k: int | None = None, top_p: float | None = None, seed: int | None = None) -> str:
        """The prime followed by ``length`` sampled tokens (unset arguments: the run's ``[generate]``
        settings, from config.toml via the manifest)."""
        g = self.manifest.get("generate", {})
        prime = g.get("prime", "\n") if prime is None else prime
        length = g.get("length", 200) if length is None else length
        temperature = g.get("temperature", 1.0) if temperature is None else temperature
        top_k = g.get("top_k") if top_k is None else top_k
        top_p = g.get("top_p") if top_p is None else top_p
        seed = g.get("seed") if seed is None else seed
        if not isinstance(length, int) or length < 1:
            raise RuntimeError_(f"length must be a positive integer; got {length!r}")
        rng = np.random.default_rng(seed)
        prime_ids = self.encode(prime)
        self._check_positions(0, len(prime_ids) + length - 1)  # the last token is not fed back
        logits, state = self.stream(prime_ids[None, :])
        last = logits[:, -1]
        new = []
        step, names = self.sessions["step"], [i["name"] for i in self.manifest["graphs"]["step"]["inputs"]]
        for i in range(length):
            tok = _sample(last, temperature, top_k, top_p, rng).astype(np.int64)
            new.append(int(tok[0]))
            if i + 1 < length:
                out = step.run(None, dict(zip(names, (tok, *state))))
                last, state = out[0], out[1:]
        head = prime + ("" if self.level in ("char", "bpe") or prime.endswith("\n") else " ")
        # BPE: the first subword's word mark is the space after the prime, unless a line starts there
        start = self.level != "bpe" or not prime or _ends_line(prime)
        return head + self.decode(new, start)


class GeneratorModel(RuntimeModel):
    """``generate`` exports (one-to-many): :meth:`generate` writes a text for a condition (a
    label, or numbers for a vector condition), with optional contrastive ``guidance`` away from
    another condition, as ``rnnkit generate --condition`` does."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        a = self.artifacts
        self.vocab, self.level, self.lower = _text.Vocab(a["vocab"]), a["level"], bool(a.get("lower"))
        self.labels = a.get("labels")
        self.step_inputs = [i["name"] for i in self.manifest["graphs"]["step"]["inputs"]]
        # the transformer: learned positions end at max_positions, counting its condition token (prefix)
        cache = self.manifest.get("model", {}).get("cache") or {}
        self.max_positions, self.prefix = cache.get("max_positions"), int(cache.get("prefix", 0))

    def condition_array(self, condition: Any) -> np.ndarray:
        if self.labels is not None:
            if str(condition) not in self.labels:
                raise RuntimeError_(f"condition {condition!r} is not one of the training labels {self.labels}")
            return np.array([self.labels.index(str(condition))], dtype=np.int64)
        values = [float(x) for x in (condition.split(",") if isinstance(condition, str) else condition)]
        return np.array([values], dtype=np.float32)

    def generate(self, condition: Any = None, prime: str | None = None, length: int | None = None,
                 temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None, guidance: float | None = None, away_from: Any = None) -> str:
        g = self.manifest.get("generate", {})
        condition = g.get("condition") if condition is None else condition
        if condition is None:
            if self.labels is None:
                raise RuntimeError_("a vector condition is needed")
            condition = self.labels[0]
        guidance = g.get("guidance", 0.0) if guidance is None else guidance
        away_from = g.get("away_from") if away_from is None else away_from
        if guidance and away_from is None:
            if self.labels is None or len(self.labels) != 2:
                raise RuntimeError_(f"guidance={guidance} needs away_from, the condition to steer away from")
            away_from = next(x for x in self.labels if x != str(condition))
        prime = g.get("prime", "") if prime is None else prime
        length = g.get("length", 200) if length is None else length
        temperature = g.get("temperature", 1.0) if temperature is None else temperature
        top_k = g.get("top_k") if top_k is None else top_k
        top_p = g.get("top_p") if top_p is None else top_p
        seed = g.get("seed") if seed is None else seed
        cond = self.condition_array(condition)
        if guidance:
            cond = np.concatenate([cond, self.condition_array(away_from)])
        cond_emb, *state = self.run("condition", {"condition": cond})
        tok = _text.tokenizer({"level": self.level, "lower": self.lower, "punctuation": "split",
                               "strip_html": self.level == "word"})
        cut = self.data.get("max_len")
        tokens = tok(prime)[: None if cut is None else cut + 1] if prime else []
        ids = [self.vocab.bos_id, *self.vocab.encode(tokens).tolist()]
        if not isinstance(length, int) or length < 1:
            raise RuntimeError_(f"length must be a positive integer; got {length!r}")
        last_position = self.prefix + len(ids) + length - 2  # the last token drawn is not fed back
        if self.max_positions is not None and last_position >= self.max_positions:
            raise RuntimeError_(f"positions='learned' covers at most max_positions={self.max_positions} positions "
                                f"per text; this one would reach position {last_position} (counting from 0, the "
                                f"condition token included; the model refuses rather than crop): use a shorter "
                                "prime/length, or train with positions='sinusoidal' or a larger max_positions")
        B = len(cond)
        uses_cond = "cond" in self.step_inputs

        def step(token: np.ndarray, st: list) -> tuple[np.ndarray, list]:
            feeds = [token, *((cond_emb,) if uses_cond else ()), *st]
            out = self.run("step", dict(zip(self.step_inputs, feeds)))
            logits = out[0]
            if guidance:
                z = logits.astype(np.float32)
                logp = z - z.max(-1, keepdims=True)
                logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
                half = B // 2
                logits = logp[:half] + guidance * (logp[:half] - logp[half:])
            return logits, list(out[1:])

        for i in ids:
            last, state = step(np.full(B, i, dtype=np.int64), state)
        rng = np.random.default_rng(seed)
        new = []
        for i in range(length):
            t = int(_sample(last, temperature, top_k, top_p, rng)[0])
            new.append(t)
            if i + 1 < length:
                last, state = step(np.full(B, t, dtype=np.int64), state)
        sep = "" if self.level == "char" else " "
        return sep.join(tokens + self.vocab.decode(new))


# ----------------------------------------------------------------------------- seq2seq
class Seq2SeqModel(RuntimeModel):
    """``seq2seq`` exports: the encoder graph once, then the decoder-step graph (state, the
    input-feeding vector and the attention memory passed in and out) greedily until eos.
    ``predict`` takes source strings or a file (one source per line, or source<TAB>target) and
    returns rows ``{line, source, prediction}``. Beam search is not in the runtime: it decodes
    greedily whatever ``decode.beam_size`` the run has. BPE runs (``data.tokenizer = "bpe"``)
    read each side's tokenizer file from the folder; their predictions are the subwords joined
    back into text, as ``rnnkit predict`` writes them."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        a = self.artifacts
        self.source, self.target = _text.Vocab(a["source"]), _text.Vocab(a["target"])
        self.source_tokens = _text.tokenizer(a["tokenizers"]["source"], self.folder)
        self.target_level = a["tokenizers"]["target"].get("level", "word")
        self.target_tokens = _text.tokenizer(a["tokenizers"]["target"], self.folder)
        self.max_len = int(self.manifest.get("decode", {}).get("max_len", 50))
        self.step_inputs = [i["name"] for i in self.manifest["graphs"]["decoder_step"]["inputs"]]

    def join(self, tokens: list[str]) -> str:
        """The text of target tokens: characters glued, words with spaces, BPE subwords joined."""
        if isinstance(self.target_tokens, _text.BPE):
            return self.target_tokens.join(tokens)
        return ("" if self.target_level == "char" else " ").join(tokens)

    def translate_ids(self, sources: list[str], max_len: int | None = None) -> list[list[int]]:
        max_len = self.max_len if max_len is None else max_len
        enc = [self.source.encode(self.source_tokens(t)) for t in sources]
        out: list[list[int]] = []
        eos, pad, bos = self.target.eos_id, self.target.pad_id or 0, self.target.bos_id
        for idx in _batches(len(enc)):
            src, lengths = _pad([enc[i] for i in idx], np.int64)
            memory, *state = self.run("encoder", {"src": src, "src_lengths": lengths})
            B = len(src)
            feed = np.zeros((B, self.recurrent["hidden_size"]), np.float32)
            tokens = np.full(B, bos, dtype=np.int64)
            finished = np.zeros(B, dtype=bool)
            n = np.zeros(B, dtype=np.int64)
            rows: list[list[int]] = [[] for _ in range(B)]
            for _ in range(max_len):
                res = self.run("decoder_step", dict(zip(self.step_inputs, (tokens, *state, feed, memory, lengths))))
                logits, state, feed = res[0], res[1:-2], res[-2]
                tokens = np.where(finished, pad, logits.argmax(-1)).astype(np.int64)
                n += ~finished
                for b in range(B):
                    if not finished[b]:
                        rows[b].append(int(tokens[b]))
                finished |= tokens == eos
                if finished.all():
                    break
            out.extend(r[:-1] if r and r[-1] == eos else r for r in rows)
        return out

    def predict(self, inputs: Any) -> list[dict[str, Any]]:
        lines: list[int]
        if isinstance(inputs, (str, Path)) and Path(inputs).is_file():
            pairs = [(n, s.rstrip("\r")) for n, s in enumerate(_open_text(Path(inputs)).split("\n"), 1) if s.strip()]
            swap = bool(self.data.get("swap"))
            if "\t" in pairs[0][1]:
                sources = [s.split("\t")[1 if swap else 0] for _, s in pairs]
            else:
                sources = [s for _, s in pairs]
            lines = [n for n, _ in pairs]
        else:
            sources = [inputs] if isinstance(inputs, str) else list(inputs)
            lines = list(range(1, len(sources) + 1))
        return [{"line": line, "source": text, "prediction": self.join(self.target.decode(ids))}
                for line, text, ids in zip(lines, sources, self.translate_ids(sources))]


# ----------------------------------------------------------------------------- tagger
class TaggerModel(RuntimeModel):
    """``tag`` exports: emissions from the graph, CRF Viterbi (if the model has a CRF) in numpy.
    ``predict`` takes sentences (token lists or whitespace-separated strings) or a plain text
    file (one sentence per line) and returns rows ``{line, tokens, tags}``."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        a = self.artifacts
        self.words = _text.Vocab(a["words"])
        self.chars = _text.Vocab(a["chars"]) if a.get("chars") else None
        self.tags: list[str] = list(a["tags"])
        self.iobes = a.get("tag_scheme", "file") == "iobes"  # learnt as IOBES: written back as IOB2, as the task does
        crf = self.manifest.get("extras", {}).get("crf")
        self.crf = None if crf is None else {k: np.asarray(v, dtype=np.float32) for k, v in crf.items()}

    def _encode(self, tokens: list[str]) -> np.ndarray:
        a = self.artifacts
        words = self.words.encode([t.lower() for t in tokens] if a["lowercase"] else tokens)
        if self.chars is None:
            return words
        width = int(a["max_word_len"])
        out = np.zeros((len(tokens), 1 + width), dtype=np.int64)
        out[:, 0] = words
        for i, tok in enumerate(tokens):
            ids = self.chars.encode(list(tok[:width]))
            out[i, 1:1 + len(ids)] = ids
        return out

    def emissions(self, sentences: list[list[str]]) -> list[np.ndarray]:
        enc = [self._encode(s) for s in sentences]
        out: list[np.ndarray] = []
        for idx in _batches(len(enc)):
            x, lengths = _pad([enc[i] for i in idx], np.int64)
            feeds = {"inputs": x if x.ndim == 2 else np.ascontiguousarray(x[..., 0]), "lengths": lengths}
            if self.chars is not None:
                chars = x[..., 1:]
                width = max(int((chars != 0).sum(-1).max()), 1)
                feeds["chars"] = np.ascontiguousarray(chars[..., :width])
            em = self.run("model", feeds)[0]
            out.extend(em[b, :n] for b, n in enumerate(lengths.tolist()))
        return out

    def predict(self, inputs: Any) -> list[dict[str, Any]]:
        lines: list[int]
        if isinstance(inputs, (str, Path)) and Path(inputs).is_file():
            pairs = [(n, s.rstrip("\r")) for n, s in enumerate(_open_text(Path(inputs)).split("\n"), 1) if s.strip()]
            sentences, lines = [s.split() for _, s in pairs], [n for n, _ in pairs]
        else:
            items = [inputs] if isinstance(inputs, str) else list(inputs)
            sentences = [x.split() if isinstance(x, str) else list(x) for x in items]
            lines = list(range(1, len(sentences) + 1))
        rows = []
        for line, tokens, em in zip(lines, sentences, self.emissions(sentences)):
            path = _viterbi(em, self.crf) if self.crf is not None else em.argmax(-1).tolist()
            tags = [self.tags[k] for k in path]
            rows.append({"line": line, "tokens": list(tokens), "tags": to_iob2(tags) if self.iobes else tags})
        return rows


def _viterbi(em: np.ndarray, crf: dict) -> list[int]:
    """The best tag path of one sentence's emissions (T, K), as :meth:`rnnkit.nn.crf.CRF.decode`."""
    trans, start, end = crf["transitions"], crf["start_transitions"], crf["end_transitions"]
    score = start + em[0]
    back = []
    for t in range(1, len(em)):
        total = score[:, None] + trans + em[t][None, :]
        back.append(total.argmax(0))
        score = total.max(0)
    score = score + end
    best = [int(score.argmax())]
    for bp in reversed(back):
        best.append(int(bp[best[-1]]))
    return best[::-1]
