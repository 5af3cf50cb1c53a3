"""What a run prints: the end-of-run summary table and one line per epoch."""

from __future__ import annotations

from typing import Any

from wsol import keys
from wsol.config import RunConfig
from wsol.keys import DIAGNOSTIC_PREFIX, HEADLINE


def format_summary(cfg: RunConfig, results: dict[str, Any], splits: tuple[str, ...] = ("val", "test")) -> str:
    """A plain-text table of the headline numbers per split, then the diagnostic."""
    present = [(k, label) for k, label in HEADLINE if any(f"{s}/{k}" in results for s in splits)]
    lines = [
        f"== {cfg.name}: {cfg.model.backbone.name} + {cfg.model.head.get('name')} "
        f"({cfg.method.get('name')}) on {cfg.data.dataset.get('name')} =="
    ]
    lines.append(f"{'metric':<20}" + "".join(f"{s:>12}" for s in splits))
    for key, label in present:
        lines.append(f"{label:<20}" + "".join(_cell(results.get(f"{s}/{key}")) for s in splits))
    diagnostic = sorted(
        {k.split("/", 1)[1] for k in results if k.split("/", 1)[-1].startswith(DIAGNOSTIC_PREFIX)}
    )
    if diagnostic:
        lines.append("partial highlighting (share of heatmap mass; area ratio for comparison):")
        for key in diagnostic:
            lines.append(
                f"  {key[len(DIAGNOSTIC_PREFIX) :]:<18}"
                + "".join(_cell(results.get(f"{s}/{key}")) for s in splits)
            )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return f"{value:>12.4g}" if isinstance(value, (int, float)) else f"{'-':>12}"


def epoch_line(record: dict[str, Any]) -> str:
    """One line per epoch: loss, lr and the headline validation numbers present."""
    names = [keys.TRAIN_LOSS, keys.TRAIN_TOP1, keys.LR] + [keys.split_key("val", k) for k, _ in HEADLINE]
    names.append(keys.split_key("val", keys.PARTIAL_HIGHLIGHTING_INDEX))
    parts = [f"epoch {record[keys.EPOCH]}"] + [f"{k} {record[k]:.4g}" for k in names if k in record]
    return "  ".join(parts)
