"""The Python front door: :func:`fit` and :func:`load` give a :class:`Run` over a run
directory — the same directory ``rnnkit train`` writes, so the CLI and Python are
interchangeable.

>>> run = rnnkit.fit("classify", ["good film", "bad film", ...], ["pos", "neg", ...],
...                  settings={"train.epochs": 5})           # doctest: +SKIP
>>> run.predict(["a good one"])[0]["label"]                   # doctest: +SKIP
>>> rnnkit.load(run.path).evaluate("test.csv")                # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.tasks import pipeline, runner
from rnnkit.tasks.base import Examples, Task

__all__ = ["Run", "fit", "load", "train", "resume"]


class Run:
    """A trained run: its directory, task (with fitted artifacts) and model.

    ``result`` holds the training outcome (history, final metrics) when the run was
    trained in this process by :func:`fit`."""

    def __init__(self, path: str | Path, task: Task, model: nn.Module, result: runner.RunResult | None = None) -> None:
        self.path = Path(path)
        self.task = task
        self.model = model
        self.result = result

    @property
    def config(self) -> Any:
        return self.task.config

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, task={self.task.name!r})"

    def predict(self, data: Any, targets: Any = None) -> list[dict[str, Any]]:
        """One JSON-ready row per example (as ``rnnkit predict`` prints them) for a file path
        or in-memory data of the kinds :func:`fit` takes."""
        self.model.eval()
        return pipeline.predict_examples(self.task, self.model, pipeline.source_examples(self.task, data, targets))

    def evaluate(self, data: Any = None, targets: Any = None, *, split: str | None = None) -> dict[str, float]:
        """Loss and metrics over a whole split: a file, in-memory ``(data, targets)``, or the
        run's own ``split`` (``"test"`` when it has one, else ``"val"``): a Run fresh from
        :func:`fit` keeps the splits it read, in-memory ones too; a loaded run reads its files again."""
        examples = None if data is None else _examples(self.task, data, targets)
        kept = self.result.data.examples if self.result is not None and self.result.data is not None else {}
        if examples is None and kept:  # a Run fresh from fit(): the splits it read, in-memory ones included
            name = {"validation": "val"}.get(split, split) if split else ("test" if "test" in kept else "val")
            examples = kept.get(name)
        return runner.evaluate_loaded(self.task, self.model, examples, split)

    def generate(self, *args: Any, **kwargs: Any) -> str:
        """Sampled text (``lm`` and ``generate`` runs); see the task's ``generate``."""
        if not hasattr(self.task, "generate"):
            raise ConfigError(f"{self.path} is a {self.task.name!r} run; generate needs a language model "
                              f"(task = \"lm\") or a one-to-many generator (task = \"generate\")")
        return self.task.generate(self.model, *args, **kwargs)  # type: ignore[attr-defined]

    def export(self, out: str | Path | None = None, *, format: str = "onnx", opset: int | None = None,
               quantize: str | None = None, overwrite: bool = False) -> Path:
        """Write the model for serving into one folder (``out``, default ``RUN_DIR/export-FORMAT``):
        the graph(s) (``"onnx"`` or ``"torchscript"``) with the recurrent state as explicit
        inputs/outputs, ``artifacts.json``, ``config.toml`` and ``manifest.json``; load it with
        :func:`rnnkit.runtime.load` (numpy + onnxruntime, no torch). ONNX needs
        ``pip install 'rnnkit[export]'``. ``quantize="int8"``: dynamic int8 weights."""
        from rnnkit.export import export_run

        return export_run(self, out, format=format, opset=opset, quantize=quantize, overwrite=overwrite)

    def report(self, plots: bool = True) -> list[Path]:
        """Rebuild ``report.md`` and ``report.html`` (and, with ``plots``, ``plots/``) from the
        run directory, as ``rnnkit report RUN_DIR`` does; returns the report files."""
        from rnnkit.viz.run_report import rebuild_report

        return rebuild_report(self.path, plots=plots)


