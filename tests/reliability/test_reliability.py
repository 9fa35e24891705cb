"""Thousands of hostile inputs through the CLI, in-process: each must end with the expected exit
status, one message naming the culprit, no traceback, and no change to an earlier run.
See reliability_harness.py for the outcome classes and reliability_cases.py for the families."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from reliability_cases import SUFFIX, all_cases
from reliability_harness import Case, check

CASES = all_cases()


def _materialize(case: Case, world: dict[str, str], folder: Path) -> Case:
    extra = case.extra

    def setup(_: Path) -> dict[str, str]:
        subs = dict(world)
        subs["fresh"] = str(folder / "fresh-out")
        if case.setup is not None:
            subs.update(case.setup(folder))
        if "mutate" in extra:
            source = Path(world[extra["source"]])
            bad = folder / f"bad{SUFFIX[extra['source']]}"
            bad.write_bytes(extra["mutate"](source.read_bytes()))
            subs.update(bad=str(bad), badname=bad.name)
        if "run" in extra:
            run = folder / "run"
            shutil.copytree(world[f"{extra['run']}_run"], run)
            subs["run"] = str(run)
            if "damage" in extra:
                extra["damage"](run)
            if "checkpoint_damage" in extra:
                from reliability_cases import _damage_file
                name, how = extra["checkpoint_damage"]
                for step in sorted((run / "checkpoints").glob("step-*")):
                    _damage_file(str(step.relative_to(run) / name), how)(run)
            if "loop_edit" in extra:
                field, value = extra["loop_edit"]
                for step in sorted((run / "checkpoints").glob("step-*")):
                    _edit_loop(step / "trainer_state.json", field, value)
            if extra.get("strip_config"):
                (run / "config.toml").unlink()
        return subs

    return dataclasses.replace(case, setup=setup)


def _edit_loop(path: Path, field: str, value) -> None:
    """Change one LoopState field and re-sign the manifest, so the field check itself is exercised."""
    doc = json.loads(path.read_text())
    doc["state"]["loop"][field] = value
    canonical = json.dumps(doc["state"], sort_keys=True, separators=(",", ":")).encode()
    doc["manifest"]["trainer_state.json"]["state_sha256"] = hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_hostile_input(case: Case, world, tmp_path):
    skip = [x for x in os.environ.get("RNNKIT_RELIABILITY_SKIP", "").split(",") if x]
    if any(x in case.name for x in skip):  # e.g. sizes that an old commit would try to allocate
        pytest.skip("RNNKIT_RELIABILITY_SKIP")
    check(_materialize(case, world, tmp_path), tmp_path)


def test_at_least_1000_cases():
    assert len(CASES) >= 1000
