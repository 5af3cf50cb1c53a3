"""Run tracking: W&B (offline unless told otherwise) and local files, from rank 0 only.

Every scalar logged also lands in the run directory: ``metrics.jsonl`` (one JSON object
per ``log`` call) and ``summary.json`` (the final numbers), so runs can be compared
without W&B (``tools/compare.py``); pictures are PNG files beside them
(:mod:`wsol.report.figures`).

W&B conventions, the same for every method: group ``<dataset>/<backbone>``, job type
``train`` / ``eval`` / ``cascade``, tags method, head, backbone and dataset; per-epoch keys
``train/*``, ``val/*`` and ``lr`` against the step metric ``epoch``, the headline
accuracies (:data:`wsol.keys.HEADLINE`) summarised by their maximum; the final
``val/*`` and ``test/*`` numbers in the run summary; the best checkpoint as a ``model``
artifact.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from wsol.config import RunConfig, to_dict
from wsol.keys import HEADLINE
from wsol.utils.atomic import atomic_write_text

WANDB_DIR_VARIABLES = ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR")


class RunTracker:
    """Logs scalars to W&B and ``metrics.jsonl``; the final summary to both.

    W&B is used when ``cfg.wandb.enabled`` and the resolved mode is not ``disabled``.
    The mode is the ``WANDB_MODE`` environment variable if set, else ``cfg.wandb.mode``
    (default ``offline``). W&B's own directories default to ``<run_dir>/wandb`` so a run
    writes nothing outside its directory.
    """

    def __init__(
        self, cfg: RunConfig, run_dir: Path, job_type: str | None = None, enabled: bool = True
    ) -> None:
        self.run_dir = run_dir
        self.enabled = enabled
        self.wandb_run = None
        if not enabled:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        mode = os.environ.get("WANDB_MODE", cfg.wandb.mode)
        if cfg.wandb.enabled and mode != "disabled":
            self.wandb_run = _init_wandb(cfg, run_dir, mode, job_type or cfg.wandb.job_type)

    def log(self, metrics: dict[str, Any], step: int | None = None) -> None:
        if not self.enabled:
            return
        record = {k: _plain(v) for k, v in metrics.items()}
        if step is not None:
            record["step"] = step
        with open(self.run_dir / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.wandb_run is not None:
            self.wandb_run.log(metrics, step=step)

    def summary(self, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        path = self.run_dir / "summary.json"
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing.update({k: _plain(v) for k, v in metrics.items()})
        atomic_write_text(path, json.dumps(existing, indent=2, sort_keys=True))
        if self.wandb_run is not None:
            self.wandb_run.summary.update(metrics)

    def log_media(self, media: dict[str, Any]) -> None:
        """Log W&B media (images, tables, plots); nothing without W&B (the PNG files are the record)."""
        if self.wandb_run is not None:
            self.wandb_run.log(media)

    def log_checkpoint(self, path: Path, aliases: list[str], metadata: dict[str, Any]) -> None:
        """Log ``path`` as a ``model`` artifact ``model-<run name>`` (offline: recorded, not copied).

        The file is added in place (W&B's ``immutable`` policy): ``wandb sync`` uploads
        it from ``path`` later, so it must not change before then.
        """
        if self.wandb_run is None:
            return
        import wandb

        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"model-{self.wandb_run.name}")
        artifact = wandb.Artifact(name, type="model", metadata={k: _plain(v) for k, v in metadata.items()})
        artifact.add_file(str(path), policy="immutable")
        self.wandb_run.log_artifact(artifact, aliases=aliases)

    def finish(self) -> None:
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None


def _init_wandb(cfg: RunConfig, run_dir: Path, mode: str, job_type: str):
    import wandb

    for var in WANDB_DIR_VARIABLES:
        os.environ.setdefault(var, str(run_dir / "wandb"))
    dataset = cfg.data.dataset.get("name", "dataset")
    tags = sorted(
        {
            *cfg.wandb.tags,
            cfg.method.get("name", ""),
            cfg.model.head.get("name", ""),
            cfg.model.backbone.name,
            dataset,
        }
        - {""}
    )
    run = wandb.init(
        project=cfg.wandb.project,
        entity=cfg.wandb.entity,
        name=cfg.name,
        group=cfg.wandb.group or f"{dataset}/{cfg.model.backbone.name}",
        job_type=job_type,
        tags=tags,
        config=to_dict(cfg),
        dir=str(run_dir),
        mode=mode,
        reinit="finish_previous",
    )
    _define_metrics(run)
    return run


def _define_metrics(run) -> None:
    """Per-epoch keys against ``epoch``; headline validation accuracies summarised by their max."""
    run.define_metric("epoch")
    for pattern in ("train/*", "val/*", "lr"):
        run.define_metric(pattern, step_metric="epoch")
    for key, _ in HEADLINE:
        run.define_metric(f"val/{key}", step_metric="epoch", summary="max")


def _plain(value: Any) -> Any:
    """JSON-safe value: numpy/torch scalars to floats, NaN kept as None-free 'NaN'."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