def train(cfg: Any, out: str | Path, **options: Any) -> runner.RunResult:
    """:func:`rnnkit.tasks.runner.train` with the run's plots drawn and ``report.html``
    written (what ``rnnkit train`` runs)."""
    from rnnkit.viz.run_plots import write_run_plots

    return _html(runner.train(cfg, out, plots=write_run_plots, **options))


def resume(run_dir: str | Path, overrides: Any = (), **options: Any) -> runner.RunResult:
    """Continue an interrupted run (what ``rnnkit resume`` runs), plots and report.html included."""
    from rnnkit.viz.run_plots import write_run_plots

    return _html(runner.resume(run_dir, overrides, plots=write_run_plots, **options))


def _html(result: runner.RunResult) -> runner.RunResult:
    """``report.html`` beside the ``report.md`` the runner wrote (rank 0 only)."""
    from rnnkit.train.distributed import is_main_process
    from rnnkit.viz.report_html import write_html_report

    if not result.already_finished and is_main_process():
        write_html_report(result.run_dir)
    return result


def _examples(task: Task, data: Any, targets: Any = None) -> Examples:
    if isinstance(data, (str, Path)):
        return task.read(data)
    if isinstance(data, tuple) and len(data) == 2 and targets is None:
        data, targets = data
    return task.from_memory(data, targets)


def _settings(settings: Mapping[str, Any] | None) -> list[str]:
    """``{"train.epochs": 5}`` as the ``--set`` overrides ``["train.epochs=5"]``."""
    out = []
    for key, value in (settings or {}).items():
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, (list, tuple)):
            value = "[" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in value) + "]"
        elif value is None:
            value = "none"
        out.append(f"{key}={value}")
    return out


def fit(task: str | Path, data: Any, targets: Any = None, *, val: Any = None, test: Any = None,
        out: str | Path | None = None, settings: Mapping[str, Any] | None = None,
        quiet: bool = True, callbacks: Any = ()) -> Run:
    """Train a model and return its :class:`Run`.

    Args:
        task: a task name (``"classify"``, ``"regress"``, ``"forecast"``, ``"tag"``,
            ``"seq2seq"``, ``"lm"``, ``"generate"``), a built-in recipe name or a TOML file.
        data: a file path, a pandas DataFrame (column names as in the config), a list of
            strings, a NumPy array (N, T, D) or a list of variable-length (T_i, D) arrays.
        targets: labels / target values when ``data`` is in memory.
        val: the validation data: a file path, or a ``(data, targets)`` pair.
        test: the test data: a file path, or a ``(data, targets)`` pair.
        out: the run directory (default ``runs/<task>-<time>``); it must not hold a run yet.
        settings: dotted keys as with ``--set``, e.g. ``{"train.epochs": 5}``.
    """
    paths: dict[str, str] = {}
    for key, value in (("data", data), ("val", val), ("test", test)):
        if isinstance(value, (str, Path)):
            paths[key] = str(value)
    cfg = runner.load_run_config(task, _settings(settings), **paths)
    t = runner.get_task(cfg.task)(cfg)
    given: dict[str, Examples | None] = {}
    if "data" not in paths:
        given["train"] = t.from_memory(data, targets)
    for split, value in (("val", val), ("test", test)):
        if value is not None and split not in paths:
            given[split] = _examples(t, value)
    if out is None:
        out = Path("runs") / f"{Path(str(task)).stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    result = train(cfg, out, quiet=quiet, given=given, callbacks=callbacks)
    return Run(result.run_dir, result.task, result.model, result)


def load(run_dir: str | Path, settings: Mapping[str, Any] | None = None) -> Run:
    """The :class:`Run` of a run directory written by ``rnnkit train`` or :func:`fit`.

    ``settings`` may change what does not alter the model (e.g. ``{"decode.beam_size": 4}``)."""
    task, model = runner.load_run(run_dir, _settings(settings))
    return Run(run_dir, task, model)
