"""Run by test_distributed.py, either plainly (1 process) or under torchrun (N processes).

``match``: trains a tiny LSTM classifier on a global batch of 12 (the Trainer shards the
unsharded source) and writes, from rank 0, the per-step loss averaged over processes and
the final weights. ``all`` (under torchrun) adds:
- ``once``: a source of example-id batches that does not divide by the world size; a
  metric counts how often each example was scored (train and val), per epoch;
- ``resume``: a bucketed DataLoader (with padding steps) and a TBPTT LM stream, each
  trained straight and interrupted-then-resumed; the weights must be bit-identical.
Each rank writes ``OUT.rank{r}.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from conftest import CharLM, LMObjective, token_stream  # noqa: E402

from rnnkit.data import LMBatches, SequenceDataset, make_loader  # noqa: E402
from rnnkit.train import Accuracy, Callback, Metric, OptimConfig, ShuffledBatches, StepResult, TrainConfig, Trainer  # noqa: E402
from rnnkit.train import distributed as D  # noqa: E402

B, T, DIM, H, C = 12, 5, 7, 11, 4


class Model(nn.Module):
    def __init__(self, p: float = 0.0):
        super().__init__()
        self.rnn = nn.LSTM(DIM, H, batch_first=True)
        self.drop = nn.Dropout(p)
        self.head = nn.Linear(H, C)

    def forward(self, x, lengths=None):
        return self.head(self.drop(self.rnn(x)[0][:, -1]))


class Objective:
    def metrics(self):
        return {"acc": Accuracy()}

    def __call__(self, model, batch, state):
        x, _, y = batch if not isinstance(batch, (tuple, list)) or len(batch) == 3 else (batch[0], None, batch[1])
        logits = model(x)
        return StepResult(nn.functional.cross_entropy(logits, y), len(y), {"acc": (logits, y)})


class Record:
    def __init__(self):
        self.losses = []

    def on_step_end(self, trainer, info):
        self.losses.append(float(D.all_reduce_mean(info.loss)))


class Seen(Metric):
    """How many times each of N examples was counted: reports the min and max over examples."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self._size = n

    def _batch_sums(self, ids):
        return torch.bincount(ids, minlength=self._size).double()

    def _finish(self, sums):
        return {"seen_min": min(sums), "seen_max": max(sums)}


class IdModel(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.emb = nn.Embedding(n, 3)

    def forward(self, ids):
        return self.emb(ids)


class IdObjective:
    def __init__(self, n):
        self.n = n

    def metrics(self):
        return {"seen": Seen(self.n)}

    def __call__(self, model, ids, state):
        return StepResult(model(ids).pow(2).mean(), len(ids), {"seen": (ids,)})


class StopAt(Callback):
    """Rank 0 alone asks to stop: should_stop() must make every rank stop at the same step."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, info):
        if info.step == self.step and D.is_main_process():
            trainer.request_stop()


def params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def match(info, run_dir):
    torch.manual_seed(0)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(48, T, DIM, generator=g)
    y = (x[:, :, 0].sum(1) > 0).long() + 2 * (x[:, :, 1].sum(1) > 0).long()
    train = ShuffledBatches((x, y), batch_size=B, seed=3)  # unsharded: the Trainer shards it
    val = ShuffledBatches((x, y), batch_size=B, shuffle=False)
    model = Model()
    rec = Record()
    cfg = TrainConfig(epochs=3, device="cpu", quiet=True, optim=OptimConfig(name="sgd", lr=0.2, momentum=0.9))
    res = Trainer(model, Objective(), cfg, run_dir=run_dir, callbacks=[rec]).fit(train, val)
    return {"losses": rec.losses, "params": params(model).tolist(), "world": info.world_size,
            "val_accuracy": res.history[-1]["val_accuracy"], "val_loss": res.history[-1]["val_loss"]}


def once():
    n = 23
    ids = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    train = [ids[:4], ids[4:7], ids[7:11], ids[11:14], ids[14:18], ids[18:21], ids[21:]]  # 7 batches
    val = [ids[:5], ids[5:12], ids[12:]]  # 3 batches
    torch.manual_seed(0)
    t = Trainer(IdModel(n), IdObjective(n), TrainConfig(epochs=2, device="cpu", quiet=True))
    res = t.fit(train, val)
    return {"steps": res.global_step, "rows": res.history, "eval": t.evaluate(val)}


def resume(run_dir):
    out = {}
    # a length-bucketed DataLoader with 7 batches: rank 1 gets a padding step each epoch
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((int(rng.integers(2, 7)), DIM)).astype(np.float32) for _ in range(26)]
    labels = rng.integers(0, C, 26)

    def classify(path, stop=None, resume=False):
        torch.manual_seed(0 if not resume else 123)
        model = Model(p=0.3)
        loader = make_loader(SequenceDataset(seqs, labels), 4, seed=5, pool_size=2)
        cbs = [StopAt(stop)] if stop else []
        # with a weight average: the run ends holding it, so "equal" covers the average's resume too
        cfg = TrainConfig(epochs=3, device="cpu", quiet=True, ema_decay=0.8, optim=OptimConfig(lr=0.01))
        res = Trainer(model, Objective(), cfg, run_dir=path, callbacks=cbs).fit(loader, resume=resume)
        return model, res

    a, ra = classify(run_dir / "cls-a")
    _, rb = classify(run_dir / "cls-b", stop=5)
    b, rb2 = classify(run_dir / "cls-b", resume=True)
    out["classify"] = {"steps": ra.global_step, "stopped": [rb.stop_reason, rb.global_step],
                       "equal": bool(torch.equal(params(a), params(b))), "resumed_steps": rb2.global_step,
                       "loss_rows": [[r["train_loss"] for r in ra.history], [r["train_loss"] for r in rb2.history]]}

    # a TBPTT stream: the Trainer calls LMBatches.shard(); the carried state is per rank
    def lm(path, stop=None, resume=False):
        torch.manual_seed(0 if not resume else 7)
        model = CharLM(p=0.2)
        streams = LMBatches(token_stream().numpy(), batch_size=3, seq_len=5)
        cfg = TrainConfig(epochs=2, device="cpu", quiet=True, grad_accum=2, optim=OptimConfig(lr=0.01))
        res = Trainer(model, LMObjective(), cfg, run_dir=path, callbacks=[StopAt(stop)] if stop else []).fit(
            streams, resume=resume)
        return model, res

    a, ra = lm(run_dir / "lm-a")
    _, rb = lm(run_dir / "lm-b", stop=4)
    b, rb2 = lm(run_dir / "lm-b", resume=True)
    out["lm"] = {"steps": ra.global_step, "stopped": [rb.stop_reason, rb.global_step],
                 "equal": bool(torch.equal(params(a), params(b))), "resumed_steps": rb2.global_step,
                 "nll": [ra.history[-1]["train_nll"], rb2.history[-1]["train_nll"]]}
    return out


def main(mode: str, out_path: str, run_dir: str) -> None:
    info = D.init_distributed(backend="gloo", device="cpu")
    result = {"rank": info.rank, "match": match(info, run_dir)}
    if mode == "all":
        result["once"] = once()
        result["resume"] = resume(Path(run_dir).parent / "resume")
    with open(f"{out_path}.rank{info.rank}.json", "w") as f:
        json.dump(result, f)
    D.teardown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
