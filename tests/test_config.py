from dataclasses import replace
from pathlib import Path

import pytest
import timm
import yaml

from wsol.config import RunConfig, load_config, save_config
from wsol.data.datasets import DATASETS
from wsol.data.transforms import TRANSFORMS
from wsol.errors import ConfigError
from wsol.explainers import EXPLAINERS
from wsol.methods import METHODS
from wsol.models.backbones import BACKBONES
from wsol.models.heads import HEADS

# Run configs; the W&B sweep files in configs/sweeps/ are checked by test_sweeps.py.
CONFIGS = sorted(
    path
    for path in Path(__file__).resolve().parents[1].joinpath("configs").rglob("*.yaml")
    if path.parent.name != "sweeps"
)


def write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults_and_overrides():
    cfg = load_config(None, ["optim.lr=0.01", "model.head.pooling=gmp", "eval.iou_thresholds=[50]"])
    defaults = RunConfig()
    assert cfg.optim == replace(defaults.optim, lr=0.01)
    assert cfg.model == replace(defaults.model, head={"name": "cam", "pooling": "gmp"})
    assert cfg.eval == replace(defaults.eval, iou_thresholds=[50])
    assert replace(cfg, optim=defaults.optim, model=defaults.model, eval=defaults.eval) == defaults


def test_base_chain_and_spec_replacement(tmp_path):
    write(
        tmp_path,
        "base.yaml",
        {"optim": {"lr": 0.5, "epochs": 3}, "model": {"head": {"name": "cam", "pooling": "lse"}}},
    )
    child = write(
        tmp_path,
        "child.yaml",
        {"base": "base.yaml", "optim": {"lr": 0.2}, "model": {"head": {"name": "other", "k": 1}}},
    )
    cfg = load_config(child)
    assert (cfg.optim.lr, cfg.optim.epochs) == (0.2, 3)
    assert cfg.model.head == {"name": "other", "k": 1}  # the old head's pooling does not leak


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["optim.lrr=1"], r"unknown config key 'optim.lrr' \(did you mean 'optim.lr'"),
        (["optim.lr=abc"], r"config key 'optim.lr'"),
        (["modle.head=1"], r"unknown config key 'modle' \(did you mean 'model'"),
        (["optim=3"], r"'optim' must be a mapping"),
        (["optim.lr"], r"not of the form key=value"),
    ],
)
def test_bad_overrides_give_one_line_errors(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(None, overrides)
    assert "\n" not in str(info.value)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)
    loop = write(tmp_path, "loop.yaml", {"base": "loop.yaml"})
    with pytest.raises(ConfigError, match="loops back"):
        load_config(loop)


def test_save_round_trip(tmp_path):
    cfg = load_config(None, ["name=x", "seed=7", "data.dataset.root=/data/y"])
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == cfg


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_shipped_configs_round_trip_and_name_registered_members(path, tmp_path):
    cfg = load_config(path)
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == cfg
    assert cfg.data.dataset["name"] in DATASETS
    assert {cfg.data.train_transform, cfg.data.eval_transform} <= set(TRANSFORMS.list())
    assert cfg.model.backbone.name in BACKBONES or timm.is_model(cfg.model.backbone.name)
    assert cfg.model.head["name"] in HEADS
    assert cfg.eval.explainer is None or cfg.eval.explainer["name"] in EXPLAINERS
    METHODS.build(cfg.method, key="method")  # the method's options are checked against its signature
