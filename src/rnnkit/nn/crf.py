"""Linear-chain conditional random field over per-step tag scores.

For emissions ``e`` (B, T, C) (legend: B batch, T time, C tags) and a tag path
``y_0 .. y_{L-1}`` of a sequence of length L, the path score is::

    s(y) = start[y_0] + Σ_{t<L} e[t, y_t] + Σ_{1<=t<L} trans[y_{t-1}, y_t] + end[y_{L-1}]

    log p(y | e) = s(y) - log Z,    log Z = logsumexp over all C^L paths of s

``log Z`` is computed by the forward algorithm, batched over sequences and
vectorised over tags (one ``logsumexp`` per time step); Viterbi replaces the
``logsumexp`` by ``max`` and follows the back-pointers. Padded steps
(``t >= lengths[b]``) leave the recursion unchanged, so a padded batch gives
each sequence's own result. ``trans[i, j]`` is the score of moving *from* tag i
*to* tag j.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError

__all__ = ["CRF"]


class CRF(nn.Module):
    """Linear-chain CRF with start, end and transition scores.

    Args:
        num_tags: C, the number of tags.

    Parameters: ``transitions`` (C, C) [from, to], ``start_transitions`` (C,),
    ``end_transitions`` (C,), initialised uniformly in [-0.1, 0.1].
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if not isinstance(num_tags, int) or num_tags < 1:
            raise ConfigError(f"num_tags must be a positive integer; got {num_tags!r}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in (self.transitions, self.start_transitions, self.end_transitions):
            nn.init.uniform_(p, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    # ------------------------------------------------------------------ public API
    def forward(
        self, emissions: Tensor, tags: Tensor, lengths: Tensor | None = None, reduction: str = "mean"
    ) -> Tensor:
        """Negative log-likelihood ``log Z - s(y)`` of ``tags`` (B, T).

        ``reduction``: ``"mean"`` (over sequences), ``"sum"``, ``"token_mean"``
        (sum divided by the number of real steps) or ``"none"`` (B,).
        """
        lengths = self._check(emissions, lengths)
        if tags.shape != emissions.shape[:2]:
            raise ShapeError(f"tags must have shape {tuple(emissions.shape[:2])} to match emissions; got {tuple(tags.shape)}")
        nll = self.log_partition(emissions, lengths) - self.score(emissions, tags, lengths)
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        if reduction == "mean":
            return nll.mean()
        if reduction == "token_mean":
            return nll.sum() / lengths.sum()
        raise ConfigError(f"reduction must be one of mean, sum, token_mean, none; got {reduction!r}")

    def score(self, emissions: Tensor, tags: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Path scores s(y) (B,) of ``tags`` (B, T); steps past each length are ignored."""
        B, T, _ = emissions.shape
        lengths = self._lengths(lengths, B, T, emissions.device)
        mask = self._mask(lengths, T).to(emissions.dtype)  # (B, T)
        tags = tags.long().clamp(0, self.num_tags - 1)  # padded steps may hold any value
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return (
            self.start_transitions[tags[:, 0]]
            + (emit * mask).sum(1)
            + (trans * mask[:, 1:]).sum(1)
            + self.end_transitions[last]
        )

    def log_partition(self, emissions: Tensor, lengths: Tensor | None = None) -> Tensor:
        """log Z (B,) by the forward algorithm."""
        B, T, _ = emissions.shape
        lengths = self._lengths(lengths, B, T, emissions.device)
        mask = self._mask(lengths, T)
        alpha = self.start_transitions + emissions[:, 0]  # (B, C)
        for t in range(1, T):
            # alpha[b, i] + trans[i, j] summed out over i -> (B, C) indexed by j
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], nxt, alpha)
        return torch.logsumexp(alpha + self.end_transitions, dim=1)

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Viterbi: the best tag path (B, T) and its score (B,). Steps past each length hold 0."""
        lengths = self._check(emissions, lengths)
        B, T, C = emissions.shape
        mask = self._mask(lengths, T)
        same = torch.arange(C, device=emissions.device).expand(B, C)
        delta = self.start_transitions + emissions[:, 0]  # (B, C)
        pointers = []
        for t in range(1, T):
            best, arg = (delta.unsqueeze(2) + self.transitions).max(dim=1)  # (B, C) over 'from'
            keep = mask[:, t : t + 1]
            delta = torch.where(keep, best + emissions[:, t], delta)
            # A padded step points every tag at itself, so backtracking passes through it.
            pointers.append(torch.where(keep, arg, same))
        score, tag = (delta + self.end_transitions).max(dim=1)  # (B,)
        path = [tag]
        for ptr in reversed(pointers):
            tag = ptr.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        path.reverse()
        tags = torch.stack(path, dim=1)  # (B, T)
        return tags.masked_fill(~mask, 0), score

    # ------------------------------------------------------------------ helpers
    def _check(self, emissions: Tensor, lengths: Tensor | None) -> Tensor:
        if emissions.dim() != 3 or emissions.shape[2] != self.num_tags or emissions.shape[1] < 1:
            raise ShapeError(
                f"emissions must have shape (B, T, {self.num_tags}) because num_tags={self.num_tags}; "
                f"got {tuple(emissions.shape)}"
            )
        B, T, _ = emissions.shape
        if lengths is not None:
            if lengths.shape != (B,) or lengths.dtype.is_floating_point:
                raise ShapeError(f"lengths must be an integer tensor of shape ({B},); got {lengths.dtype} {tuple(lengths.shape)}")
            if bool((lengths < 1).any()) or bool((lengths > T).any()):
                raise ShapeError(f"lengths must lie in [1, {T}]; got {lengths.tolist()}")
        return self._lengths(lengths, B, T, emissions.device)

    @staticmethod
    def _lengths(lengths: Tensor | None, B: int, T: int, device: torch.device) -> Tensor:
        if lengths is None:
            return torch.full((B,), T, dtype=torch.long, device=device)
        return lengths.to(device=device, dtype=torch.long)

    @staticmethod
    def _mask(lengths: Tensor, T: int) -> Tensor:
        return torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)
