"""Convert a checkpoint of clovaai/wsolevaluation's ``main.py`` into a wsol checkpoint.

    python tools/convert_checkpoint.py train_log/EXP/last_checkpoint.pth.tar \\
        --config configs/cub/cam_resnet50.yaml --out runs/cub_cam_resnet50/checkpoints/converted.pth
    python tools/eval_loc.py --checkpoint runs/cub_cam_resnet50/checkpoints/converted.pth

``--config`` names the wsol config of the same network, method and dataset (one of the
protocol configs, with ``key=value`` overrides, e.g. the reference run's
``model.backbone.options.large_feature_map=true``). The weights map as described in
:mod:`wsol.models.wsoleval_weights`; a key that maps nowhere is an error listing it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wsol.cli import run_cli
from wsol.config import load_config
from wsol.engine.checkpoint import atomic_torch_save
from wsol.models.wsoleval_weights import convert_reference_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path, help="wsolevaluation checkpoint (*_checkpoint.pth.tar)")
    parser.add_argument(
        "--config", type=Path, required=True, help="wsol config of the same network and method"
    )
    parser.add_argument("--out", type=Path, required=True, help="wsol checkpoint to write")
    parser.add_argument("overrides", nargs="*", help="dot-list overrides of the config")
    args = parser.parse_intermixed_args(argv)
    state = convert_reference_checkpoint(args.source, load_config(args.config, args.overrides))
    atomic_torch_save(state, args.out)
    print(f"wrote {args.out} ({len(state['model'])} tensors, {state['num_classes']} classes)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
