"""Entry point of the ``rnnkit`` console script.

    rnnkit train TASK|RECIPE|CONFIG.toml [--data PATH] [--val PATH] [--test PATH] [--set key=value ...]
                 [--out RUN_DIR] [--overwrite]
    rnnkit resume RUN_DIR [--set train.max_steps=N | train.max_minutes=M | train.epochs=E]
    rnnkit evaluate RUN_DIR [--data PATH | --split test|val] [--set decode.beam_size=4]
    rnnkit predict RUN_DIR INPUT|- [--format jsonl|csv] [--output FILE]
    rnnkit generate RUN_DIR [--prime TEXT] [--condition LABEL] [--length N] [--temperature T] [--top-k K]
                    [--top-p P] [--seed S]
    rnnkit recipes
    rnnkit config TASK|RECIPE|CONFIG.toml|RUN_DIR [--set key=value ...]   # every key, commented
    rnnkit main                      # the bundled demo job (see rnnkit.cli.demo)

Errors about the user's input (config, data, run directory) print one line and exit
with status 2, without a traceback; errors of the environment (a file that cannot be
read or written, a full disk, a device that is not there, a run directory in use by
another process, training that diverged) print one line and exit with status 1. Anything
else is a bug: one "internal error, please report" line (status 3), the traceback in a
log file in the run directory (or a temporary file when there is none). Under ``torchrun`` the same ``train`` command trains
with DistributedDataParallel; only rank 0 writes and prints. The commands go through
:mod:`rnnkit.api`, so a run trained here and one trained with ``rnnkit.fit`` are alike.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Iterator

from rnnkit import __version__
from rnnkit.errors import NonFiniteLossError, RnnkitError


def _add_set(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnkit", description="Train, evaluate and sample recurrent neural networks.",
                                     epilog=f"tasks: {', '.join(_task_names())}. `rnnkit config TASK` prints every "
                                            "config key of a task with its type, default and meaning.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("train", help="train a task (its defaults), a built-in recipe or a TOML config",
                       epilog="`rnnkit config TASK|RECIPE` prints every key --set accepts, with its type, "
                              "default and meaning.")
    p.add_argument("config", help=f"a task name ({', '.join(_task_names())}), a built-in recipe "
                                  "(see `rnnkit recipes`) or a TOML file")
    p.add_argument("--data", help="training data file (sets data.path)")
    p.add_argument("--val", help="validation data file (sets data.val_path)")
    p.add_argument("--test", help="test data file (sets data.test_path)")
    _add_set(p, "override a config value, e.g. --set train.epochs=5 (repeatable)")
    p.add_argument("--out", help="run directory (default: runs/<name>-<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out (default: refuse)")

    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    p.add_argument("run_dir")
    _add_set(p, "extend a capped run: --set train.max_steps=N, train.max_minutes=M or train.epochs=E "
                "(only the limits may change on resume)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("evaluate", help="loss and metrics of a trained run")
    p.add_argument("run_dir")
    p.add_argument("--data", help="a file in the task's format (default: the run's test split, else validation)")
    p.add_argument("--split", choices=("test", "val"), help="score the run's own test or validation split")
    _add_set(p, "change a setting that does not alter the model, e.g. --set decode.beam_size=4")

    p = sub.add_parser("predict", help="predictions of a trained run for a file or stdin")
    p.add_argument("run_dir")
    p.add_argument("input", help="input file, or - for stdin (one example per line for text tasks)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--output", help="write here instead of stdout")
    _add_set(p, "change a setting that does not alter the model, e.g. --set decode.beam_size=4")

    p = sub.add_parser("generate", help="sample text from a trained language model")
    p.add_argument("run_dir")
    p.add_argument("--prime", help="text to start from (default: the config's generate.prime)")
    p.add_argument("--condition", help="the label to generate from (task = \"generate\")")
    p.add_argument("--length", type=int, help="tokens to generate")
    p.add_argument("--temperature", type=float, help="0 = argmax; higher = more varied")
    p.add_argument("--top-k", type=int)
    p.add_argument("--top-p", type=float)
    p.add_argument("--seed", type=int)

    p = sub.add_parser("report", help="rebuild a finished run's plots, report.md and report.html")
    p.add_argument("run_dir")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help="keep plots/ as it is (default: draw it again from the saved model and the run's data)")

    sub.add_parser("recipes", help="list the built-in recipes")

    p = sub.add_parser("config", help="print a config as commented TOML: every key, its type, default and meaning")
    p.add_argument("source", metavar="TASK|RECIPE|RUN_DIR",
                   help=f"a task name ({', '.join(_task_names())}): its defaults; a built-in recipe or a TOML "
                        "file; or a run directory: its effective config")
    _add_set(p, "show the config with a value changed, e.g. --set model.kind=transformer (repeatable)")

    from rnnkit.cli.export import add_parser as add_export_parser
    add_export_parser(sub)

    p = sub.add_parser("main", help="the bundled main job: a char LSTM on Tiny Shakespeare, then sample text")
    p.add_argument("--out", help="run directory (default: runs/main-<time>)")
    _add_set(p, "override a value of the main job's recipe (shakespeare-quick)")
    return parser


def _task_names() -> list[str]:
    return ["classify", "regress", "forecast", "tag", "seq2seq", "lm", "generate"]


def _default_out(name: str) -> Path:
    return Path("runs") / f"{Path(name).stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def cmd_train(args: argparse.Namespace) -> int:
    from rnnkit import api
    from rnnkit.tasks import runner

    cfg = runner.load_run_config(args.config, args.overrides, data=args.data, val=args.val, test=args.test)
    out = Path(args.out) if args.out else _default_out(args.config)
    with _process_group():
        result = api.train(cfg, out, quiet=True if args.quiet else None, overwrite=args.overwrite)
    if _is_main_process():
        _print_result(result)
    return 0


@contextlib.contextmanager
def _process_group() -> Iterator[None]:
    """Under torchrun (WORLD_SIZE > 1) join the process group for the command, then leave it:
    `train` and `resume` are the same DDP run on one machine or many."""
    from rnnkit.train import distributed

    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if launched:
        distributed.init_distributed()
    try:
        yield
        distributed.barrier()  # rank 0 may still be writing plots and the report: leave together
    finally:
        if launched:
            distributed.teardown()


def _print_result(result) -> None:
    def fmt(metrics: dict) -> str:
        return ", ".join(f"{k}={v:.4f}" for k, v in metrics.items())

    print(f"stopped: {result.fit.stop_reason} after {result.fit.global_step} steps in {result.wall_time_s:.1f} s")
    train = result.task.config.train
    average = f"the moving average (train.ema_decay = {train.ema_decay}) at " if train.ema_decay is not None else ""
    if train.restore_best and result.fit.best is not None:
        print(f"weights: {average}the epoch with the best {train.monitored} ({result.fit.best:.4f}; "
              f"train.restore_best)")
    elif average and not result.fit.interrupted:
        print(f"weights: {average}the last step")
    if result.val_metrics:
        print(f"validation: {fmt(result.val_metrics)}")
    if result.test_metrics:
        print(f"test: {fmt(result.test_metrics)}")
    print(f"run directory: {result.run_dir}")


def cmd_resume(args: argparse.Namespace) -> int:
    from rnnkit import api

    with _process_group():
        result = api.resume(args.run_dir, args.overrides, quiet=True if args.quiet else None)
    if not _is_main_process():
        return 0
    if result.already_finished:
        fit = result.fit
        print(f"{args.run_dir} already finished ({fit.stop_reason} after {fit.global_step} steps): nothing to do. "
              f"To train further: rnnkit resume {args.run_dir} --set train.max_steps=N (or train.max_minutes=M, "
              f"train.epochs=E)")
        return 0
    _print_result(result)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rnnkit.tasks import runner

    print(json.dumps(runner.evaluate(args.run_dir, args.data, args.overrides, split=args.split), indent=2))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from rnnkit.tasks import runner

    if args.output:
        _check_writable(args.output, "--output")
    if args.input == "-":  # stdin goes through the same reader as a file: one example per line
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "stdin.txt"
            stdin = getattr(sys.stdin, "buffer", None)
            # bytes as they came: the reader names a line that is not UTF-8
            source.write_bytes(stdin.read() if stdin is not None else sys.stdin.read().encode("utf-8"))
            rows = runner.predict(args.run_dir, source, args.overrides)
    else:
        rows = runner.predict(args.run_dir, args.input, args.overrides)
    text = _format_rows(rows, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _check_writable(path: str, option: str) -> None:
    from rnnkit.errors import ConfigError

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{option} {p} is a folder; give a file name")
    if not p.parent.is_dir():
        raise ConfigError(f"{option} {p}: the folder {p.parent} does not exist")


def _format_rows(rows: list[dict], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    buffer = io.StringIO()
    fields = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})
    return buffer.getvalue()


def cmd_generate(args: argparse.Namespace) -> int:
    from rnnkit import api
    from rnnkit.errors import ConfigError
    from rnnkit.tasks.configs import check_generation

    check_generation(args.length, args.temperature, args.top_k, args.top_p, args.seed, where="--")
    run = api.load(args.run_dir)
    options = dict(prime=args.prime, length=args.length, temperature=args.temperature, top_k=args.top_k,
                   top_p=args.top_p, seed=args.seed)
    if args.condition is not None:
        if run.task.name != "generate":
            raise ConfigError(f"--condition is for one-to-many generator runs (task = \"generate\"); "
                              f"{args.run_dir} is a {run.task.name!r} run")
        options["condition"] = args.condition

    def write(piece: str) -> None:  # the text streams out as it is written
        sys.stdout.write(piece)
        sys.stdout.flush()

    run.generate(**options, on_text=write)
    sys.stdout.write("\n")
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from rnnkit.tasks import runner

    names = runner.recipe_names()
    width = max(map(len, names), default=0)
    for name in names:
        print(f"{name:<{width}}  {runner.recipe_description(name)}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from rnnkit.tasks.config_doc import describe_source

    sys.stdout.write(describe_source(args.source, args.overrides))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from rnnkit.viz.run_report import rebuild_report  # what Run.report() runs

    for path in rebuild_report(args.run_dir, plots=args.plots):
        print(path)
    return 0


def cmd_main(args: argparse.Namespace) -> int:
    from rnnkit.cli.demo import run_main_job

    return run_main_job(Path(args.out) if args.out else _default_out("main"), args.overrides)


def cmd_export(args: argparse.Namespace) -> int:
    from rnnkit.cli.export import cmd_export as run_export

    return run_export(args)


COMMANDS = {
    "export": cmd_export,
    "train": cmd_train, "resume": cmd_resume, "evaluate": cmd_evaluate, "predict": cmd_predict,
    "generate": cmd_generate, "recipes": cmd_recipes, "main": cmd_main, "config": cmd_config,
    "report": cmd_report,
}


INTERNAL_ERROR = 3  # exit status of a bug (the last-resort handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a usage error exits 2 with argparse's one-line message
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except RnnkitError as exc:
        print(f"rnnkit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1 if _environmental(exc) else 2
    except OSError as exc:  # the environment: unreadable/unwritable paths, a full disk
        print(f"rnnkit {args.command}: error: {_os_message(exc)}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"rnnkit {args.command}: error: out of memory; use a smaller model or data.batch_size",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: keep the traceback for the report, show one line
        log = _write_traceback(args)
        print(f"rnnkit {args.command}: internal error, please report: {type(exc).__name__}: {_one_line(exc)} "
              f"(traceback in {log})", file=sys.stderr)
        return INTERNAL_ERROR


def _environmental(exc: BaseException) -> bool:
    from rnnkit.train.rundir import RunEnvironmentError

    return isinstance(exc, (NonFiniteLossError, RunEnvironmentError))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\n")).strip()
    return text if len(text) <= 2000 else text[:1997] + "..."


def _os_message(exc: OSError) -> str:
    import errno

    what = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device{where}; the last complete checkpoint is intact — free space and " \
               f"run `rnnkit resume`"
    return f"{what}{where}"


def _write_traceback(args: argparse.Namespace) -> str:
    import traceback

    text = traceback.format_exc()
    folder = next((Path(d) for d in (getattr(args, "run_dir", None), getattr(args, "out", None))
                   if d and Path(d).is_dir()), None)
    try:
        if folder is not None:
            path = folder / f"error-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return str(path)
    except OSError:
        pass
    try:
        fd, name = tempfile.mkstemp(prefix="rnnkit-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return name
    except OSError:
        return "<no writable place for a log>"


if __name__ == "__main__":
    sys.exit(main())
