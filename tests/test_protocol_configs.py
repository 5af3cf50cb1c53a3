"""The protocol configs (configs/{cub,ilsvrc,openimages}) train and evaluate on tiny trees in each layout.

Every config runs two training steps and the final evaluation with a small convnet in
place of its network (the networks themselves are checked against the reference in
tests/test_wsoleval_networks.py); one config also runs with its real network, and a
converted wsolevaluation checkpoint is scored by tools/eval_loc.py.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from wsoleval_tree import write_tree

from tools.make_protocol_configs import ARCHS, DATASETS, METHODS
from tools.make_protocol_configs import main as make_configs
from wsol import keys
from wsol.config import RunConfig, load_config
from wsol.config.schema import BackboneConfig
from wsol.engine import train

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LAYOUTS = {"cub": ("CUB", "boxes"), "ilsvrc": ("ILSVRC", "boxes"), "openimages": ("OpenImages", "masks")}
CHEAP_BACKBONE = BackboneConfig(name="convnet", options={"width": 4, "strides": [2, 2, 1, 1, 1, 1]})
ALL = [(d, m, a) for d in DATASETS for m in METHODS for a in ARCHS]


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wsolevaluation")
    for folder, layout in LAYOUTS.values():
        write_tree(root, folder, layout)
    return root


def tiny_overrides(root: Path, out: Path) -> list[str]:
    return [
        f"data.dataset.root={root}",
        f"output_dir={out}",
        "device=cpu",
        "model.backbone.weights=none",
        "data.image_size=32",
        "data.batch_size=4",
        "data.eval_batch_size=4",
        "data.num_workers=0",
        "optim.epochs=1",
        "eval.resolution=32",
        "eval.cam_curve_interval=0.1",
        "eval.num_overlays=1",
        "eval.every_n_epochs=0",
        "wandb.enabled=false",
    ]


def tiny(dataset: str, method: str, arch: str, root: Path, out: Path) -> RunConfig:
    return load_config(CONFIGS / dataset / f"{method}_{arch}.yaml", tiny_overrides(root, out))


def cheap(cfg: RunConfig) -> RunConfig:
    """``cfg`` with a 6-stage convnet (so every method's stage options exist) and narrow layers."""
    head = dict(cfg.model.head)
    if "conv_channels" in head:
        head["conv_channels"] = [8] * len(head["conv_channels"])
    method = dict(cfg.method)
    if method["name"] == "spg":
        method.update(branch_channels=8, c_channels=8, mask_size=32)
    stage = min(cfg.model.backbone.feature_stage, 5)
    backbone = dataclasses.replace(CHEAP_BACKBONE, feature_stage=stage)
    model = dataclasses.replace(cfg.model, backbone=backbone, head=head)
    return dataclasses.replace(cfg, model=model, method=method)


def check_results(results: dict, dataset: str) -> None:
    key = "pxap" if dataset == "openimages" else "maxboxacc_v2"  # the protocol's headline
    for split in ("val", "test"):
        value = results[keys.split_key(split, key)]
        assert math.isfinite(value) and 0.0 <= value <= 100.0, (split, key, value)


def test_configs_are_generated_from_the_table():
    assert make_configs(["--check"]) == 0
    assert len(list(CONFIGS.glob("*/*_*.yaml"))) >= len(ALL)


@pytest.mark.parametrize(("dataset", "method", "arch"), ALL)
def test_config_trains_two_steps_and_evaluates(dataset, method, arch, trees, tmp_path):
    cfg = tiny(dataset, method, arch, trees, tmp_path)
    assert cfg.optim.scheduler == "step" and cfg.eval.checkpoint == "last" and cfg.data.val_split == "val"
    check_results(train(cheap(cfg), progress=False), dataset)


def test_a_config_with_its_real_network(trees, tmp_path):
    check_results(train(tiny("ilsvrc", "adl", "inception_v3", trees, tmp_path), progress=False), "ilsvrc")


def test_eval_loc_scores_a_converted_checkpoint(trees, tmp_path, capsys):
    """A wsolevaluation checkpoint, converted, is evaluated by tools/eval_loc.py --checkpoint as it is."""
    import torch
    from wsoleval_reference import NETWORKS

    from tools.convert_checkpoint import main as convert
    from tools.eval_loc import main as eval_loc

    torch.save({"state_dict": NETWORKS["resnet50"]("cam", False).state_dict()}, tmp_path / "last.pth.tar")
    config = CONFIGS / "openimages" / "cam_resnet50.yaml"
    converted = tmp_path / "run" / "checkpoints" / "converted.pth"
    argv = [str(tmp_path / "last.pth.tar"), "--config", str(config), "--out", str(converted)]
    assert convert([*argv, "data.dataset.num_classes=5"]) == 0
    overrides = [o for o in tiny_overrides(trees, tmp_path) if not o.startswith("optim.")]
    assert eval_loc(["checkpoint", str(converted), *overrides]) == 0
    printed = capsys.readouterr().out
    assert "pxap" in printed.lower()
    assert (tmp_path / "run" / "eval" / "metrics.json").is_file()
