"""Evaluate localization: a trained checkpoint, or score maps saved by any codebase.

From a checkpoint (maps from the model's head, a registered explainer, or a baseline)::

    python tools/eval_loc.py checkpoint runs/NAME/checkpoints/epoch_0003.pth [key=value ...]
        [--explainer gradcam | --baseline center] [--overlays N] [--out DIR] [--cache CACHE_DIR]
        [--faithfulness]

evaluates val and test with every metric the dataset has ground truth for, carries the
threshold chosen on val to test, prints a table and writes ``metrics.json``,
``per_image.csv``, ``overlays.png`` (and ``overlays/``, one PNG per image) and
``curves.png`` into DIR (default: ``runs/NAME/eval``, ``eval_<explainer>`` or
``eval_<baseline>``). Results already in DIR (the training run's own ``eval/``, say) are
never replaced unless ``--overwrite`` is given; overrides may not change the architecture
the checkpoint was trained with. The model is rebuilt as ``wsol.load_model`` does: a cascade stage
comes with its earlier stages, so the numbers are those the run reported. ``--baseline
center`` scores a centred Gaussian map instead of the model's (the model still
classifies); with W&B on, the same as a run of job type ``eval`` (docs/comparing.md).
With ``--cache`` each batch's contribution is kept in CACHE_DIR; rerunning the same
command after a kill continues where it stopped and gives the same numbers.
``--faithfulness`` also scores the same maps with the faithfulness and sanity metrics
(deletion/insertion AUC, ROAD, pointing games, average drop, parameter randomisation;
``wsol/metrics/probe.py``), which call the model and cost many forward passes. Under
``torchrun`` every rank evaluates a shard (docs/distributed.md).

From saved score maps, like wsolevaluation's ``evaluation.py``::

    python tools/eval_loc.py scoremaps DIR --metadata METADATA_DIR [--split test]
        [--mask-root DIR] [--interval 0.01] [--out DIR]

reads ``DIR/<image_id without extension>.npy`` (224 x 224 maps in [0, 1]) and writes
``metrics.json`` into the ``--out`` folder (default: the current directory; an existing
``metrics.json`` there needs ``--overwrite``). Every path
is relative to the current directory.

Class-agnostic maps of a folder of unlabelled photos (no ground truth, nothing scored)::

    python tools/eval_loc.py folder SOURCE IMAGE_DIR [key=value ...] [--baseline center] [--out DIR]

SOURCE is a checkpoint (maps of each image's predicted class) or a config (e.g. a
pretrained backbone with method ``pc1``, whose statistics are then fitted on the folder's
own images). Writes ``DIR/<image name without extension>.npy`` (default ``DIR``: ``maps``),
the layout ``scoremaps`` reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wsol import run_files
from wsol.cli import run_cli
from wsol.evaluation.folder import FolderMaps, write_folder_maps
from wsol.evaluation.from_checkpoint import CheckpointEval, evaluate_checkpoint
from wsol.evaluation.maps import BASELINES
from wsol.evaluation.scoremaps import ScoremapEval, evaluate_scoremaps
from wsol.utils.atomic import atomic_write_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True, metavar="{checkpoint,scoremaps,folder}")
    ckpt = modes.add_parser("checkpoint", help="score a wsol checkpoint's maps on val and test")
    ckpt.add_argument("checkpoint", type=Path, help="a wsol checkpoint (epoch_NNNN.pth or best.pth)")
    ckpt.add_argument("overrides", nargs="*", help="dot-list overrides of the checkpoint's config")
    source = ckpt.add_mutually_exclusive_group()
    source.add_argument("--explainer", help="registered explainer instead of the head's maps (e.g. gradcam)")
    source.add_argument("--baseline", choices=sorted(BASELINES), help="baseline map instead (e.g. center)")
    ckpt.add_argument(
        "--overlays", type=int, help="test images drawn (default: the config's eval.num_overlays)"
    )
    ckpt.add_argument("--cache", type=Path, help="folder caching per-batch results, to resume a killed run")
    ckpt.add_argument(
        "--out", type=Path, help="output folder (default: <run>/eval[_<explainer or baseline>])"
    )
    ckpt.add_argument("--overwrite", action="store_true", help="replace results already in the output folder")
    ckpt.add_argument(
        "--faithfulness", action="store_true", help="also deletion/insertion, ROAD, pointing games, ..."
    )
    ckpt.add_argument("--no-progress", action="store_true")
    maps = modes.add_parser(
        "scoremaps", help="score saved <image_id>.npy maps against wsolevaluation metadata"
    )
    maps.add_argument("scoremaps", type=Path, help="folder of saved <image_id>.npy score maps")
    maps.add_argument("--metadata", type=Path, required=True, help="metadata folder (with <split>/)")
    maps.add_argument("--split", default="test")
    maps.add_argument("--mask-root", type=Path, help="folder the mask paths in localization.txt are under")
    maps.add_argument("--interval", type=float, default=0.01, help="cam_curve_interval")
    maps.add_argument("--out", type=Path, default=Path("."), help="output folder for metrics.json")
    maps.add_argument("--overwrite", action="store_true", help="replace a metrics.json already in --out")
    maps.add_argument("--no-progress", action="store_true")
    folder = modes.add_parser("folder", help="write class-agnostic maps of a folder of unlabelled images")
    folder.add_argument("source", type=Path, help="a wsol checkpoint (.pth) or a config (.yaml)")
    folder.add_argument("images", type=Path, help="folder of images (no labels)")
    folder.add_argument("overrides", nargs="*", help="dot-list overrides of the config")
    folder.add_argument("--baseline", choices=sorted(BASELINES), help="baseline map instead")
    folder.add_argument("--out", type=Path, default=Path("maps"), help="output folder for the .npy maps")
    folder.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    progress = not args.no_progress
    if args.mode == "checkpoint":
        job = CheckpointEval(
            args.checkpoint,
            args.overrides,
            explainer=args.explainer,
            baseline=args.baseline,
            out_dir=args.out,
            num_overlays=args.overlays,
            cache=args.cache,
            progress=progress,
            overwrite=args.overwrite,
            faithfulness=args.faithfulness,
        )
        evaluate_checkpoint(job)
        return 0
    if args.mode == "folder":
        written = write_folder_maps(
            FolderMaps(args.source, args.images, args.overrides, args.baseline, args.out, progress)
        )
        print(f"wrote {len(written)} maps to {args.out}")
        return 0
    run_files.refuse_to_overwrite(args.out, args.overwrite)
    job = ScoremapEval(
        args.scoremaps, args.metadata, args.split, args.mask_root, args.interval, progress=progress
    )
    results = evaluate_scoremaps(job)
    scalars = {k: v for k, v in results.items() if np.ndim(v) == 0}
    for key in sorted(scalars):
        print(f"{key:<32} {scalars[key]}")
    plain = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in results.items()}
    atomic_write_text(args.out / run_files.METRICS, json.dumps(plain, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
