"""The vision and number recipes of issue 6 (mnist-rnn, mnist-lstm, next-number, char-sentence,
ett-forecast, and the vanishing experiment) each train a couple of steps on a tiny slice of their
data through the CLI, so a recipe cannot rot; plus the two task options they needed
(``pooling = "flatten"`` and the regress ``loss = "mae"``)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.errors import ConfigError
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks import pipeline
from rnnkit.tasks import runner

FAST = ["train.max_steps=2", "train.epochs=1"]
ROOT = Path(__file__).resolve().parents[2]


def _train(recipe: str, out: Path, *sets: str, data: Path, test: Path | None = None) -> None:
    """``rnnkit train RECIPE --data DATA [--test TEST] --out OUT --set ...`` for two steps."""
    args = ["train", recipe, "--data", str(data), "--out", str(out)]
    if test is not None:
        args += ["--test", str(test)]
    for s in (*FAST, *sets):
        args += ["--set", s]
    assert main(args) == 0
    assert (out / "model.safetensors").is_file() and (out / "config.toml").is_file()


def _model(out: Path):
    return runner.load_run(out)[1]


# ------------------------------------------------------------------ MNIST rows
@pytest.fixture(scope="module")
def mnist_slice(datasets_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    """40 training and 20 test images of the real MNIST as npz (X N x 28 x 28, y N)."""
    from rnnkit.data.sources import load_mnist

    if not (datasets_dir / "mnist").is_dir():
        pytest.skip(f"{datasets_dir / 'mnist'} is absent")
    data = load_mnist(datasets_dir / "mnist", download=False)
    folder = tmp_path_factory.mktemp("mnist")
    paths = []
    for name, part, n in (("train", data.train, 40), ("test", data.test, 20)):
        paths.append(folder / f"{name}.npz")
        np.savez(paths[-1], X=part.x[:n], y=part.y[:n])
    return paths[0], paths[1]


@pytest.mark.integration
def test_mnist_rnn_recipe_trains_with_a_linear_layer_over_all_steps(mnist_slice, tmp_path):
    train, test = mnist_slice
    out = tmp_path / "run"
    _train("mnist-rnn", out, "data.dataset=none", data=train, test=test)
    model = _model(out)
    assert model.encoder.rnn.cell == "rnn" and model.encoder.rnn.num_layers == 2
    assert model.head.in_features == 28 * 256  # flatten: every step's 256 outputs reach the head


@pytest.mark.integration
def test_mnist_lstm_recipe_and_its_feedforward_comparison_train(mnist_slice, tmp_path):
    train, test = mnist_slice
    _train("mnist-lstm", tmp_path / "lstm", "data.dataset=none", data=train, test=test)
    model = _model(tmp_path / "lstm")
    assert (model.encoder.rnn.cell, model.encoder.rnn.hidden_size, model.encoder.rnn.num_layers) == ("lstm", 128, 2)
    _train("mnist-lstm", tmp_path / "ff", "data.dataset=none", "model.kind=feedforward", "model.hidden_sizes=[128]",
           data=train, test=test)
    assert "test" in (tmp_path / "ff" / "report.md").read_text()


# ------------------------------------------------------------------ next-number
def _consecutive(path: Path, starts: np.ndarray) -> Path:
    x = (starts[:, None] + np.arange(5))[:, :, None].astype(np.float32)
    np.savez(path, X=x, y=(starts + 5).astype(np.float32))
    return path


def test_next_number_recipe_trains_one_lstm_unit_with_mae(tmp_path):
    train = _consecutive(tmp_path / "train.npz", np.arange(0, 30))
    test = _consecutive(tmp_path / "test.npz", np.arange(30, 37))
    out = tmp_path / "run"
    _train("next-number", out, data=train, test=test)
    task, model = runner.load_run(out)
    assert task.config.loss == "mae" and model.encoder.rnn.hidden_size == 1
    rows = runner.predict(out, test)
    assert len(rows) == 7 and all(np.isfinite(r["y"]) for r in rows)


def test_regression_objective_mae_loss_is_the_mean_absolute_error():
    class Batch:
        inputs = torch.zeros(3, 5, 1)
        lengths = torch.full((3,), 5)
        targets = torch.tensor([1.0, -2.0, 0.5])

    class Fixed(torch.nn.Module):
        def forward(self, inputs, lengths):
            return torch.tensor([[2.0], [0.0], [0.5]])

    a, b = np.ones(1), np.zeros(1)
    assert float(seq.RegressionObjective(a, b, loss="mae")(Fixed(), Batch(), None).loss) == pytest.approx(1.0)
    assert float(seq.RegressionObjective(a, b)(Fixed(), Batch(), None).loss) == pytest.approx(5 / 3)


def test_regress_config_rejects_an_unknown_loss(tmp_path):
    with pytest.raises(ConfigError, match="loss"):
        runner.load_run_config("next-number", ["loss=huber"])


def test_flatten_pooling_needs_fixed_length_numbers():
    from rnnkit.models import SequenceClassifierConfig

    m = SequenceClassifierConfig(cell="rnn", hidden_size=11, pooling="flatten")
    model = seq.build_many_to_one(m, out_size=3, input_size=7, steps=5)
    assert model.head.in_features == 5 * 11
    assert model(torch.randn(2, 5, 7)).shape == (2, 3)
    with pytest.raises(ConfigError, match="pooling = 'flatten' needs fixed-length numeric inputs"):
        seq.build_many_to_one(m, out_size=3, input_size=7, steps=None)


# ------------------------------------------------------------------ char-sentence
def test_char_sentence_recipe_trains_and_generates_from_its_prime(tmp_path, capsys):
    corpus = tmp_path / "sentence.txt"
    corpus.write_text("This is GeeksforGeeks a software training institute\n" * 2, encoding="utf-8")
    out = tmp_path / "run"
    _train("char-sentence", out, data=corpus)
    capsys.readouterr()
    assert main(["generate", str(out), "--length", "10"]) == 0
    assert capsys.readouterr().out.startswith("This is G")


# ------------------------------------------------------------------ ett-forecast
@pytest.mark.integration
def test_ett_forecast_recipe_and_its_linear_baseline_train_on_an_etth1_slice(datasets_dir, tmp_path):
    src = datasets_dir / "ett" / "ETTh1.csv"
    if not src.is_file():
        pytest.skip(f"{src} is absent")
    part = tmp_path / "etth1_head.csv"
    with open(src, newline="") as f, open(part, "w", newline="") as g:
        csv.writer(g).writerows(row for _, row in zip(range(801), csv.reader(f)))  # header + 800 hours
    common = ["data.dataset=none", 'data.target_columns=["OT"]', "data.input_len=48"]
    for tag, extra in (("lstm", []), ("linear", ["model.kind=feedforward", "model.hidden_sizes=[]"])):
        _train("ett-forecast", tmp_path / tag, *common, *extra, data=part)
    rows = runner.predict(tmp_path / "lstm", part)  # relative windows: the last OT is added back
    assert len(rows) == 24 and all(abs(r["OT"]) < 100 for r in rows)
    linear = _model(tmp_path / "linear")
    assert [type(m).__name__ for m in linear.modules() if type(m).__name__ == "Linear"] == ["Linear"]


# ------------------------------------------------------------------ vanishing
def test_vanishing_adding_problem_data_and_a_training_cell():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from experiments import vanishing
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    x, y = vanishing.adding_batch(7, 12, torch.Generator().manual_seed(0))
    assert x.shape == (7, 12, 2) and y.shape == (7,)
    markers = x[..., 1]
    assert torch.equal(markers.sum(1), torch.full((7,), 2.0))
    assert bool((markers[:, :6].sum(1) == 1).all())  # one marker in each half
    assert torch.allclose((x[..., 0] * markers).sum(1), y)
    old = vanishing.STEPS, vanishing.TEST_SIZE
    vanishing.STEPS, vanishing.TEST_SIZE = 2, 16
    try:
        _, row = vanishing.train_cell("gru", 10)
    finally:
        vanishing.STEPS, vanishing.TEST_SIZE = old
    assert row["steps"] == 2 and 0.0 <= row["accuracy"] <= 1.0


# ------------------------------------------------------------------ the plots these recipes draw
def test_confusion_matrix_counts_and_the_plots_write_pngs(tmp_path):
    from rnnkit.viz.confusion import confusion_matrix, plot_confusion_matrix
    from rnnkit.viz.digits import plot_digits
    from rnnkit.viz.predictions import plot_predicted_vs_actual

    m = confusion_matrix(np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 2, 1]), 3)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 2]]  # rows: true class, columns: predicted
    png = b"\x89PNG\r\n\x1a\n"
    paths = [plot_confusion_matrix(m, tmp_path / "c.png"),
             plot_digits(np.random.rand(3, 28, 28), [1, 2, 3], [1, 2, 4], tmp_path / "d.png"),
             plot_predicted_vs_actual(np.arange(5.0), {"a": np.arange(5.0) + 0.1}, tmp_path / "p.png")]
    assert all(p.read_bytes()[:8] == png for p in paths)


def test_forecast_relative_windows_are_shifted_by_their_last_input_row(tmp_path):
    from rnnkit.tasks.forecast import ForecastTask

    series = tmp_path / "s.csv"
    rows = ["t,a,b"] + [f"{i},{i * 0.5},{(i % 4) * 1.0}" for i in range(60)]
    series.write_text("\n".join(rows) + "\n")
    cfg = runner.load_run_config("ett-forecast", ["data.dataset=none", 'data.target_columns=["a"]', "data.input_len=5",
                                                  "data.horizon=3", "data.batch_size=7", "data.time_column=t",
                                                  "data.season=none"],
                                 data=str(series))
    assert cfg.data.relative  # the recipe's setting
    task = ForecastTask(cfg)
    batch = next(iter(pipeline.prepare(task).train))
    x, y = batch.inputs, batch.targets[:, 0]  # the truth (then the naive baseline): (B, horizon, targets)
    assert torch.equal(x[:, -1], torch.zeros_like(x[:, -1]))  # the last row is the origin
    scale = float(x[0, -2, 0])  # a rises by one scaled step per row: x[-2] = -step, y = +step, +2 step, +3 step
    assert torch.allclose(y[..., 0], -scale * torch.tensor([1.0, 2.0, 3.0]).expand(len(y), 3), atol=1e-5)
