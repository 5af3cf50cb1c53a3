"""Convert a checkpoint of clovaai/wsolevaluation's ``main.py`` into a wsol checkpoint.

    python tools/convert_checkpoint.py train_log/EXP/last_checkpoint.pth.tar \\
        --config configs/cub/cam_resnet50.yaml --out runs/cub_cam_resnet50/checkpoints/converted.pth
    python tools/eval_loc.py checkpoint runs/cub_cam_resnet50/checkpoints/converted.pth

``--config`` names the wsol config of the same network, method and dataset (one of the
protocol configs, with ``key=value`` overrides, e.g. the reference run's
``model.backbone.options.large_feature_map=true``). The weights map as described in
:mod:`wsol.models.wsoleval_weights`; a key that maps nowhere is an error listing it. The
output is what training writes (``model``, ``config``, ``num_classes``, ``epoch``) and
loads with ``wsol.load_model``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from wsol.checkpoints.loading import without_pretrained
from wsol.cli import run_cli
from wsol.config import RunConfig, load_config, to_dict
from wsol.errors import CheckpointError, ConfigError
from wsol.methods import METHODS
from wsol.models import build_model
from wsol.models.wsoleval_weights import ARCHS, reference_to_wsol
from wsol.utils.atomic import atomic_torch_save

CLASSIFIERS = ("fc.weight", "SPG_A4.weight", "SPG_A_4.weight", "classifier_A.4.weight")


def read_reference_state(source: Path) -> tuple[dict[str, Tensor], int]:
    """The ``state_dict`` of a wsolevaluation checkpoint and its ``epoch`` (-1 if absent)."""
    try:
        saved = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {source}") from None
    except Exception as err:  # torch raises many types for corrupt files
        raise CheckpointError(f"cannot read checkpoint {source}: {err}") from None
    state = saved.get("state_dict", saved) if isinstance(saved, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{source} is not a wsolevaluation checkpoint (no 'state_dict' of tensors)")
    return state, int(saved.get("epoch", -1))


def num_classes_of(cfg: RunConfig, state: dict[str, Tensor], source: Path) -> int:
    """``data.dataset.num_classes`` if the config sets it, else the rows of the reference classifier."""
    if cfg.data.dataset.get("num_classes"):
        return int(cfg.data.dataset["num_classes"])
    for key in CLASSIFIERS:
        for candidate in (key, f"module.{key}"):
            if candidate in state:
                return state[candidate].shape[0]
    raise CheckpointError(f"{source}: cannot tell the number of classes; set data.dataset.num_classes")


def convert(source: Path, cfg: RunConfig) -> dict[str, Any]:
    """The wsol checkpoint of wsolevaluation's checkpoint ``source`` for the network and method of ``cfg``."""
    arch = ARCHS.get(cfg.model.backbone.name)
    if arch is None:
        name, known = cfg.model.backbone.name, sorted(ARCHS)
        raise ConfigError(f"model.backbone.name: {name!r} is not a wsolevaluation network (known: {known})")
    state, epoch = read_reference_state(source)
    num_classes = num_classes_of(cfg, state, source)
    model = build_model(without_pretrained(cfg.model), num_classes)
    METHODS.build(cfg.method, key="method").setup(model)
    weights = reference_to_wsol(state, model, arch, cfg.method.get("name", "vanilla"))
    return {"model": weights, "config": to_dict(cfg), "num_classes": num_classes, "epoch": epoch}


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
    state = convert(args.source, load_config(args.config, args.overrides))
    atomic_torch_save(state, args.out)
    print(f"wrote {args.out} ({len(state['model'])} tensors, {state['num_classes']} classes)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
