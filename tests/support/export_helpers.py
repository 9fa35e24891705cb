"""Shared by the export tests (tests/export): settings of a tiny run, export to both formats,
and the checks that an exported graph (ONNX through onnxruntime, TorchScript) equals the eager
model and that runtime rows equal `rnnkit predict` rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

TOL = 1e-5
FAST = {"train.max_steps": 2, "train.device": "cpu", "model.hidden_size": 9}


def same_rows(a, b, tol=1e-5):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float):
                assert x[k] == pytest.approx(y[k], abs=tol), k
            else:
                assert x[k] == y[k], k


def both(run, tmp_path, name):
    """The run exported to ONNX and to TorchScript: the two folders."""
    onnx_dir = run.export(tmp_path / f"{name}-onnx", format="onnx")
    ts_dir = run.export(tmp_path / f"{name}-ts", format="torchscript")
    return onnx_dir, ts_dir


def check_graph(folder_onnx, folder_ts, graph, feeds: dict[str, torch.Tensor], expected: list[torch.Tensor]):
    """Graph ``graph`` of both folders on ``feeds`` (named as the manifest names the inputs)
    equals ``expected`` to TOL."""
    import onnxruntime as ort

    manifest = json.loads((folder_onnx / "manifest.json").read_text())
    spec = manifest["graphs"][graph]
    assert [i["name"] for i in spec["inputs"]] == list(feeds)
    sess = ort.InferenceSession(str(folder_onnx / spec["file"]))
    got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})
    ts = torch.jit.load(str(folder_ts / f"{graph}.pt"))
    with torch.no_grad():
        got_ts = ts(*feeds.values())
    got_ts = got_ts if isinstance(got_ts, tuple) else (got_ts,)
    assert len(got) == len(got_ts) >= len(expected)
    for g, t, e in zip(got, got_ts, expected):
        np.testing.assert_allclose(g, e.detach().numpy(), atol=TOL, rtol=0)
        np.testing.assert_allclose(t.numpy(), e.detach().numpy(), atol=TOL, rtol=0)
