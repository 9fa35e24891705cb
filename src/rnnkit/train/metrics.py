"""Evaluation metrics: plain functions and streaming accumulators.

Every accumulator keeps its state as one float64 tensor of *sums* (counts,
errors, matches), so a pass over many batches — and over many processes under
DDP (:meth:`Metric.all_reduce`) — aggregates exactly, then :meth:`Metric.compute`
turns the sums into numbers. ``compute`` returns a dict because some metrics
report several values (``nll``/``ppl``/``bpc``; ``precision``/``recall``/``f1``).

Conventions: classification targets equal to ``ignore_index`` (default -100,
as in ``torch.nn.CrossEntropyLoss``) are padding and are not counted.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from rnnkit.tag_schemes import entity_spans

__all__ = [
    "Metric",
    "Mean",
    "Accuracy",
    "MacroF1",
    "EntityF1",
    "Regression",
    "MeanNLL",
    "BLEU",
    "ErrorRate",
    "accuracy",
    "macro_f1",
    "entity_spans",
    "entity_f1",
    "regression_errors",
    "perplexity",
    "bits_per_char",
    "corpus_bleu",
    "edit_distance",
    "error_rates",
]


# --------------------------------------------------------------------- base class


class Metric:
    """A streaming metric: ``update`` per batch, ``compute`` at the end, ``reset`` to reuse.

    Subclasses set ``self._size`` (length of the state vector) and implement
    ``_batch_sums(*args) -> Tensor`` and ``_finish(sums: list[float]) -> dict``.
    """

    _size: int = 1

    def __init__(self) -> None:
        self.state: torch.Tensor | None = None

    def reset(self) -> None:
        self.state = None

    def update(self, *args: Any, **kwargs: Any) -> None:
        sums = self._batch_sums(*args, **kwargs).detach().to(torch.float64)
        # keep the state on the data's device: no host sync per batch on a GPU
        self.state = sums if self.state is None else self.state + sums.to(self.state.device)

    def _batch_sums(self, *args: Any, **kwargs: Any) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _finish(self, sums: list[float]) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def compute(self) -> dict[str, float]:
        sums = [0.0] * self._size if self.state is None else self.state.cpu().tolist()
        return self._finish(sums)

    def all_reduce(self, device: torch.device | None = None) -> None:
        """Sum the state over all DDP processes (no-op when not distributed)."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return
        state = self.state if self.state is not None else torch.zeros(self._size, dtype=torch.float64)
        if device is not None:
            state = state.to(device)
        dist.all_reduce(state, op=dist.ReduceOp.SUM)
        self.state = state

    def state_dict(self) -> dict[str, Any]:
        return {"state": None if self.state is None else self.state.cpu().tolist()}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.state = None if sd["state"] is None else torch.tensor(sd["state"], dtype=torch.float64)


class Mean(Metric):
    """Weighted mean of a scalar (e.g. the loss): ``update(value, weight=1)``."""

    _size = 2

    def __init__(self, name: str = "mean") -> None:
        super().__init__()
        self.name = name

    def _batch_sums(self, value: torch.Tensor | float, weight: torch.Tensor | float = 1.0) -> torch.Tensor:
        v = torch.as_tensor(value, dtype=torch.float64)
        w = torch.as_tensor(weight, dtype=torch.float64, device=v.device)
        return torch.stack([v * w, w])

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return {self.name: sums[0] / sums[1] if sums[1] else float("nan")}


# ---------------------------------------------------------------- classification


