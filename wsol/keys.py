"""Result keys: the one owner of the names every producer and consumer of results uses.

Metrics return flat dicts with lowercase snake-case keys (``maxboxacc_v2``, ``pxap``, ...);
an evaluated split prefixes them with ``<split>/`` (``val/pxap``, ``test/top1``). The
summary table, the W&B definitions, ``tools/compare.py`` and ``benchmarks/results.py``
read the same names from here, so a key renamed in a metric is renamed everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Classification and counts of an evaluated split (wsol.evaluation.loop).
TOP1 = "top1"
NUM_IMAGES = "num_images"

# Threshold carried from val to test (wsol.evaluation.protocol).
VAL_THRESHOLD = "val_threshold"
GT_KNOWN_LOC = "gt_known_loc"
TOP1_LOC = "top1_loc"

# Headline numbers, in display order: (result key, label).
HEADLINE = (
    (TOP1, "top-1 cls (%)"),
    ("maxboxacc_v2", "MaxBoxAccV2 (%)"),
    ("maxboxacc", "MaxBoxAcc (%)"),
    (TOP1_LOC, "top-1 loc (%)"),
    (GT_KNOWN_LOC, "GT-known loc (%)"),
    ("pxap", "PxAP (%)"),
    ("piou", "pIoU (%)"),
    ("auc_judd", "AUC-Judd"),
    ("nss", "NSS"),
    ("peak_in_part/part_rate", "peak in part (%)"),
)
HEADLINE_LABELS = dict(HEADLINE)

# The partial-highlighting diagnostic's keys start with this.
DIAGNOSTIC_PREFIX = "partial/"
PARTIAL_HIGHLIGHTING_INDEX = f"{DIAGNOSTIC_PREFIX}partial_highlighting_index"
# The context-bias diagnostic's keys start with this.
CONTEXT_PREFIX = "context/"


def box_curve(mode: str, iou: int | str) -> str:
    """Box accuracy against the threshold for contour ``mode`` (``multi``, ``single``) at IoU ``iou`` (%)."""
    return f"curve_{mode}_iou{iou}"


# Curves (arrays) in results: the shared x axis and the y keys (or their regexes).
THRESHOLDS = "thresholds"
CURVE_BOX_MULTI = box_curve("multi", r"(\d+)")
CURVE_BOX_SINGLE = box_curve("single", r"(\d+)")
CURVE_PRECISION = "curve_precision"
CURVE_RECALL = "curve_recall"
CURVE_PIOU = "curve_piou"
PIOU_THRESHOLD = "best_threshold_piou"

# Keys of a training run's summary and per-epoch records.
EPOCH = "epoch"
LR = "lr"
TRAIN_LOSS = "train/loss"
TRAIN_TOP1 = "train/top1"
TRAIN_SECONDS = "train/seconds"
BEST_EPOCH = "best_epoch"
CASCADE_STAGES = "cascade/stages"


def cascade_erased_top1(stage: int) -> str:
    """Top-1 (%) of cascade stage ``stage`` on the validation images erased by the stages before it."""
    return f"cascade/stage_{stage}/erased_top1"


def selection_key(ground_truth: frozenset[str]) -> str:
    """Validation number that picks the best epoch: box accuracy, else PxAP, else top-1."""
    if "boxes" in ground_truth:
        return "maxboxacc_v2"
    if "masks" in ground_truth:
        return "pxap"
    return TOP1


def split_key(split: str, key: str) -> str:
    """``<split>/<key>``: how an evaluated split's result is named in flat results."""
    return f"{split}/{key}"


def prefixed(split: str, results: Mapping[str, Any]) -> dict[str, Any]:
    """``results`` with every key named :func:`split_key` ``(split, key)``."""
    return {split_key(split, k): v for k, v in results.items()}
