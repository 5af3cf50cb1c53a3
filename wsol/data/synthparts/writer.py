"""Write SynthParts to disk in the wsolevaluation layout, cached by the config's hash.

Folder written by :func:`generate` (``<root>/<digest>/`` via :func:`ensure_generated`)::

    config.json                     the generator config and version
    COMPLETE                        marker: written last, before the atomic rename
    images/<split>/<index>.png      the images (image id ``<split>/<index>.png``)
    masks/<split>/<index>_obj<k>.png       instance masks (0/255)
    masks/<split>/<index>_cue.png          cue-part mask, union over instances (0/255)
    masks/<split>/<index>_context.png      context band minus the objects (only with context on)
    masks/ignore_none.png           the all-zero ignore mask every mask line names
    metadata/class_names.txt
    metadata/<split>/               image_ids, class_labels, image_sizes, localization
                                    (boxes), masks, parts, fixations (.txt)
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from wsol.data.synthparts import draw
from wsol.data.synthparts.classes import class_specs
from wsol.data.synthparts.config import SPLITS, SynthPartsConfig
from wsol.data.synthparts.objects import PART_NAMES
from wsol.data.synthparts.scene import Scene, render_scene
from wsol.data.wsoleval_layout import ImageRecord, write_class_names, write_split_metadata
from wsol.errors import DataError

COMPLETE_MARKER = "COMPLETE"
IGNORE_NONE = "ignore_none.png"
WRITTEN_PARTS = ("cue",)  # part masks written to disk (union over instances)
CHUNK_SIZE = 100
PNG_OPTIONS = [cv2.IMWRITE_PNG_COMPRESSION, 3]

log = logging.getLogger(__name__)


def ensure_generated(config: SynthPartsConfig, root: str | os.PathLike, workers: int = 0) -> Path:
    """Return ``<root>/<config.digest()>``, generating it first if it is not complete.

    Generation writes into a temporary folder inside ``root`` that is renamed into place
    once complete, so an interrupted run leaves no half-written dataset behind and
    concurrent runs with the same config agree on one copy.
    """
    final = Path(root) / config.digest()
    if (final / COMPLETE_MARKER).is_file():
        return final
    if final.exists():
        raise DataError(f"SynthParts folder {final} has no {COMPLETE_MARKER} marker; delete it to regenerate")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the dataset is not
        generate(config, tmp, workers)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / COMPLETE_MARKER).is_file():
                raise
            shutil.rmtree(tmp)  # another process finished the same config first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def generate(config: SynthPartsConfig, out: str | os.PathLike, workers: int = 0) -> None:
    """Write every split of ``config`` into the existing, empty folder ``out``.

    ``workers`` processes render the images (0: one per available CPU); the files do not
    depend on it.
    """
    out = Path(out)
    start = time.perf_counter()
    workers = workers or _available_cpus()
    log.info("generating SynthParts (%d images) into %s", sum(config.split_sizes().values()), out)
    (out / "masks").mkdir(parents=True)
    blank = np.zeros((config.image_size, config.image_size), np.uint8)
    cv2.imwrite(os.fspath(out / "masks" / IGNORE_NONE), blank, PNG_OPTIONS)
    write_class_names(out / "metadata", [s.name for s in class_specs(config.num_classes)])
    tasks = [
        (config, split, lo, min(lo + CHUNK_SIZE, n), os.fspath(out))
        for split, n in config.split_sizes().items()
        for lo in range(0, n, CHUNK_SIZE)
    ]
    if workers > 1 and len(tasks) > 1:
        # spawn, not fork: forking a process that already runs torch/OpenCV threads can deadlock
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            min(workers, len(tasks)), mp_context=context, initializer=cv2.setNumThreads, initargs=(1,)
        ) as pool:
            chunks = list(pool.map(_render_chunk, tasks))
    else:
        chunks = [_render_chunk(task) for task in tasks]
    for split in SPLITS:
        records = [r for task, chunk in zip(tasks, chunks, strict=True) if task[1] == split for r in chunk]
        write_split_metadata(out / "metadata" / split, records)
    info = config.identity()
    (out / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    (out / COMPLETE_MARKER).write_text("")
    log.info("generated SynthParts %s in %.1f s with %d workers", out, time.perf_counter() - start, workers)


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _render_chunk(task: tuple[SynthPartsConfig, str, int, int, str]) -> list[ImageRecord]:
    """Render and write images ``lo..hi-1`` of ``split``; return their metadata records."""
    config, split, lo, hi, out = task
    specs = class_specs(config.num_classes)
    grid = draw.pixel_grid(config.image_size)
    width = max(5, len(str(config.split_sizes()[split] - 1)))
    for sub in ("images", "masks"):
        os.makedirs(os.path.join(out, sub, split), exist_ok=True)
    records = []
    for index in range(lo, hi):
        stem = f"{split}/{index:0{width}d}"
        scene = render_scene(config, specs, split, index, grid)
        records.append(_write_scene(scene, stem, Path(out), config.has_context))
    return records


def _write_scene(scene: Scene, stem: str, out: Path, context: bool) -> ImageRecord:
    size = scene.image.shape[0]
    _png(out / "images" / f"{stem}.png", cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
    record = ImageRecord(
        image_id=f"{stem}.png", label=scene.label, size=(size, size), ignore_path=IGNORE_NONE
    )
    for k, parts in enumerate(scene.instances):
        ys, xs = np.nonzero(parts)
        record.boxes.append((int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())))
        record.mask_paths.append(f"{stem}_obj{k}.png")
        _png(out / "masks" / record.mask_paths[-1], parts > 0)
    for name in WRITTEN_PARTS:
        value = PART_NAMES.index(name) + 1
        record.part_paths[name] = f"{stem}_{name}.png"
        _png(
            out / "masks" / record.part_paths[name],
            np.logical_or.reduce([p == value for p in scene.instances]),
        )
    if context:
        record.part_paths["context"] = f"{stem}_context.png"
        _png(out / "masks" / record.part_paths["context"], scene.context)
    record.fixations = [(int(x), int(y), int(o)) for x, y, o in scene.fixations]
    return record


def _png(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as PNG; boolean masks become 0/255."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if not cv2.imwrite(os.fspath(path), array, PNG_OPTIONS):
        raise DataError(f"cannot write {path}")
