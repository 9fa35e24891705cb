"""MkDocs hooks (mkdocs.yml ``hooks:``): the generated parts of the documentation site.

Markers in a page are replaced at build time, so nothing generated is written by hand:

- ``<!-- rnnkit:config TASK -->``: the task's full config reference, from the config
  dataclasses by the same code as ``rnnkit config TASK``;
- ``<!-- rnnkit:data-formats TASK -->``: the task's section of docs/data-formats.md;
- ``<!-- rnnkit:recipes -->``: the built-in recipes (``rnnkit recipes``);
- ``<!-- rnnkit:include FILE -->``: a file of the repository (RESULTS.md), whose images
  under results/ and benchmarks/results/ are added to the site; ``FILE#Heading``: that ``##`` section only.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
_MARKER = re.compile(r"<!-- rnnkit:(config|data-formats|recipes|include)\s*([^>]*?)\s*-->")


def on_files(files, config):
    """The images RESULTS.md shows (results/**.png, benchmarks/results/**.png), at the same
    relative paths in the site."""
    for path in sorted(p for folder in ("results", "benchmarks/results") for p in (ROOT / folder).rglob("*.png")):
        uri = path.relative_to(ROOT).as_posix()
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def _config(task: str) -> str:
    from rnnkit.tasks.config_doc import describe_source

    return "```toml\n" + describe_source(task) + "```\n"


def _data_formats(task: str) -> str:
    text = (ROOT / "docs" / "data-formats.md").read_text(encoding="utf-8")
    body = re.sub(r"^(#+) ", r"#\1 ", _section(text, task, "docs/data-formats.md"), flags=re.M)  # one level down, under the page's heading
    body = re.sub(r"\]\(#", "](data-formats.md#", body)  # in-page links point to the full page
    return re.sub(r"\]\((?!https?:|/)", "](../", body)  # the task pages are one folder down


def _recipes() -> str:
    from rnnkit.tasks.configs import raw_config, recipe_description, recipe_names

    rows = ["| recipe | task | what it trains |", "|---|---|---|"]
    for name in recipe_names():
        rows.append(f"| `{name}` | {raw_config(name).get('task', '')} | {recipe_description(name)} |")
    return "\n".join(rows) + "\n"


def _section(text: str, heading: str, where: str) -> str:
    m = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if m is None:
        raise ValueError(f"{where} has no '## {heading}' section")
    return m.group(1)


def _include(name: str) -> str:
    name, _, heading = name.partition("#")
    text = (ROOT / name).read_text(encoding="utf-8")
    if heading:
        return _section(text, heading, name)
    return re.sub(r"^# .*\n", "", text, count=1)  # the page has its own title


def on_page_markdown(markdown, page, config, files):
    def replace(m: re.Match) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "config":
            return _config(arg)
        if kind == "data-formats":
            return _data_formats(arg)
        if kind == "recipes":
            return _recipes()
        return _include(arg)

    return _MARKER.sub(replace, markdown)
