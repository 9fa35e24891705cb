"""Train and evaluate the built-in recipes on ../shared/datasets and write RESULTS.md.

    python benchmarks/results.py run mnist-lstm next-number   # run experiments, write results/<name>.json
    python benchmarks/results.py run --all
    python benchmarks/results.py render                       # RESULTS.md from results/*.json only
    python benchmarks/results.py list

Every figure in RESULTS.md comes from a results/<name>.json written by `run`; nothing is
typed by hand. Each experiment lives in benchmarks/experiments/<name>.py and returns a
dict (see experiments/common.py: Result).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))

from experiments import EXPERIMENTS  # noqa: E402
from experiments.common import render_results  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("names", nargs="*")
    run.add_argument("--all", action="store_true")
    run.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    sub.add_parser("render")
    sub.add_parser("list")
    args = parser.parse_args()
    if args.command == "list":
        for name in sorted(EXPERIMENTS):
            print(name)
        return 0
    if args.command == "run":
        names = sorted(EXPERIMENTS) if args.all else args.names
        unknown = [n for n in names if n not in EXPERIMENTS]
        if unknown or not names:
            parser.error(f"unknown or no experiments {unknown}; known: {', '.join(sorted(EXPERIMENTS))}")
        for name in names:
            out = RESULTS / name
            out.mkdir(parents=True, exist_ok=True)
            result = EXPERIMENTS[name](out, Path(args.datasets))
            (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    (ROOT / "RESULTS.md").write_text(render_results(RESULTS, ROOT))
    print(f"wrote {ROOT / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
