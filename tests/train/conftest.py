"""Tiny models, objectives and data for the training tests (no rnnkit.models)."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

from rnnkit.nn import Recurrent
from rnnkit.train import Accuracy, MeanNLL, StepResult

B, T, D, H, C, V = 3, 5, 7, 11, 4, 13


class Classifier(nn.Module):
    """LSTM over (B, T, D) → dropout → Linear on the last step → (B, C) logits."""

    def __init__(self, p: float = 0.3) -> None:
        super().__init__()
        self.rnn = nn.LSTM(D, H, batch_first=True)
        self.drop = nn.Dropout(p)
        self.head = nn.Linear(H, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (B, T, H)
        return self.head(self.drop(out[:, -1]))


class ClassifyObjective:
    def metrics(self):
        return {"acc": Accuracy()}

    def __call__(self, model, batch, state):
        x, y = batch
        logits = model(x)
        return StepResult(nn.functional.cross_entropy(logits, y), weight=len(y), updates={"acc": (logits, y)})

    def predict(self, model, batch, state):
        return model(batch[0]).argmax(-1), None


class CharLM(nn.Module):
    """Embedding → rnnkit Recurrent LSTM → dropout → Linear; forward(x (B, T), state) → ((B, T, V), state)."""

    def __init__(self, p: float = 0.2) -> None:
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.rnn = Recurrent(cell="lstm", input_size=D, hidden_size=H)
        self.drop = nn.Dropout(p)
        self.head = nn.Linear(H, V)

    def forward(self, x, state=None):
        out, state = self.rnn(self.emb(x), state)
        return self.head(self.drop(out)), state


class LMObjective:
    """Stateful: carries the LSTM state; records what it was given for the TBPTT tests."""

    def __init__(self) -> None:
        self.seen_states: list = []

    def metrics(self):
        return {"nll": MeanNLL()}

    def __call__(self, model, batch, state):
        self.seen_states.append(state)
        x, _, y = batch  # rnnkit.data.Batch: inputs, lengths, targets
        logits, state = model(x, state)
        nll = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum")
        return StepResult(nll / y.numel(), weight=y.numel(), updates={"nll": (nll.detach(), y.numel())}, state=state)


def classify_data(n: int = 48, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, D, generator=g)
    y = (x[:, :, 0].sum(1) > 0).long() + 2 * (x[:, :, 1].sum(1) > 0).long()  # learnable, C=4
    return x, y


def token_stream(n: int = 400, seed: int = 2):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (n,), generator=g)


@pytest.fixture
def toys():
    return types.SimpleNamespace(
        B=B, T=T, D=D, H=H, C=C, V=V, Classifier=Classifier, ClassifyObjective=ClassifyObjective,
        CharLM=CharLM, LMObjective=LMObjective, classify_data=classify_data, token_stream=token_stream,
    )
