"""Run one hostile input through ``rnnkit.cli.main.main`` in-process and classify the outcome.

Outcomes: ``clean`` (the expected exit status, no traceback, the culprit named in the
message), ``traceback`` (an exception escaped, or the last-resort "internal error"
handler was reached), ``silent`` (exit 0 where a refusal was due), ``lost`` (files of an
earlier run changed), ``hang`` (past the per-case time limit), ``unclear`` (another exit
status, or a message that does not name the culprit).

``RNNKIT_RELIABILITY_LOG=FILE`` appends one JSON line per case (family, case, outcome);
``RNNKIT_RELIABILITY_MEASURE=1`` records without failing (to measure an older commit).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

CASE_SECONDS = float(os.environ.get("RNNKIT_RELIABILITY_CASE_SECONDS", "30"))
MEASURE = os.environ.get("RNNKIT_RELIABILITY_MEASURE") == "1"


@dataclass
class Case:
    family: str
    name: str
    argv: list[str]  # "{name}" placeholders are filled from the setup's mapping
    expect: tuple[int, ...] = (2,)
    culprit: str | None = None  # must appear in the message (case-insensitive); "{name}" placeholders too
    valid_ok: bool = False  # a mutation may leave the input valid: exit 0 is fine then
    stdin: bytes | None = None
    setup: Callable[[Path], dict[str, str]] | None = None  # (a fresh folder) -> placeholders
    protect: str | None = None  # placeholder of a folder whose files must not change
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.family}/{self.name}"


class _Hang(BaseException):
    pass


def tree_hashes(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != ".lock":
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def call_main(argv: list[str], stdin: bytes | None = None, seconds: float = CASE_SECONDS) -> tuple[Any, str, str]:
    """``(exit status or the escaped exception, stdout, stderr)``."""
    from rnnkit.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")

    def alarm(signum: int, frame: Any) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code: Any = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            except _Hang:
                code = "hang"
            except BaseException as exc:  # noqa: BLE001 - a traceback is what we are looking for
                code = exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def run_case(case: Case, folder: Path) -> dict[str, Any]:
    subs = case.setup(folder) if case.setup is not None else {}
    def fill(text: str) -> str:  # only "{known_name}" placeholders: values may hold braces
        return re.sub(r"\{(\w+)\}", lambda m: subs.get(m.group(1), m.group(0)), text)

    argv = [fill(a) for a in case.argv]
    protected = Path(subs[case.protect]) if case.protect else None
    before = tree_hashes(protected) if protected is not None else None
    code, out, err = call_main(argv, case.stdin)
    text = out + err
    culprit = fill(case.culprit) if case.culprit else None
    if code == "hang":
        outcome = "hang"
    elif isinstance(code, BaseException) or "Traceback (most recent call last)" in text \
            or "internal error" in text or code == 3:
        outcome = "traceback"
    elif before is not None and tree_hashes(protected) != before:
        outcome = "lost"
    elif code == 0:
        outcome = "clean" if case.valid_ok else "silent"
    elif code in case.expect and (culprit is None or culprit.lower() in text.lower()):
        outcome = "clean"
    else:
        outcome = "unclear"
    shown = repr(code) if isinstance(code, BaseException) else code
    record = {"family": case.family, "case": case.name, "outcome": outcome, "code": str(shown),
              "message": text.strip().splitlines()[-1][:300] if text.strip() else ""}
    log = os.environ.get("RNNKIT_RELIABILITY_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    return record


def check(case: Case, folder: Path) -> None:
    record = run_case(case, folder)
    if MEASURE:
        return
    assert record["outcome"] == "clean", (f"{case}: {record['outcome']} (exit {record['code']}, expected "
                                          f"{case.expect}, culprit {case.culprit!r}): {record['message']}")
