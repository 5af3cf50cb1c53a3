"""The protocol configs (configs/{cub,ilsvrc,openimages}) train and evaluate on tiny trees in each layout.

Every config runs two training steps and the final evaluation with a small convnet in
place of its network (the networks themselves are checked against the reference in
tests/test_wsoleval_networks.py); one config also runs with its real network, and a
converted wsolevaluation checkpoint is scored by tools/eval_loc.py.

The configs of the 2020-2024 methods (``MODERN``: BAS, BridgeGap, PSOL, PC1, TS-CAM) build
their real network with random weights and take a training step on tiny images; they also
train two steps and evaluate with a small network of the same kind in place of theirs.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from wsoleval_tree import write_tree

from tools.make_protocol_configs import ARCHS, DATASETS, METHODS, MODERN
from tools.make_protocol_configs import main as make_configs
from wsol import keys
from wsol.config import RunConfig, load_config
from wsol.config.schema import BackboneConfig
from wsol.engine import train
from wsol.methods import METHODS as METHOD_REGISTRY
from wsol.models import build_model

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LAYOUTS = {"cub": ("CUB", "boxes"), "ilsvrc": ("ILSVRC", "boxes"), "openimages": ("OpenImages", "masks")}
CHEAP_BACKBONE = BackboneConfig(name="convnet", options={"width": 4, "strides": [2, 2, 1, 1, 1, 1]})
ALL = [(d, m, a) for d in DATASETS for m in METHODS for a in ARCHS]
MODERN_ALL = [(d, m, a) for m, spec in MODERN.items() for d in spec.datasets for a in spec.archs]
TINY_DEIT = {"patch_size": 8, "depth": 2, "embed_dim": 24, "num_heads": 2}


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
    assert len(list(CONFIGS.glob("*/*_*.yaml"))) >= len(ALL) + len(MODERN_ALL)


def test_table_lists_every_config(capsys):
    assert make_configs(["--table"]) == 0
    printed = capsys.readouterr().out
    for dataset, method, _ in [*ALL, *MODERN_ALL]:
        assert f"`{dataset}/{method}_*`" in printed


def test_every_modern_value_names_its_source():
    """Each value of the model, method and optim sections of a 2020-2024 config has a comment."""
    for dataset, method, arch in MODERN_ALL:
        text = (CONFIGS / dataset / f"{method}_{arch}.yaml").read_text()
        for line in text[text.index("\nmodel:") : text.index("\neval:")].splitlines():
            key, _, value = line.partition(":")
            if (
                value.strip()
                and not key.strip().startswith("#")
                and key.strip() not in ("name", "warmup_epochs")
            ):
                assert "#" in value, (dataset, method, arch, line)


@pytest.mark.parametrize(("dataset", "method", "arch"), MODERN_ALL)
def test_modern_config_builds_its_network_and_trains_a_step(dataset, method, arch):
    cfg = load_config(CONFIGS / dataset / f"{method}_{arch}.yaml", ["model.backbone.weights=none"])
    assert cfg.model.backbone.name == (arch if method == "tscam" else f"wsoleval_{arch}")
    assert cfg.method["name"] == ("vanilla" if method == "tscam" else method)
    assert cfg.data.dataset["num_classes"] == DATASETS[dataset]["classes"]
    model = build_model(cfg.model, num_classes=5)
    runner = METHOD_REGISTRY.build(cfg.method, key="method")
    runner.setup(model)
    torch.manual_seed(0)
    loss, _ = runner.training_step(model.train(), torch.randn(2, 3, 64, 64), torch.tensor([0, 3]))
    loss.backward()
    assert torch.isfinite(loss)


@pytest.mark.parametrize(("dataset", "method", "arch"), MODERN_ALL)
def test_modern_config_trains_two_steps_and_evaluates(dataset, method, arch, trees, tmp_path):
    cfg = tiny(dataset, method, arch, trees, tmp_path)
    if method == "tscam":  # a 2-block DeiT of the same family in place of DeiT-S
        backbone = dataclasses.replace(cfg.model.backbone, options=dict(TINY_DEIT))
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, backbone=backbone))
    else:
        cfg = cheap(cfg)
    check_results(train(cfg, progress=False), dataset)


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
