import logging
import math
from dataclasses import is_dataclass, replace
from pathlib import Path
from typing import Literal, get_args, get_origin, get_type_hints

import pytest
import timm
import yaml
from hypothesis import given
from hypothesis import strategies as st

from wsol.config import RunConfig, load_checkpoint_config, load_config, save_config, to_dict
from wsol.config.schema import LIMITS, REMOVED, SPECS, Interval
from wsol.data.datasets import DATASETS
from wsol.data.transforms import TRANSFORMS
from wsol.errors import ConfigError, RegistryError, WSOLError, check_choice
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
        {"optim": {"lr": 0.5, "epochs": 3}, "method": {"name": "acol", "threshold": 0.6}},
    )
    child = write(
        tmp_path,
        "child.yaml",
        {"base": "base.yaml", "optim": {"lr": 0.2}, "method": {"name": "has", "hide_prob": 0.3}},
    )
    cfg = load_config(child)
    assert (cfg.optim.lr, cfg.optim.epochs) == (0.2, 3)
    assert cfg.method == {"name": "has", "hide_prob": 0.3}  # the old method's threshold does not leak


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


def literal_fields(schema: type = RunConfig, prefix: str = "") -> list[tuple[str, tuple]]:
    """``(key, choices)`` of every ``Literal`` field of the schema."""
    found = []
    for name, hint in get_type_hints(schema).items():
        if is_dataclass(hint):
            found += literal_fields(hint, f"{prefix}{name}.")
        elif get_origin(hint) is Literal:
            found.append((prefix + name, get_args(hint)))
    return found


LITERALS = literal_fields()
NEEDS = {"model.backbone.weights": {"checkpoint": ["model.backbone.checkpoint=/w.pth"]}}


def test_schema_has_choice_fields():
    keys = {k for k, _ in LITERALS}
    assert {"optim.name", "optim.scheduler", "train.amp", "eval.checkpoint", "model.backbone.weights"} <= keys


@pytest.mark.parametrize("key, choices", LITERALS, ids=[k for k, _ in LITERALS])
def test_choice_fields_checked_at_load(key, choices):
    for choice in choices:
        cfg = load_config(None, [f"{key}={choice}", *NEEDS.get(key, {}).get(choice, [])])
        node = cfg
        for part in key.split("."):
            node = getattr(node, part)
        assert node == choice
    with pytest.raises(ConfigError, match=rf"^{key}: 'bogus' is not one of {choices[0]!r}"):
        load_config(None, [f"{key}=bogus"])


def outside(interval: Interval) -> float:
    """A value just outside ``interval`` (below it, or above it if it has no lower bound)."""
    if interval.low > -math.inf:
        return interval.low if interval.low_open else interval.low - 1
    return interval.high if interval.high_open else interval.high + 1


def inside(interval: Interval) -> float:
    if interval.high < math.inf:
        return (interval.low + interval.high) / 2
    return interval.low + 1


@pytest.mark.parametrize("key", sorted(LIMITS))
def test_ranges_checked_at_load(key):
    interval = LIMITS[key]
    is_list = key == "eval.iou_thresholds"
    cast = int if float(inside(interval)).is_integer() and float(outside(interval)).is_integer() else float
    good, bad = cast(inside(interval)), cast(outside(interval))
    load_config(None, [f"{key}={[good] if is_list else good}"])
    with pytest.raises(ConfigError, match=rf"^{key}: must be ") as info:
        load_config(None, [f"{key}={[good, bad] if is_list else bad}"])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_rates_rejected(value):
    with pytest.raises(ConfigError, match=r"^optim.lr: must be > 0"):
        load_config(None, [f"optim.lr={value}"])


