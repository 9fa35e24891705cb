"""The usual names of time and id columns, shared by every reader that detects them
(``time_column = "auto"`` of the forecast/regress series CSV, ``id_column``/``time_column``
of long-format CSV): one list, one comparison rule, so the two cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["TIME_NAMES", "ID_NAMES", "normalise", "is_time_name", "matching", "listed"]

# compared after normalise(): lower case, without spaces, "_" and "-"
TIME_NAMES = frozenset({
    "date", "time", "t", "timestamp", "datetime", "ds", "dt", "datestamp", "dateutc", "timeutc",
    "year", "yr", "month", "yearmonth", "week", "day", "hour", "minute", "second",
    "period", "quarter", "timeindex", "timestep", "step",
})
ID_NAMES = frozenset({
    "id", "seriesid", "sequenceid", "seqid", "sampleid", "caseid", "instanceid", "series", "sequence",
    "sample", "case",
})


def normalise(name: str) -> str:
    """``name`` in lower case without spaces, ``_`` and ``-`` (``"Date Time"`` → ``"datetime"``)."""
    return re.sub(r"[\s_\-]", "", name.lower())


def is_time_name(name: str) -> bool:
    return normalise(name) in TIME_NAMES


def matching(header: Iterable[str], names: frozenset[str]) -> list[str]:
    """The columns of ``header`` whose normalised name is one of ``names``, in header order."""
    return [h for h in header if normalise(h) in names]


def listed(names: frozenset[str]) -> list[str]:
    """``names`` in a stable order for messages: shortest first (``id`` before ``seriesid``)."""
    return sorted(names, key=lambda n: (len(n), n))
