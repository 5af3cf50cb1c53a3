"""Oxford-IIIT Pet in the COCO layout of the LTSACH/AILearningHub sample (breeds, animal masks, head boxes).

Layout (as shipped by that sample; options override the paths)::

    <root>/data/sample_annotations/coco/annotations/instances_sample.json
    <root>/data/sample_images/{cats,dogs}/<Breed>_<n>.jpg

The COCO file has one category ``pet`` and one annotation per image whose ``bbox`` is
Oxford's HEAD box and whose polygon is the WHOLE animal. This dataset re-reads it
through :class:`~wsol.data.datasets.coco.COCODataset` and turns it into WSOL samples:

* **Label**: the breed (``images[].breed``, else the file-name prefix before the last
  ``_``), indexed in sorted order of the breed names (37 in the full set).
* **Split**: per breed the images sorted by file name; the first ``6/10`` go to
  ``train``, the next ``2/10`` to ``val``, the rest to ``test`` (6/2/2 for 10 images per
  breed; ``round`` of the fractions for other counts). ``all`` keeps every image.
* **Object**: ``mask`` is the rasterised polygon (pycocotools), ``boxes`` its bounding box
  ``[min x, min y, max x, max y]`` of the polygon vertices, taken as inclusive pixel
  coordinates. The COCO ``bbox`` is NOT used as the object box.
* **Head**: the head box is kept as ``part_masks["cue"]`` (a filled box mask, the
  discriminative part of a breed classifier), so the ``parts`` metrics
  (``partial_highlighting``, ``peak_in_part``) measure the head without options.

``ground_truth`` is ``{"boxes", "masks", "parts"}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import OutOfFrame
from wsol.data.datasets.coco import COCODataset
from wsol.data.sample import Sample
from wsol.errors import ConfigError, DataError

ANNOTATION_FILE = Path("data/sample_annotations/coco/annotations/instances_sample.json")
IMAGE_DIR = Path("data/sample_images")
SPLIT_FRACTIONS = {"train": (0.0, 0.6), "val": (0.6, 0.8), "test": (0.8, 1.0), "all": (0.0, 1.0)}
HOW_TO_GET = (
    "get the Oxford-IIIT Pet sample (github.com/LTSACH/AILearningHub, datasets/oxford-pets/) "
    "and point data.dataset.root=... at the folder holding data/sample_annotations"
)


@DATASETS.register("pets")
class PetsDataset(COCODataset):
    """Oxford-IIIT Pet sample: breed labels, whole-animal box and mask, head box as the cue part.

    Args:
        root: the sample's folder (the one holding ``data/``).
        split: ``train``, ``val``, ``test`` (6/2/2 per breed, see the module docstring) or ``all``.
        annotation_file: COCO JSON (default ``<root>/`` + ``ANNOTATION_FILE``).
        image_dir: image folder (default ``<root>/data/sample_images``).
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str = "data/oxford-pets-sample",
        split: str = "train",
        annotation_file: str | None = None,
        image_dir: str | None = None,
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        if split not in SPLIT_FRACTIONS:
            raise ConfigError(f"data.dataset.split: pets has splits {sorted(SPLIT_FRACTIONS)}, got {split!r}")
        ann = Path(annotation_file) if annotation_file else Path(root) / ANNOTATION_FILE
        if not ann.is_file():
            raise DataError(f"pets annotation file not found: {ann}; {HOW_TO_GET}")
        super().__init__(
            root,
            "sample",
            annotation_file=str(ann),
            image_dir=image_dir or str(Path(root) / IMAGE_DIR),
            skip_bad_samples=skip_bad_samples,
            out_of_frame=out_of_frame,
        )
        self.problems.name = f"pets/{split}"
        breeds = {r.image_id: self._breed(r.image_id) for r in self.records}
        self.class_names = sorted(set(breeds.values()))
        self.breed_index = {r.image_id: self.class_names.index(breeds[r.image_id]) for r in self.records}
        self.records = select_split(self.records, [breeds[r.image_id] for r in self.records], split)
        self.image_ids = [str(r.image_id) for r in self.records]
        self.ground_truth = frozenset({"boxes", "masks", "parts"})

    def _breed(self, image_id: int) -> str:
        info = self.coco.imgs[image_id]
        breed = info.get("breed") or Path(info["file_name"]).stem.rsplit("_", 1)[0]
        if not breed:
            raise DataError(f"{info['file_name']}: no breed (image id {image_id})")
        return str(breed)

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        sample = super().make_sample(index, image, size)
        record = self.records[index]
        label = self.breed_index[record.image_id]
        sample.label, sample.labels = label, [label]
        sample.part_masks = {"cue": box_mask(sample.boxes, record.size)}
        where = str(record.path)
        sample.boxes = self.fit_boxes(polygon_bounds(record.objects, where), size, where)
        return sample


def select_split(records: list, breeds: list[str], split: str) -> list:
    """Per breed, records sorted by image path; the ``SPLIT_FRACTIONS[split]`` slice of each."""
    start, stop = SPLIT_FRACTIONS[split]
    chosen = []
    for breed in sorted(set(breeds)):
        members = (r for r, b in zip(records, breeds, strict=True) if b == breed)
        group = sorted(members, key=lambda r: r.path.name)
        n = len(group)
        chosen += group[round(start * n) : round(stop * n)]
    return chosen


def polygon_bounds(annotations: list[dict], where: str) -> np.ndarray:
    """``(1, 4)`` inclusive ``[min x, min y, max x, max y]`` of all polygon vertices."""
    coords = [
        np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        for ann in annotations
        for poly in (ann.get("segmentation") if isinstance(ann.get("segmentation"), list) else [])
    ]
    if not coords:
        raise DataError(f"{where}: no polygon segmentation for the whole-animal box")
    points = np.concatenate(coords)
    return np.concatenate([points.min(0), points.max(0)])[None]


def box_mask(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` uint8 mask, 1 inside any of the inclusive ``boxes`` (rounded to pixels)."""
    mask = np.zeros((size[1], size[0]), dtype=np.uint8)
    for x0, y0, x1, y1 in np.rint(np.asarray(boxes).reshape(-1, 4)).astype(int):
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    return mask
