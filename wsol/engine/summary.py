"""The end-of-run summary printed by ``tools/train.py`` and ``tools/eval_loc.py``."""

from __future__ import annotations

from typing import Any

from wsol.config import RunConfig

# Headline numbers, in display order: (result key, label).
HEADLINE = (
    ("top1", "top-1 cls (%)"),
    ("maxboxacc_v2", "MaxBoxAccV2 (%)"),
    ("maxboxacc", "MaxBoxAcc (%)"),
    ("top1_loc", "top-1 loc (%)"),
    ("gt_known_loc", "GT-known loc (%)"),
    ("pxap", "PxAP (%)"),
    ("piou", "pIoU (%)"),
    ("auc_judd", "AUC-Judd"),
    ("nss", "NSS"),
    ("peak_in_part/part_rate", "peak in part (%)"),
)
DIAGNOSTIC_PREFIX = "partial/"


def selection_key(ground_truth: frozenset[str]) -> str:
    """Validation number that picks the best epoch: box accuracy, else PxAP, else top-1."""
    if "boxes" in ground_truth:
        return "maxboxacc_v2"
    if "masks" in ground_truth:
        return "pxap"
    return "top1"


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