def _labels(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Class ids from ``pred``: ids as given, or argmax over the last dim of logits (…, C)."""
    if pred.dim() == target.dim() + 1:
        return pred.argmax(dim=-1)
    return pred


class Accuracy(Metric):
    """Fraction of correct predictions. ``update(pred, target)``: pred (…,) ids or (…, C) logits."""

    _size = 2

    def __init__(self, ignore_index: int = -100) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def _batch_sums(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = _labels(pred, target)
        keep = target != self.ignore_index
        correct = ((p == target) & keep).sum()
        return torch.stack([correct, keep.sum()]).to(torch.float64)

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return {"accuracy": sums[0] / sums[1] if sums[1] else float("nan")}


def accuracy(pred: torch.Tensor, target: torch.Tensor, ignore_index: int = -100) -> float:
    """Fraction of ``pred`` equal to ``target`` (ids or logits), ignoring ``ignore_index``."""
    m = Accuracy(ignore_index)
    m.update(pred, target)
    return m.compute()["accuracy"]


class MacroF1(Metric):
    """Unweighted mean of per-class F1 over classes present in target or prediction (as sklearn)."""

    def __init__(self, num_classes: int, ignore_index: int = -100) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self._size = 3 * num_classes

    def _batch_sums(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = _labels(pred, target).reshape(-1)
        t = target.reshape(-1)
        keep = t != self.ignore_index
        p, t = p[keep], t[keep]
        c = self.num_classes
        tp = torch.bincount(t[p == t], minlength=c)[:c]
        n_pred = torch.bincount(p, minlength=c)[:c]
        n_true = torch.bincount(t, minlength=c)[:c]
        return torch.cat([tp, n_pred - tp, n_true - tp]).to(torch.float64)

    def _finish(self, sums: list[float]) -> dict[str, float]:
        s = np.asarray(sums).reshape(3, self.num_classes)
        tp, fp, fn = s
        present = (tp + fp + fn) > 0
        if not present.any():
            return {"macro_f1": float("nan")}
        f1 = np.where(present, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        return {"macro_f1": float(f1[present].mean())}


def macro_f1(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int = -100) -> float:
    """Macro-averaged F1 over the classes present in ``target`` or ``pred``."""
    m = MacroF1(num_classes, ignore_index)
    m.update(pred, target)
    return m.compute()["macro_f1"]


# ------------------------------------------------------------ entity-level F1 (NER)
# entity_spans (conlleval chunk rules) lives in rnnkit.tag_schemes, torch-free, shared with the runtime


class EntityF1(Metric):
    """Entity-level precision/recall/F1 (conlleval): a predicted chunk counts only when
    its start, end and type all match a gold chunk.

    ``update(pred_tags, gold_tags)`` takes lists of tag-string sequences, or int id
    tensors (B, T) with ``id_to_tag`` given and optional ``lengths`` (B,).
    """

    _size = 3  # correct, predicted, gold

    def __init__(self, id_to_tag: Sequence[str] | None = None) -> None:
        super().__init__()
        self.id_to_tag = list(id_to_tag) if id_to_tag is not None else None

    def _as_strings(self, seqs: Any, lengths: Any) -> list[list[str]]:
        if isinstance(seqs, torch.Tensor):
            if self.id_to_tag is None:
                raise ValueError("EntityF1 got tag ids; pass id_to_tag=[...] to the constructor")
            rows = seqs.tolist()
            lens = lengths.tolist() if lengths is not None else [len(r) for r in rows]
            return [[self.id_to_tag[i] for i in r[:n]] for r, n in zip(rows, lens)]
        return [list(s) for s in seqs]

    def _batch_sums(self, pred: Any, gold: Any, lengths: Any = None) -> torch.Tensor:
        correct = n_pred = n_gold = 0
        for p, g in zip(self._as_strings(pred, lengths), self._as_strings(gold, lengths)):
            ps, gs = entity_spans(p), entity_spans(g)
            correct += len(ps & gs)
            n_pred += len(ps)
            n_gold += len(gs)
        return torch.tensor([correct, n_pred, n_gold], dtype=torch.float64)

    def _finish(self, sums: list[float]) -> dict[str, float]:
        correct, n_pred, n_gold = sums
        precision = correct / n_pred if n_pred else 0.0
        recall = correct / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1}


def entity_f1(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level precision, recall and F1 of tag sequences (conlleval semantics)."""
    m = EntityF1()
    m.update(pred, gold)
    return m.compute()


# --------------------------------------------------------------------- regression


class Regression(Metric):
    """MAE, MSE and RMSE of ``update(pred, target)`` (same shapes; optional bool ``mask``)."""

    _size = 3

    def _batch_sums(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        err = (pred.detach().to(torch.float64) - target.to(torch.float64))
        if mask is not None:
            err = err[mask]
        return torch.stack([err.abs().sum(), (err * err).sum(), torch.tensor(err.numel(), dtype=torch.float64, device=err.device)])

    def _finish(self, sums: list[float]) -> dict[str, float]:
        abs_sum, sq_sum, n = sums
        if not n:
            return {"mae": float("nan"), "mse": float("nan"), "rmse": float("nan")}
        return {"mae": abs_sum / n, "mse": sq_sum / n, "rmse": math.sqrt(sq_sum / n)}


def regression_errors(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """``{"mae", "mse", "rmse"}`` of ``pred`` against ``target``."""
    m = Regression()
    m.update(pred, target)
    return m.compute()


# ---------------------------------------------------------------- language models


def perplexity(mean_nll: float) -> float:
    """Perplexity from the mean negative log-likelihood per token in nats: ``exp(nll)``."""
    return math.exp(mean_nll) if mean_nll < 700 else float("inf")


def bits_per_char(mean_nll: float) -> float:
    """Bits per character from the mean NLL per character in nats: ``nll / ln 2``."""
    return mean_nll / math.log(2)


class MeanNLL(Metric):
    """Token-weighted mean NLL (nats) with perplexity and bits per token.

    ``update(nll_sum, n_tokens)`` — the *summed* NLL of a batch and its token count,
    so batches of different sizes weigh by tokens.
    """

    _size = 2

    def _batch_sums(self, nll_sum: torch.Tensor | float, n_tokens: torch.Tensor | float) -> torch.Tensor:
        s = torch.as_tensor(nll_sum, dtype=torch.float64).detach()
        return torch.stack([s, torch.as_tensor(n_tokens, dtype=torch.float64, device=s.device)])

    def _finish(self, sums: list[float]) -> dict[str, float]:
        if not sums[1]:
            return {"nll": float("nan"), "ppl": float("nan"), "bpc": float("nan")}
        nll = sums[0] / sums[1]
        return {"nll": nll, "ppl": perplexity(nll), "bpc": bits_per_char(nll)}


# --------------------------------------------------------------------------- BLEU


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _bleu_from_sums(sums: Sequence[float], max_n: int, smooth: str) -> float:
    """sacrebleu's ``compute_bleu`` on (matches[n], totals[n], hyp_len, ref_len); returns [0, 1]."""
    matches, totals = sums[:max_n], sums[max_n : 2 * max_n]
    hyp_len, ref_len = sums[2 * max_n], sums[2 * max_n + 1]
    if hyp_len == 0:
        return 0.0
    precisions = [0.0] * max_n
    smooth_mteval = 1.0
    for n in range(max_n):
        if totals[n] == 0:
            break
        if matches[n] == 0:
            if smooth == "exp":  # sacrebleu's default: 1 / (2^k * total) for the k-th zero
                smooth_mteval *= 2
                precisions[n] = 1.0 / (smooth_mteval * totals[n])
        else:
            precisions[n] = matches[n] / totals[n]
    if min(precisions) <= 0:
        return 0.0
    bp = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(sum(math.log(p) for p in precisions) / max_n)


class BLEU(Metric):
    """Corpus BLEU (Papineni et al. 2002; as ``sacrebleu.corpus_bleu`` on pre-tokenised text).

    ``update(hypotheses, references)``: lists of token lists, one reference per hypothesis.
    Clipped n-gram matches and totals are summed over the corpus, then
    ``BLEU = BP · exp(mean_n log p_n)`` with ``BP = exp(1 - r/c)`` when ``c < r``.
    ``smooth="exp"`` is sacrebleu's default; ``"none"`` gives 0 when any p_n is 0.
    Reported in [0, 1] (sacrebleu prints 100×).
    """

    def __init__(self, max_n: int = 4, smooth: str = "exp") -> None:
        super().__init__()
        if smooth not in ("exp", "none"):
            raise ValueError(f"smooth must be 'exp' or 'none'; got {smooth!r}")
        self.max_n, self.smooth = max_n, smooth
        self._size = 2 * max_n + 2

    def _batch_sums(self, hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[str]]) -> torch.Tensor:
        if len(hyps) != len(refs):
            raise ValueError(f"hypotheses and references must have the same length; got {len(hyps)} and {len(refs)}")
        sums = np.zeros(self._size)
        for hyp, ref in zip(hyps, refs):
            for n in range(1, self.max_n + 1):
                h, r = _ngrams(hyp, n), _ngrams(ref, n)
                sums[n - 1] += sum(min(c, r[g]) for g, c in h.items())
                sums[self.max_n + n - 1] += max(len(hyp) - n + 1, 0)
            sums[2 * self.max_n] += len(hyp)
            sums[2 * self.max_n + 1] += len(ref)
        return torch.from_numpy(sums)

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return {"bleu": _bleu_from_sums(sums, self.max_n, self.smooth)}


def corpus_bleu(
    hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[str]], max_n: int = 4, smooth: str = "exp"
) -> float:
    """Corpus BLEU-``max_n`` in [0, 1] of token lists ``hyps`` against one reference each."""
    m = BLEU(max_n, smooth)
    m.update(hyps, refs)
    return m.compute()["bleu"]


# ---------------------------------------------------------------------- error rates


def edit_distance(hyp: Sequence[Any], ref: Sequence[Any]) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1).

    One NumPy row per reference token: the insertion chain along a row is a running
    minimum, ``row[j] = min_k<=j (cand[k] + j - k)``, so no inner Python loop.
    """
    ids: dict[Any, int] = {}
    h = np.asarray([ids.setdefault(x, len(ids)) for x in hyp], dtype=np.int64)
    row = np.arange(len(h) + 1, dtype=np.int64)
    offs = np.arange(len(h) + 1, dtype=np.int64)
    for i, r in enumerate(ref, start=1):
        cand = np.empty_like(row)
        cand[0] = i
        cand[1:] = np.minimum(row[1:] + 1, row[:-1] + (h != ids.get(r, -1)))  # deletion, substitution
        row = np.minimum.accumulate(cand - offs) + offs  # insertion
    return int(row[-1])


class ErrorRate(Metric):
    """Token error rate (edit distance / reference tokens, as WER/PER) and sequence error rate.

    ``update(hyps, refs)``: lists of token sequences.
    """

    _size = 4  # token edits, reference tokens, wrong sequences, sequences

    def _batch_sums(self, hyps: Iterable[Sequence[Any]], refs: Iterable[Sequence[Any]]) -> torch.Tensor:
        edits = ref_tokens = wrong = count = 0
        for h, r in zip(hyps, refs):
            d = edit_distance(h, r)
            edits += d
            ref_tokens += len(r)
            wrong += d > 0
            count += 1
        return torch.tensor([edits, ref_tokens, wrong, count], dtype=torch.float64)

    def _finish(self, sums: list[float]) -> dict[str, float]:
        edits, ref_tokens, wrong, count = sums
        return {
            "token_error_rate": edits / ref_tokens if ref_tokens else float("nan"),
            "sequence_error_rate": wrong / count if count else float("nan"),
        }


def error_rates(hyps: Sequence[Sequence[Any]], refs: Sequence[Sequence[Any]]) -> dict[str, float]:
    """``{"token_error_rate", "sequence_error_rate"}`` of ``hyps`` against ``refs``."""
    m = ErrorRate()
    m.update(hyps, refs)
    return m.compute()
