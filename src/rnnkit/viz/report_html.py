"""``report.html``: a run's report as one self-contained page.

Rendered from the same ``report.json`` as ``report.md`` (:mod:`rnnkit.tasks.report` gathers
it once): config, data summary, final metrics, epochs, every plot inline (PNG as base64,
SVG as an image, text samples as preformatted text), the model and the command that
trains it again. CSS is inline; the page loads nothing from the network and runs no
script. Every piece of text from the run is escaped.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from rnnkit.tasks.report import format_value, load_report_content
from rnnkit.train.rundir import atomic_write_text

__all__ = ["render_html", "write_html_report", "REPORT_HTML"]

REPORT_HTML = "report.html"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:1.5rem;color:#1d232a;background:#fff;line-height:1.45}
h1{font-size:1.6rem;margin:.2rem 0 .6rem}h2{font-size:1.2rem;border-bottom:1px solid #d6dbe0;padding-bottom:.2rem;
margin-top:2rem}ul.facts{padding-left:1.1rem}
table{border-collapse:collapse;margin:.4rem 0;font-size:.92rem}th,td{border:1px solid #d6dbe0;padding:.25rem .6rem;
text-align:left}th{background:#f2f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem}.grid>div{flex:1 1 280px}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e4e7ea}
figcaption{font-size:.85rem;color:#56606b}
pre{background:#f6f8fa;border:1px solid #e4e7ea;padding:.7rem;overflow-x:auto;font-size:.82rem;white-space:pre-wrap}
.scroll{overflow-x:auto}
"""

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(rows: dict[str, Any], head: tuple[str, str]) -> str:
    if not rows:
        return "<p>(none)</p>"
    body = "".join(f"<tr><td>{_e(k)}</td><td class=\"num\">{_e(format_value(v))}</td></tr>" for k, v in rows.items())
    return f"<table><tr><th>{_e(head[0])}</th><th>{_e(head[1])}</th></tr>{body}</table>"


def _history(history: list[dict[str, Any]]) -> str:
    if not history:
        return "<p>(none)</p>"
    keys = list(history[0])
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td class=\"num\">{_e(format_value(row.get(k, '')))}</td>" for k in keys)
                   + "</tr>" for row in history)
    return f"<div class=\"scroll\"><table><tr>{head}</tr>{body}</table></div>"


def _plot(run_dir: Path, name: str) -> str:
    path = run_dir / name
    caption = f"<figcaption>{_e(name)}</figcaption>"
    if not path.is_file():
        return f"<p>{_e(name)}: the file is missing from the run directory.</p>"
    mime = _MIME.get(path.suffix.lower())
    if mime is not None:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"<figure><img src=\"data:{mime};base64,{data}\" alt=\"{_e(path.stem)}\">{caption}</figure>"
    text = path.read_text(encoding="utf-8", errors="replace")
    return f"<figure><pre>{_e(text)}</pre>{caption}</figure>"


def render_html(content: dict[str, Any], run_dir: str | Path) -> str:
    """The page of a report (``content`` as :func:`rnnkit.tasks.report.report_content` gives
    it); plot files are read from ``run_dir`` and inlined."""
    c, folder = content, Path(run_dir)
    plots = "".join(_plot(folder, name) for name in c["plots"]) or "<p>(none)</p>"
    facts = (f"<li>task: {_e(c['description'])}</li>"
             f"<li>stopped: {_e(c['stop_reason'])} after {_e(c['epochs'])} epochs, {_e(c['steps'])} optimizer steps</li>"
             f"<li>wall time: {c['wall_time_s']:.1f} s on {_e(c['machine'])} with {_e(c['threads'])} torch threads "
             f"(torch {_e(c['torch'])})</li>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>rnnkit run: {_e(c['task'])} ({_e(folder.name)})</title><style>{_CSS}</style></head><body>\n"
        f"<h1>rnnkit run: {_e(c['task'])}</h1><ul class=\"facts\">{facts}</ul>\n"
        "<h2>Final metrics</h2><div class=\"grid\">"
        f"<div><h3>Validation</h3>{_table(c['val'], ('metric', 'value'))}</div>"
        f"<div><h3>Test</h3>{_table(c['test'], ('metric', 'value'))}</div>"
        f"<div><h3>Data</h3>{_table(c['data'], ('item', 'value'))}</div></div>\n"
        f"<h2>Plots</h2>{plots}\n"
        f"<h2>Epochs</h2>{_history(c['history'])}\n"
        f"<h2>Reproduce</h2><pre>{_e(c['command'])}</pre>\n"
        f"<h2>Config</h2><pre>{_e(c['config'])}</pre>\n"
        f"<h2>Model</h2><pre>{_e(c['model'])}</pre>\n"
        "</body></html>\n"
    )


def write_html_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report.html`` from the run's ``report.json``; returns its path."""
    path = Path(run_dir) / REPORT_HTML
    atomic_write_text(path, render_html(load_report_content(run_dir), run_dir))
    return path
