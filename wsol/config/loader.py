"""Load a run config from YAML plus command-line dot-list overrides.

``load_config("configs/synthparts/cam.yaml", ["optim.lr=0.01"])`` merges, in order:
the schema defaults (:class:`~wsol.config.schema.RunConfig`), the file named by the
YAML's optional ``base:`` key (relative to the YAML, recursively), the YAML itself and
the overrides. A registry spec (``model.head``, ``method``, ...) whose ``name`` changes
is replaced as a whole rather than merged key by key, so options of the old member do
not leak into the new one.

Everything is checked before anything runs, each problem a one-line :class:`ConfigError`
naming the key: unknown keys (with close matches), keys that were removed
(:data:`~wsol.config.schema.REMOVED`, with what to write instead), wrong types, a
``Literal`` field's value (:func:`wsol.errors.check_choice`), numeric ranges
(:data:`~wsol.config.schema.LIMITS`), ``device``, the weights choice, and every registry
spec against its member's signature (:data:`~wsol.config.schema.SPECS`). A ``base``
config stored by an older wsol (a checkpoint's) is migrated instead: removed keys are
dropped and ``model.backbone.pretrained`` becomes ``weights``/``checkpoint``.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import logging
import math
import os
import re
from dataclasses import is_dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from wsol.config.schema import LIMITS, REMOVED, SPECS, BackboneConfig, RunConfig
from wsol.errors import ConfigError, check_choice, did_you_mean
from wsol.registry import Registry

SPEC_KEYS = ("data.dataset", "model.head", "method", "eval.explainer")
INITIAL_WEIGHTS = ("model.backbone.weights", "model.backbone.checkpoint")
log = logging.getLogger("wsol.config")
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def load_config(
    path: str | os.PathLike | None = None,
    overrides: list[str] | None = None,
    base: dict[str, Any] | None = None,
) -> RunConfig:
    """Return the resolved, validated :class:`RunConfig`.

    ``base`` (e.g. the config stored in a checkpoint) is merged first, then the YAML
    chain of ``path``, then ``overrides``.
    """
    merged = migrate(copy.deepcopy(base or {}))
    for layer in _yaml_chain(Path(path)) if path else []:
        _merge_into(merged, copy.deepcopy(layer))
    _merge_into(merged, _reject_removed(_parse_overrides(overrides or []), "override"))
    return _validate(merged)


def load_checkpoint_config(stored: dict[str, Any], overrides: list[str] | None = None) -> RunConfig:
    """The config to evaluate a checkpoint with: its stored config plus ``overrides``.

    The stored config is authoritative for what the weights were trained as: an override
    that changes a ``model.*`` key (backbone, head and their options) or ``method.name``
    is a :class:`ConfigError` naming the key and both values, rather than a wall of
    ``load_state_dict`` size mismatches or silently different numbers. Other ``method``
    options (inference choices such as ACoL's ``eval_erase_class``) and the initial
    weights (``model.backbone.weights``/``checkpoint``, which the checkpoint's weights
    replace) are applied with a logged warning.
    """
    trained = flatten(to_dict(load_config(None, None, base=copy.deepcopy(stored))))
    cfg = load_config(None, overrides, base=copy.deepcopy(stored))
    for key, value in flatten(to_dict(cfg)).items():
        old = trained[key] if key in trained else _option_default(key, trained)
        if value == old:
            continue
        if key in INITIAL_WEIGHTS or (key.startswith("method.") and key != "method.name"):
            log.warning("%s: %r overrides the checkpoint's %r", key, value, old)
        elif key.startswith(("model.", "method.")):
            raise ConfigError(
                f"{key}: the checkpoint was trained with {old!r}; an override cannot make it {value!r} "
                "(the checkpoint's config decides the architecture)"
            )
    return cfg


def _option_default(key: str, trained: dict[str, Any]) -> Any:
    """The default of registry option ``key`` (e.g. ``model.head.pooling``) for the member
    the checkpoint was trained with, else ``"<unset>"``."""
    spec_key, _, option = key.rpartition(".")
    name = trained.get(f"{spec_key}.name")
    if spec_key not in SPECS or name is None:
        return "<unset>"
    member = _registry(SPECS[spec_key]).get(name)
    parameter = inspect.signature(member).parameters.get(option)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return "<unset>"
    return parameter.default


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists and other values are leaves)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def migrate(old: dict[str, Any]) -> dict[str, Any]:
    """A config saved by an older wsol (e.g. in a checkpoint) in today's keys: removed keys
    are dropped, ``model.backbone.pretrained`` becomes ``weights`` and ``checkpoint``."""
    for key in REMOVED:
        *parents, leaf = key.split(".")
        node = _node(old, parents)
        if isinstance(node, dict) and leaf in node:
            value = node.pop(leaf)
            if key == "model.backbone.pretrained":
                node.update(_weights_of(value))
    return old


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The config as plain containers, e.g. for ``wandb.init(config=...)``."""
    return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)


