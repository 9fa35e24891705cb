"""docs/images/report.png: the top of a run's report.html as headless Chromium shows it.

    python docs/scripts/make_report_screenshot.py      # needs chromium on PATH (apt-get install chromium)

Trains a small classify run on generated review-like lines (a few seconds), then opens its
report.html through scripts/headless_chromium.py, the same driver as the browser test.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import torch

import rnnkit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from headless_chromium import check_page  # noqa: E402


def main() -> int:
    torch.set_num_threads(1)
    random.seed(0)
    words = {"pos": ["great", "superb", "moving", "fun"], "neg": ["awful", "dull", "boring", "bad"],
             "mixed": ["uneven", "long but fun", "odd"]}
    labels = [random.choice(list(words)) for _ in range(720)]
    texts = [f"the film was {random.choice(words[y])} and the cast {random.choice(['shone', 'tried'])}"
             for y in labels]
    out = Path(tempfile.mkdtemp()) / "reviews"
    rnnkit.fit("classify", texts[120:], labels[120:], out=out, test=(texts[:120], labels[:120]),  # held out
               settings={"train.epochs": 6, "model.hidden_size": 32, "model.cell": "gru"})
    page = check_page(out / "report.html", width=1100, height=1300)
    assert all(img["naturalWidth"] > 0 for img in page.images) and not page.console_errors, page
    path = ROOT / "docs" / "images" / "report.png"
    path.write_bytes(page.screenshot)
    print(f"wrote {path.relative_to(ROOT)} ({len(page.screenshot) // 1024} KiB, {len(page.images)} images loaded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
