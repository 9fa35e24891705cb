"""report.html: every run directory gets a self-contained page rendered from the same
report.json as report.md; `rnnkit report RUN_DIR` / Run.report() rebuild both."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from rnnkit.cli.main import main
from rnnkit.tasks.report import render_markdown
from rnnkit.viz.report_html import render_html


def test_a_run_has_a_self_contained_html_report(report_run):
    path = report_run.path
    page = (path / "report.html").read_text()
    content = json.loads((path / "report.json").read_text())
    assert content["plots"] == ["plots/curves.png", "plots/confusion.png"]
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 2  # every plot inline
    assert "<script" not in page and "http://" not in page and "https://" not in page and "<link" not in page
    assert not re.findall(r'src="(?!data:)', page)  # nothing loaded from a file or the network
    for section in ("Final metrics", "Validation", "Test", "Data", "Plots", "Epochs", "Reproduce", "Config", "Model"):
        assert f">{section}</h" in page
    for key in [*content["val"], *content["test"], *content["data"]]:
        assert f"<td>{key}</td>" in page
    assert f"rnnkit train {path / 'config.toml'} --out run-again" in page
    assert "## Reproduce" in (path / "report.md").read_text()


def test_every_metric_entry_is_shown_and_user_text_is_escaped(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "sample.txt").write_text("<i>sampled</i> & more\n")
    content = {"task": "classify", "description": "d <b>", "stop_reason": "completed", "epochs": 1, "steps": 3,
               "wall_time_s": 1.5, "machine": "x86_64", "threads": 1, "torch": "2.13",
               "data": {"data": "<script>alert(1)</script>.csv"},
               "val": {"accuracy": 0.5, "majority_baseline_accuracy": 0.25}, "test": {},
               "history": [{"epoch": 1, "val_loss": 0.7}], "plots": ["plots/sample.txt", "plots/gone.png"],
               "model": "Model <x>", "config": 'text_column = "<t>"\n', "command": "rnnkit train a&b"}
    page = render_html(content, tmp_path)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in page
    assert "&lt;i&gt;sampled&lt;/i&gt; &amp; more" in page and "rnnkit train a&amp;b" in page
    assert "plots/gone.png: the file is missing from the run directory." in page
    assert "<td>majority_baseline_accuracy</td><td class=\"num\">0.2500</td>" in page  # any entry, added by anyone
    assert "| majority_baseline_accuracy | 0.2500 |" in render_markdown(content)


def test_rnnkit_report_rebuilds_the_reports_and_plots(report_run, capsys):
    path = report_run.path
    before = (path / "report.md").read_text()
    for name in ("report.md", "report.html"):
        (path / name).unlink()
    shutil.rmtree(path / "plots")
    assert main(["report", str(path)]) == 0
    assert capsys.readouterr().out.split() == [str(path / "report.md"), str(path / "report.html")]
    assert (path / "report.md").read_text() == before  # the figures are the run's, nothing re-scored
    assert (path / "plots" / "confusion.png").is_file() and (path / "plots" / "curves.png").is_file()
    (path / "report.html").unlink()
    assert report_run.report(plots=False) == [path / "report.md", path / "report.html"]
    assert (path / "report.html").is_file()


def test_rnnkit_report_names_a_missing_run(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'} is not a run directory (no such folder)" in capsys.readouterr().err
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.toml").write_text('task = "classify"\n')
    assert main(["report", str(tmp_path / "half")]) == 2
    assert "report.json is missing: the run has not finished" in capsys.readouterr().err
