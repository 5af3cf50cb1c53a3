"""Compare finished runs offline: metrics over seeds, threshold curves, the same images side by side.

    python tools/compare.py runs/cam_s0 runs/cam_s1 runs/adl_s0 runs/adl_s1 [--out DIR]
        [--group-by method.name] [--split test] [--max-images 6]

Each RUN_DIR holds ``eval/metrics.json`` (written at the end of training and by
``tools/eval_loc.py``), or is such an evaluation folder. Runs whose configs differ only in
``seed`` (and name, output_dir, wandb) are averaged: the table shows mean ± sample std.
Writes ``report.md``, ``report.html``, ``comparison.json``, ``curves.png`` and
``overlays.png`` into DIR (default ``comparison/``). W&B is not used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wsol.cli import run_cli
from wsol.report.compare import write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (or evaluation folders)")
    parser.add_argument("--out", type=Path, default=Path("comparison"), help="output folder")
    parser.add_argument(
        "--group-by",
        action="append",
        default=[],
        metavar="KEY",
        help="group by this config key (repeatable) instead of config minus seed",
    )
    parser.add_argument("--split", default="test", help="split whose numbers are compared")
    parser.add_argument("--max-images", type=int, default=6, help="images in the overlay grid")
    args = parser.parse_args(argv)
    report = write_report(args.runs, args.out, args.group_by, args.split, args.max_images)
    print(f"wrote {report} and {report.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