@given(st.floats(allow_nan=True), st.floats(-10, 10), st.floats(-10, 10), st.booleans(), st.booleans())
def test_interval_membership_matches_its_text(value, a, b, low_open, high_open):
    low, high = min(a, b), max(a, b)
    interval = Interval(low, high, low_open, high_open)
    expected = (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
    assert (value in interval) == expected
    assert str(interval).startswith("in (" if low_open else "in [")


@pytest.mark.parametrize("key", sorted(REMOVED))
def test_removed_keys_give_a_clear_error(key, tmp_path):
    *parents, leaf = key.split(".")
    data: dict = {leaf: "x"}
    for part in reversed(parents):
        data = {part: data}
    path = write(tmp_path, "old.yaml", data)
    with pytest.raises(ConfigError, match=rf"old.yaml: config key '{key}' was removed: ") as info:
        load_config(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=rf"^override: config key '{key}' was removed"):
        load_config(None, [f"{key}=x"])


@pytest.mark.parametrize(
    "old, weights, checkpoint",
    [
        ("false", "none", None),
        (False, "none", None),
        ("timm", "timm", None),
        ("efficientnet_lite0_package", "efficientnet_lite0_package", None),
        ("/w/r.pth", "checkpoint", "/w/r.pth"),
    ],
)
def test_old_pretrained_key_migrates_in_stored_configs_and_is_explained_in_new_ones(old, weights, checkpoint):
    stored = {
        "model": {"backbone": {"name": "resnet18", "pretrained": old}},
        "train": {"log_interval": 5},
        "data": {"skip_bad_samples": False},
        "eval": {"max_val_images": 0},
    }
    cfg = load_config(None, base=stored)  # e.g. the config inside an old checkpoint
    assert (cfg.model.backbone.weights, cfg.model.backbone.checkpoint) == (weights, checkpoint)
    with pytest.raises(ConfigError, match=f"write model.backbone.weights={weights}"):
        load_config(None, [f"model.backbone.pretrained={old}"])


def test_weights_and_checkpoint_must_agree():
    with pytest.raises(ConfigError, match=r"^model.backbone.checkpoint: weights=checkpoint needs"):
        load_config(None, ["model.backbone.weights=checkpoint"])
    with pytest.raises(ConfigError, match=r"^model.backbone.checkpoint is set but"):
        load_config(None, ["model.backbone.checkpoint=/w.pth"])


@pytest.mark.parametrize(
    "device, ok", [("auto", True), ("cuda:1", True), ("mps", True), ("gpu", False), ("cuda:x", False)]
)
def test_device_checked_at_load(device, ok):
    if ok:
        assert load_config(None, [f"device={device}"]).device == device
    else:
        with pytest.raises(ConfigError, match=r"^device: "):
            load_config(None, [f"device={device}"])


SPEC_CASES = {
    "data.dataset": ("data.dataset.rooot=x", ConfigError, "unknown option 'rooot'"),
    "data.train_transform": ("data.train_transform=wsol_tran", RegistryError, "unknown transform"),
    "data.eval_transform": ("data.eval_transform=nope", RegistryError, "unknown transform"),
    "model.head": ("model.head.poolng=gap", ConfigError, "did you mean 'pooling'"),
    "method": ("method={name: acol, treshold: 0.5}", ConfigError, "unknown option 'treshold'"),
    "eval.explainer": ("eval.explainer={name: gradcam, foo: 1}", ConfigError, "unknown option 'foo'"),
}


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_registry_spec_checked_at_load(key):
    override, error, text = SPEC_CASES[key]
    with pytest.raises(error, match=rf"^{key}: .*{text}") as info:
        load_config(None, [override])
    assert "\n" not in str(info.value)


def test_explainer_name_checked_at_load():
    with pytest.raises(RegistryError, match=r"^eval.explainer: unknown explainer 'gradcm'"):
        load_config(None, ["eval.explainer={name: gradcm}"])


def test_check_choice_one_line_with_suggestion():
    assert check_choice("b", ("a", "b"), "k") == "b"
    with pytest.raises(WSOLError, match=r"^x.y: 'fo' is not one of 'foo', 'bar' \(did you mean 'foo'\?\)$"):
        check_choice("fo", ("foo", "bar"), "x.y")
    with pytest.raises(ConfigError, match=r"^n: 3 is not one of 1, 2$"):
        check_choice(3, (1, 2), "n")


def stored_config(**sections) -> dict:
    """A run config as a checkpoint stores it (plain containers)."""
    return to_dict(load_config(None, [f"{k}={v}" for k, v in sections.items()]))


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.head.pooling=lse", "model.head.pooling"),
        ("model.head={name: se}", "model.head.name"),
        ("model.backbone.name=resnet50", "model.backbone.name"),
        ("model.backbone.options.width=64", "model.backbone.options.width"),
        ("method.name=has", "method.name"),
    ],
)
def test_checkpoint_config_decides_the_architecture(override, key):
    stored = stored_config(**{"model.backbone.name": "convnet", "model.backbone.options": "{width: 8}"})
    with pytest.raises(ConfigError, match=rf"^{key}: the checkpoint was trained with ") as info:
        load_checkpoint_config(stored, [override])
    assert "\n" not in str(info.value)


def test_checkpoint_config_accepts_harmless_overrides(caplog):
    stored = stored_config(**{"method": "{name: acol, eval_erase_class: predicted}"})
    with caplog.at_level(logging.WARNING, logger="wsol.config"):
        cfg = load_checkpoint_config(
            stored,
            [
                "eval.resolution=64",
                "model.head.pooling=gap",
                "method.eval_erase_class=target",
                "model.backbone.weights=timm",
            ],
        )
    assert cfg.eval.resolution == 64 and cfg.method["eval_erase_class"] == "target"
    assert cfg.model.head == {"name": "cam", "pooling": "gap"}  # the default the checkpoint used
    warned = caplog.text
    assert "method.eval_erase_class" in warned and "model.backbone.weights" in warned
    assert "pooling" not in warned and "resolution" not in warned
