"""Validation of head options shared by several heads (one-line ``ConfigError``s)."""

from __future__ import annotations

from collections.abc import Sequence

from wsol import errors
from wsol.errors import ConfigError


def check_choice(value: str, choices: Sequence[str], option: str) -> str:
    """:func:`wsol.errors.check_choice` naming ``model.head.<option>``."""
    return errors.check_choice(value, choices, f"model.head.{option}")


def resolve_stages(stages: Sequence[int], num_stages: int) -> list[int]:
    """Sorted non-negative indices of ``stages`` (negative ones count from the last stage)."""
    if not stages:
        raise ConfigError("model.head.stages: give at least one stage")
    resolved = []
    for stage in stages:
        if not -num_stages <= stage < num_stages:
            raise ConfigError(f"model.head.stages: no stage {stage} in a backbone with {num_stages} stages")
        resolved.append(stage % num_stages)
    if len(set(resolved)) != len(resolved):
        raise ConfigError(f"model.head.stages: {list(stages)} names a stage twice")
    return sorted(resolved)
