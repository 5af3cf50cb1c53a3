"""A ViT head (TS-CAM) and a method with its own maps and modules (PSOL) train, evaluate and
reload end to end through :func:`wsol.engine.train` on a tiny SynthParts; PSOL's DDT statistics
in the last checkpoint are the exact ones over the training split (the engine's ``fit`` hook)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from wsol.config import load_config
from wsol.data.loaders import build_dataset
from wsol.engine import train
from wsol.methods import METHODS
from wsol.models import build_model

ROOT = Path(__file__).resolve().parents[1]
SMALL = {
    "tscam": [
        "model.backbone.options.img_size=64",
        "model.backbone.options.depth=2",
        "model.backbone.options.embed_dim=32",
        "model.backbone.options.num_heads=2",
    ],
    "psol": ["model.backbone.options.width=8"],
}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synthparts")  # generated once, by the first run


@pytest.mark.parametrize("name", sorted(SMALL))
def test_trains_evaluates_and_reloads(name: str, tmp_path: Path, data_root: Path) -> None:
    overrides = [
        f"name={name}",
        f"output_dir={tmp_path / 'runs'}",
        f"data.dataset.root={data_root}",
        "data.dataset.num_train=32",
        "data.dataset.num_val=8",
        "data.dataset.num_test=8",
        "data.dataset.num_classes=3",
        "data.dataset.image_size=64",
        "data.image_size=64",
        "data.batch_size=16",
        "data.eval_batch_size=16",
        "optim.epochs=1",
        "eval.resolution=64",
        "wandb.enabled=false",
        *SMALL[name],
    ]
    cfg = load_config(ROOT / "configs" / "synthparts" / f"{name}.yaml", overrides)
    train(cfg, progress=False)
    run = tmp_path / "runs" / name
    summary = json.loads((run / "summary.json").read_text())
    assert 0 <= summary["test/maxboxacc_v2"] <= 100 and 0 <= summary["test/top1"] <= 100
    state = torch.load(run / "checkpoints" / "best.pth", weights_only=False)
    model = build_model(cfg.model, state["num_classes"])
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    model.load_state_dict(state["model"])  # strict: the method's modules and buffers are saved
    with torch.no_grad():
        logits, maps = method.localization_map(model.eval(), torch.randn(2, 3, 64, 64), torch.tensor([0, 1]))
    assert logits.shape == (2, 3) and torch.isfinite(maps).all() and maps.abs().sum() > 0
    if name == "psol":
        train_set = build_dataset(cfg, cfg.data.train_split, train=False)
        with torch.no_grad():
            features = [model.backbone(train_set[i]["image"][None])[-1] for i in range(len(train_set))]
        mean = torch.cat(features).double().mean(dim=(0, 2, 3))
        torch.testing.assert_close(model.head.component.mean, mean)
