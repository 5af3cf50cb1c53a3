"""Everything an evaluation leaves behind: files, figures and, when tracked, W&B media.

Into the evaluation folder (``<run>/eval`` by default) go

* ``metrics.json``: every number and curve of both splits (``val/...``, ``test/...``);
* ``per_image.csv``: per test image its label, predicted class and per-image metrics;
* the pictures of :func:`wsol.report.figures.save_figures`;

and, when the run tracks to W&B, the same pictures as W&B media (:mod:`wsol.report.wandb_media`).
"""

from __future__ import annotations

from pathlib import Path

from wsol.report.figures import EvalReport, save_figures
from wsol.report.files import write_outputs
from wsol.report.tracking import RunTracker
from wsol.report.wandb_media import log_evaluation


def write_evaluation(report: EvalReport, run_name: str, out_dir: Path, tracker: RunTracker) -> None:
    """Write ``report`` into ``out_dir`` and log its media to ``tracker``."""
    write_outputs(run_name, report.results, report.rows, out_dir)
    save_figures(report, out_dir)
    log_evaluation(tracker, report)
