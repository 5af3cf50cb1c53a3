"""Evaluate localization: a trained checkpoint, or score maps saved by any codebase.

From a checkpoint (maps from the model's head, or from a registered explainer)::

    python tools/eval_loc.py --checkpoint runs/NAME/checkpoints/best.pth [key=value ...]
        [--explainer gradcam | --baseline center] [--overlays 16] [--out DIR] [--cache CACHE_DIR]

evaluates val and test with every metric the dataset has ground truth for, carries the
threshold chosen on val to test, prints a table and writes ``metrics.json``,
``per_image.csv``, ``overlays.png`` (and ``overlays/``, one PNG per image) and
``curves.png`` (default DIR: ``runs/NAME/eval``, ``eval_<explainer>`` or
``eval_<baseline>``); ``--baseline center`` scores a centred Gaussian map instead of the
model's (the model still classifies); with W&B on, the same as a run of job
type ``eval`` (see docs/comparing.md). With ``--cache`` each batch's contribution is kept
in CACHE_DIR; rerunning the same command after a kill continues where it stopped and
gives the same numbers. Under ``torchrun`` every rank evaluates a shard (docs/distributed.md).

From saved score maps, like wsolevaluation's ``evaluation.py``::

    python tools/eval_loc.py --scoremaps DIR --metadata METADATA_DIR --split test
        [--mask-root DIR] [--interval 0.01] [--out metrics.json]

reads ``DIR/<image_id without extension>.npy`` (224 x 224 maps in [0, 1]).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wsol.cli import run_cli
from wsol.engine.eval_run import evaluate_checkpoint, evaluate_scoremaps
from wsol.engine.evaluator import BASELINES
from wsol.errors import ConfigError
from wsol.utils.atomic import atomic_write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("overrides", nargs="*", help="dot-list overrides of the checkpoint's config")
    parser.add_argument("--checkpoint", type=Path, help="a wsol checkpoint (best.pth or epoch_NNNN.pth)")
    parser.add_argument("--explainer", help="registered explainer instead of the head's maps (e.g. gradcam)")
    parser.add_argument("--baseline", choices=BASELINES, help="baseline map instead (center: Gaussian)")
    parser.add_argument("--overlays", type=int, default=16, help="test images drawn in overlays.png")
    parser.add_argument("--cache", type=Path, help="folder caching per-batch results, to resume a killed run")
    parser.add_argument("--scoremaps", type=Path, help="folder of saved <image_id>.npy score maps")
    parser.add_argument("--metadata", type=Path, help="wsolevaluation metadata folder (with <split>/)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--mask-root", type=Path, help="folder the mask paths in localization.txt are under")
    parser.add_argument("--interval", type=float, default=0.01, help="cam_curve_interval")
    parser.add_argument(
        "--out", type=Path, help="output folder (checkpoint) or metrics.json path (score maps)"
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    progress = not args.no_progress
    if (args.checkpoint is None) == (args.scoremaps is None):
        raise ConfigError("give exactly one of --checkpoint or --scoremaps (see --help)")
    if args.checkpoint is not None:
        evaluate_checkpoint(
            args.checkpoint,
            args.overrides,
            args.out,
            args.explainer,
            args.overlays,
            progress,
            args.baseline,
            args.cache,
        )
        return 0
    if args.metadata is None:
        raise ConfigError("--scoremaps needs --metadata")
    results = evaluate_scoremaps(
        args.scoremaps, args.metadata, args.split, args.mask_root, args.interval, progress=progress
    )
    scalars = {k: v for k, v in results.items() if np.ndim(v) == 0}
    for key in sorted(scalars):
        print(f"{key:<32} {scalars[key]}")
    out = args.out or Path("metrics.json")
    plain = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in results.items()}
    atomic_write_text(out, json.dumps(plain, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
