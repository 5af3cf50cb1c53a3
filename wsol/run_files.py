"""Where a run's files live: one owner of the layout that training writes and evaluation and reports read.

``<output_dir>/<name>/`` holds ``config.yaml``, ``checkpoints/`` (``epoch_NNNN.pth``,
``best.pth``), ``metrics.jsonl``, ``summary.json`` and the evaluation folder ``eval/``
(``metrics.json``, ``per_image.csv``, ``overlays.png``, ``overlays/`` with ``index.json``,
``curves.png``). A cascade's stage ``k`` is the run ``<name>/stage_<k>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from wsol.errors import ConfigError

# The evaluation folder.
METRICS = "metrics.json"  # every number and curve, keys "<split>/<result key>"
PER_IMAGE = "per_image.csv"  # one row per test image
OVERLAYS = "overlays.png"  # grid of heatmap overlays
OVERLAY_DIR = "overlays"  # the same overlays one PNG per image ...
OVERLAY_INDEX = "index.json"  # ... and image id -> file name
CURVES_PNG = "curves.png"  # threshold curves

# The run folder.
CONFIG = "config.yaml"
SUMMARY = "summary.json"
EPOCH_LOG = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
BEST = "best.pth"
EVAL = "eval"
STAGE = re.compile(r"^stage_(\d+)$")


@dataclass(frozen=True)
class RunDir:
    """The folder of one run (or one cascade stage)."""

    root: Path

    @classmethod
    def of(cls, output_dir: str | Path, name: str) -> RunDir:
        return cls(Path(output_dir) / name)

    @classmethod
    def of_checkpoint(cls, checkpoint: Path) -> RunDir:
        """The run a checkpoint file ``<run>/checkpoints/<file>.pth`` belongs to."""
        return cls(Path(checkpoint).parent.parent)

    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY

    @property
    def epoch_log(self) -> Path:
        return self.root / EPOCH_LOG

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def eval_dir(self) -> Path:
        return self.root / EVAL

    def stage(self, k: int) -> RunDir:
        """Stage ``k`` of a cascade run."""
        return RunDir(self.root / f"stage_{k}")

    def stage_index(self) -> int | None:
        """``k`` if this is stage ``k`` of a cascade (``.../stage_<k>``), else None."""
        match = STAGE.match(self.root.name)
        return int(match.group(1)) if match else None

    def stages(self) -> list[RunDir]:
        """The stage folders of a cascade run, in stage order (empty for a plain run)."""
        found = [(RunDir(p).stage_index(), RunDir(p)) for p in self.root.glob("stage_*") if p.is_dir()]
        return [run for k, run in sorted((k, r) for k, r in found if k is not None)]


def refuse_to_overwrite(folder: Path, overwrite: bool) -> None:
    """A :class:`~wsol.errors.ConfigError` if ``folder`` already holds evaluation results
    (``metrics.json``) and ``overwrite`` is false: evaluations never replace earlier ones
    unless asked to."""
    if not overwrite and (Path(folder) / METRICS).exists():
        raise ConfigError(
            f"{folder} already holds evaluation results ({METRICS}); "
            "choose another folder with --out DIR or pass --overwrite to replace them"
        )
