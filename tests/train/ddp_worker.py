"""Run by test_distributed.py, either plainly (1 process) or under torchrun (N processes).

Trains a tiny LSTM classifier on a global batch of 12 and writes, from rank 0,
the per-step loss averaged over processes and the final weights to argv[1].
"""

from __future__ import annotations

import json
import sys

import torch
from torch import nn

from rnnkit.train import Accuracy, OptimConfig, ShuffledBatches, StepResult, TrainConfig, Trainer
from rnnkit.train import distributed as D

B, T, DIM, H, C = 12, 5, 7, 11, 4


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(DIM, H, batch_first=True)
        self.head = nn.Linear(H, C)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


class Objective:
    def metrics(self):
        return {"acc": Accuracy()}

    def __call__(self, model, batch, state):
        x, y = batch
        logits = model(x)
        return StepResult(nn.functional.cross_entropy(logits, y), len(y), {"acc": (logits, y)})


class Record:
    def __init__(self):
        self.losses = []

    def on_step_end(self, trainer, info):
        self.losses.append(float(D.all_reduce_mean(info.loss)))


def main(out_path: str, run_dir: str) -> None:
    info = D.init_distributed(backend="gloo", device="cpu")
    torch.manual_seed(0)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(48, T, DIM, generator=g)
    y = (x[:, :, 0].sum(1) > 0).long() + 2 * (x[:, :, 1].sum(1) > 0).long()
    train = ShuffledBatches((x, y), batch_size=B, seed=3, rank=info.rank, world_size=info.world_size)
    val = ShuffledBatches((x, y), batch_size=B, shuffle=False, rank=info.rank, world_size=info.world_size)
    model = Model()
    rec = Record()
    cfg = TrainConfig(epochs=3, device="cpu", quiet=True, optim=OptimConfig(name="sgd", lr=0.2, momentum=0.9))
    res = Trainer(model, Objective(), cfg, run_dir=run_dir, callbacks=[rec]).fit(train, val)
    if D.is_main_process():
        params = torch.cat([p.detach().flatten() for p in model.parameters()]).tolist()
        with open(out_path, "w") as f:
            json.dump({"losses": rec.losses, "params": params, "world": info.world_size,
                       "val_accuracy": res.history[-1]["val_accuracy"], "val_loss": res.history[-1]["val_loss"]}, f)
    D.teardown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
