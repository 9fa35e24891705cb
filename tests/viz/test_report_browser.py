"""A real run's report.html in headless Chromium: every image loads, the console shows no
error, and the page renders (a screenshot is taken). Skipped without a chromium on PATH,
except in CI (CI=true), where .ci/run installs Debian's chromium and a missing one fails."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from headless_chromium import check_page, find_chromium  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_html_in_headless_chromium(report_run, tmp_path):
    if find_chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no chromium on PATH: .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium; CI installs it)")
    page = check_page(report_run.path / "report.html", full_page=True)
    assert page.title == "rnnkit run: classify (run)"
    assert len(page.images) == 2
    assert all(img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0 for img in page.images), \
        page.images
    assert page.console_errors == []
    assert page.screenshot[:8] == PNG and len(page.screenshot) > 10_000
    (tmp_path / "report.png").write_bytes(page.screenshot)
