"""classify's ``data.ids_as_features``: token ids fed as one float feature per step (imdb-int)."""

from __future__ import annotations

import torch

from rnnkit.tasks import runner
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import sentiment_rows, train_run, write_table

TOML = """
task = "classify"
[data]
batch_size = 16
max_len = 5
ids_as_features = true
[model]
cell = "rnn"
hidden_size = 11
[train]
epochs = 1
"""


def test_ids_become_one_float_feature_per_step_and_no_embedding(tmp_path):
    train = write_table(tmp_path / "train.csv", sentiment_rows(48, 0), "csv")
    res = train_run(tmp_path, TOML, data=str(train))
    model = res.model
    assert not any(isinstance(m, torch.nn.Embedding) for m in model.modules())
    assert model.encoder.embedding is None and model.encoder.input_size == 1
    batch = next(iter(res.data.train))
    assert batch.inputs.dtype == torch.float32 and batch.inputs.shape[-1] == 1
    assert batch.inputs.shape[1] <= 5  # max_len still keeps the last 5 tokens
    ids = batch.inputs[..., 0]
    assert torch.equal(ids, ids.round()) and ids.max() >= 2  # raw vocabulary ids, not scaled
    # the run directory rebuilds the same feature model for prediction
    rows = runner.predict(res.run_dir, ["a great film", "an awful film"])
    assert len(rows) == 2 and {r["label"] for r in rows} <= {"neg", "pos"}
