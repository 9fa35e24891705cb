"""``rnnkit export RUN_DIR --format onnx|torchscript [--out DIR] [--opset N] [--quantize int8]``."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a trained run as ONNX or TorchScript for serving (rnnkit.runtime)")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    p.add_argument("--out", help="output folder (default: RUN_DIR/export-FORMAT)")
    p.add_argument("--opset", type=int, help="ONNX opset (default 18)")
    p.add_argument("--quantize", choices=("int8",), help="dynamic int8 weights")
    p.add_argument("--overwrite", action="store_true", help="replace the files in a non-empty --out")


def cmd_export(args: argparse.Namespace) -> int:
    from rnnkit import api

    folder = api.load(args.run_dir).export(args.out, format=args.format, opset=args.opset,
                                           quantize=args.quantize, overwrite=args.overwrite)
    print(f"exported to {folder}")
    return 0
