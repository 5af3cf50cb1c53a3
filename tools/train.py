"""Train a WSOL model from a config.

    python tools/train.py configs/synthparts/cam.yaml [key=value ...] [--resume]

Outputs land in ``<output_dir>/<name>/`` (default ``runs/<name>/``): the resolved
``config.yaml``, epoch and best checkpoints, ``metrics.jsonl``, ``summary.json``, W&B files.
"""

from __future__ import annotations

import argparse
import sys

from wsol.cli import add_config_arguments, run_cli
from wsol.config import load_config
from wsol.engine import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_config_arguments(parser)
    parser.add_argument("--resume", action="store_true", help="continue from the run's newest checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    train(cfg, resume=args.resume, progress=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
