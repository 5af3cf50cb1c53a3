"""Class-agnostic maps of a folder of unlabelled photos (``tools/eval_loc.py folder``).

The maps go to ``<out>/<image name without extension>.npy``: float32, resized to
``eval.resolution`` squared (bilinear) and min-max normalised to [0, 1], the layout
``tools/eval_loc.py scoremaps`` reads. With no labels, each image's map is that of its
predicted class (class-agnostic methods such as ``pc1`` ignore the class).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from wsol.checkpoints.loading import load_model
from wsol.config import RunConfig, load_config
from wsol.data.loaders import build_dataset, build_loader
from wsol.errors import ConfigError
from wsol.evaluation.maps import MapSource
from wsol.methods import METHODS
from wsol.methods.localizer import Localizer
from wsol.models.wsol_model import build_model
from wsol.utils.distributed import dist_info


@dataclass
class FolderMaps:
    """Maps of every image in ``folder`` from ``source``: a wsol checkpoint (``.pth``) or a
    config (``.yaml``, e.g. a pretrained backbone with method ``pc1``), written to ``out_dir``."""

    source: Path
    folder: Path
    overrides: Sequence[str] = ()
    baseline: str | None = None
    out_dir: Path = Path("maps")
    progress: bool = True


def write_folder_maps(job: FolderMaps) -> list[Path]:
    """Write one ``.npy`` map per image of ``job.folder``; return their paths.

    From a config, the model is built with its pretrained weights and a method with a
    ``fit`` (PC1 family) fits its statistics on the folder's own images first (DDT's
    co-localization setting: no labels are used).
    """
    localizer, cfg = _localizer(job.source, list(job.overrides))
    cfg.data.dataset = {"name": "folder", "root": str(job.folder)}
    dataset = build_dataset(cfg, "all", train=False)
    loader = build_loader(dataset, cfg, False, dist_info())
    if job.source.suffix in (".yaml", ".yml") and hasattr(localizer.method, "fit"):
        localizer.method.fit(localizer.model, (batch["image"] for batch in loader))
    source = MapSource(localizer.model, localizer.method, baseline=job.baseline)
    map_fn = source.map_fn("none", torch.device("cpu"))
    job.out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for batch in tqdm(loader, desc="maps", disable=not job.progress, leave=False):
        logits, _ = localizer(batch["image"])
        _, maps = map_fn(batch["image"], logits.argmax(1))
        for index, smap in zip(batch["index"], _as_scoremaps(maps, cfg.eval.resolution), strict=True):
            path = job.out_dir / f"{Path(dataset.image_ids[int(index)]).stem}.npy"
            np.save(path, smap)
            written.append(path)
    return written


def _localizer(source: Path, overrides: list[str]) -> tuple[Localizer, RunConfig]:
    if source.suffix == ".pth":
        localizer = load_model(source, overrides)
        return localizer, load_config(None, overrides, base=localizer.config)
    if source.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"{source}: expected a wsol checkpoint (.pth) or a config (.yaml)")
    cfg = load_config(source, overrides)
    model = build_model(cfg.model, num_classes=1)
    method = METHODS.build(cfg.method, key="method")
    method.setup(model)
    return Localizer(model, method, 1).eval(), cfg


def _as_scoremaps(maps: torch.Tensor, resolution: int) -> np.ndarray:
    """``(B, resolution, resolution)`` float32 maps, each min-max normalised (constant -> 0)."""
    resized = F.interpolate(maps[:, None].float(), size=(resolution, resolution), mode="bilinear")[:, 0]
    low = resized.amin((1, 2), keepdim=True)
    span = resized.amax((1, 2), keepdim=True) - low
    return torch.where(span > 0, (resized - low) / span.clamp_min(1e-12), 0.0).numpy().astype(np.float32)
