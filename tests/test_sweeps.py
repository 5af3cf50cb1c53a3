"""configs/sweeps/*.yaml: every parameter is a valid wsol config key, formatted as the W&B agent does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

from wsol.config import load_config, to_dict
from wsol.keys import HEADLINE
from wsol.methods import METHODS

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))
MACRO_ARGS = "${args_no_hyphens}"


def first_value(spec: dict):
    """The first value a parameter can take: ``value``, ``values[0]`` or the distribution's ``min``."""
    for key in ("value", "values", "min"):
        if key in spec:
            return spec[key][0] if key == "values" else spec[key]
    raise AssertionError(f"parameter without value, values or min: {spec}")


def agent_command(sweep: dict, params: dict) -> list[str]:
    """The argument list the W&B agent builds for ``params``, after ``${program}``."""
    command = sweep["command"]
    program = command.index("${program}")
    formatted = create_sweep_command_args({"args": {k: {"value": v} for k, v in params.items()}})
    args = []
    for item in command[program + 1 :]:
        args += formatted["args_no_hyphens"] if item == MACRO_ARGS else [item]
    return args


def nested(tree: dict, dotted: str):
    for part in dotted.split("."):
        tree = tree[part]
    return tree


def test_each_sweep_tunes_the_config_of_its_name():
    assert SWEEPS, "no sweep files in configs/sweeps"
    for path in SWEEPS:
        configs = [a for a in yaml.safe_load(path.read_text())["command"] if a.endswith(".yaml")]
        assert [Path(c).stem for c in configs] == [path.stem], f"{path.name} runs {configs}"


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_sweep_parameters_are_config_keys(path, monkeypatch):
    monkeypatch.setenv("WANDB_RUN_ID", "abc123")
    sweep = yaml.safe_load(path.read_text())
    assert (ROOT / sweep["program"]).is_file()
    assert sweep["metric"]["name"] in {f"val/{key}" for key, _ in HEADLINE}
    assert MACRO_ARGS in sweep["command"]
    params = {name: first_value(spec) for name, spec in sweep["parameters"].items()}
    args = [a for a in agent_command(sweep, params) if not a.startswith("--")]
    config, overrides = ROOT / args[0], args[1:]
    assert config.is_file(), config
    cfg = load_config(config, overrides)
    assert cfg.name == f"sweeps/{path.stem}/abc123"  # one run directory per trial
    resolved = to_dict(cfg)
    for name, value in params.items():
        assert nested(resolved, name) == value, name
    METHODS.build(cfg.method, key="method")  # method options are checked against the method
