"""Every built-in recipe parses into its task's config (no unknown keys, valid values)
and describes itself for `rnnkit recipes` — checked without any dataset."""

from __future__ import annotations

import pytest

from rnnkit.tasks import runner


def test_there_are_recipes_including_the_main_job():
    assert "shakespeare-quick" in runner.recipe_names()


@pytest.mark.parametrize("name", runner.recipe_names())
def test_recipe_loads_and_describes_itself(name):
    cfg = runner.load_run_config(name)
    assert cfg.task in runner.task_names()
    description = runner.recipe_description(name)
    assert description and "\n" not in description


def test_the_cli_names_every_task():
    from rnnkit.cli.main import _task_names

    assert sorted(_task_names()) == runner.task_names() == sorted(
        ["classify", "regress", "forecast", "tag", "seq2seq", "lm", "generate"])