def save_config(cfg: RunConfig, path: str | os.PathLike) -> None:
    """Write the resolved config as YAML (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    os.replace(tmp, path)


def _yaml_chain(path: Path, seen: tuple[Path, ...] = ()) -> list[dict[str, Any]]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: 'base' chain loops back to itself")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    base = data.pop("base", None)
    chain = _yaml_chain(path.parent / base, (*seen, path)) if base else []
    return [*chain, _reject_removed(data, str(path))]


def _reject_removed(layer: dict[str, Any], source: str) -> dict[str, Any]:
    """``layer``, or a :class:`ConfigError` if it sets a key of :data:`REMOVED`."""
    for key, why in REMOVED.items():
        *parents, leaf = key.split(".")
        node = _node(layer, parents)
        if isinstance(node, dict) and leaf in node:
            if key == "model.backbone.pretrained":
                new = _weights_of(node[leaf])
                why = "write " + " and ".join(f"model.backbone.{k}={v}" for k, v in new.items())
            raise ConfigError(f"{source}: config key {key!r} was removed: {why}")
    return layer


def _node(tree: dict[str, Any], parents: list[str]) -> Any:
    for part in parents:
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def _weights_of(pretrained: Any) -> dict[str, str]:
    """The ``weights`` (and ``checkpoint``) equivalent to an old ``pretrained`` value."""
    text = str(pretrained)
    if text.lower() in ("false", "none", ""):
        return {"weights": "none"}
    if text in ("timm", "efficientnet_lite0_package"):
        return {"weights": text}
    return {"weights": "checkpoint", "checkpoint": text}


def _parse_overrides(overrides: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw else ""
        node = result
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with an earlier override")
        node[leaf] = value
    return result


def _merge_into(target: dict[str, Any], layer: dict[str, Any], prefix: str = "") -> None:
    for key, value in layer.items():
        path = f"{prefix}{key}"
        old = target.get(key)
        replace_spec = path in SPEC_KEYS and isinstance(value, dict) and "name" in value
        if (
            isinstance(old, dict)
            and isinstance(value, dict)
            and not (replace_spec and value["name"] != old.get("name"))
        ):
            _merge_into(old, value, f"{path}.")
        else:
            target[key] = value


def _validate(merged: dict[str, Any]) -> RunConfig:
    _check_keys(merged, RunConfig, "")
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(RunConfig), merged)
    except ConfigKeyError as err:
        raise ConfigError(f"unknown config key {err.full_key!r}") from None
    except OmegaConfBaseException as err:
        raise ConfigError(f"config key {err.full_key!r}: {str(err.msg).splitlines()[0]}") from None
    cfg = OmegaConf.to_object(cfg)
    check_values(cfg)
    return cfg


def check_values(cfg: RunConfig) -> None:
    """Ranges, ``device``, the weights choice and every registry spec of a typed config."""
    for key, allowed in LIMITS.items():
        value = _get(cfg, key)
        for item in value if isinstance(value, list) else [value]:
            if not (math.isfinite(item) and item in allowed):
                raise ConfigError(f"{key}: must be {allowed}, got {value!r}")
    if not DEVICE.fullmatch(cfg.device):
        raise ConfigError(f"device: {cfg.device!r} is not one of auto, cpu, mps, cuda, cuda:N")
    _check_weights(cfg.model.backbone)
    for key, location in SPECS.items():
        spec = _get(cfg, key)
        if spec is not None:
            _registry(location).check(spec, key)


def _check_weights(backbone: BackboneConfig) -> None:
    if backbone.weights == "checkpoint" and not backbone.checkpoint:
        raise ConfigError("model.backbone.checkpoint: weights=checkpoint needs the path of a checkpoint")
    if backbone.checkpoint and backbone.weights != "checkpoint":
        raise ConfigError(
            f"model.backbone.checkpoint is set but model.backbone.weights is {backbone.weights!r}; "
            "set model.backbone.weights=checkpoint to load it"
        )


def _get(cfg: Any, key: str) -> Any:
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


@cache
def _registry(location: str) -> Registry:
    module, name = location.split(":")
    return getattr(importlib.import_module(module), name)


def _check_keys(node: dict[str, Any], schema: type, prefix: str) -> None:
    """Reject keys the dataclass ``schema`` does not define (suggesting close ones) and
    values of ``Literal`` fields outside their choices."""
    hints = get_type_hints(schema)
    for key, value in node.items():
        if key not in hints:
            raise ConfigError(f"unknown config key {prefix + key!r}{did_you_mean(key, hints, prefix)}")
        hint = hints[key]
        if is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {prefix + key!r} must be a mapping, got {value!r}")
            _check_keys(value, hint, f"{prefix}{key}.")
        elif get_origin(hint) is Literal:
            check_choice(value, get_args(hint), prefix + key)
