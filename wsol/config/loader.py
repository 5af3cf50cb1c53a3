"""Load a run config from YAML plus command-line dot-list overrides.

``load_config("configs/synthparts/cam.yaml", ["optim.lr=0.01"])`` merges, in order:
the schema defaults (:class:`~wsol.config.schema.RunConfig`), the file named by the
YAML's optional ``base:`` key (relative to the YAML, recursively), the YAML itself and
the overrides. A registry spec (``model.head``, ``method``, ...) whose ``name`` changes
is replaced as a whole rather than merged key by key, so options of the old member do
not leak into the new one. Unknown keys and wrong types raise :class:`ConfigError`
naming the key, with close matches.
"""

from __future__ import annotations

import copy
import os
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from wsol.config.schema import RunConfig
from wsol.errors import ConfigError, did_you_mean

SPEC_KEYS = ("data.dataset", "model.head", "method", "eval.explainer")


def load_config(
    path: str | os.PathLike | None = None,
    overrides: list[str] | None = None,
    base: dict[str, Any] | None = None,
) -> RunConfig:
    """Return the resolved, validated :class:`RunConfig`.

    ``base`` (e.g. the config stored in a checkpoint) is merged first, then the YAML
    chain of ``path``, then ``overrides``.
    """
    merged: dict[str, Any] = {}
    for layer in [base or {}, *(_yaml_chain(Path(path)) if path else [])]:
        _merge_into(merged, copy.deepcopy(layer))
    _merge_into(merged, _parse_overrides(overrides or []))
    return _validate(merged)


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
    return [*chain, data]


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
    return OmegaConf.to_object(cfg)


def _check_keys(node: dict[str, Any], schema: type, prefix: str) -> None:
    """Reject keys the dataclass ``schema`` does not define, suggesting close ones."""
    known = {f.name: f for f in fields(schema)}
    for key, value in node.items():
        if key not in known:
            raise ConfigError(f"unknown config key {prefix + key!r}{did_you_mean(key, known, prefix)}")
        sub = _dataclass_type(schema, key)
        if sub is not None:
            if not isinstance(value, dict):
                raise ConfigError(f"config key {prefix + key!r} must be a mapping, got {value!r}")
            _check_keys(value, sub, f"{prefix}{key}.")


def _dataclass_type(schema: type, name: str) -> type | None:
    default = next(f for f in fields(schema) if f.name == name).default_factory
    try:
        value = default()
    except TypeError:
        return None
    return type(value) if is_dataclass(value) else None
