"""CAT2000 (Borji & Itti, 2015): 20 scene categories, eye fixations of 24 viewers (5 s).

Layout of the public training set (``trainSet.zip``; the test set has no public
fixations)::

    <root>/trainSet/Stimuli/<Category>/<nnn>.jpg
    <root>/trainSet/FIXATIONMAPS/<Category>/<nnn>.jpg   # continuous map (8-bit)
    <root>/trainSet/FIXATIONLOCS/<Category>/<nnn>.mat   # variable 'fixLocs': binary map

``<root>`` may also be the ``trainSet`` folder itself. Only image files directly in a
category folder are stimuli (the release has extra sub-folders such as ``Output``).
``fixations`` are the 0-based ``(x, y)`` of the nonzero ``fixLocs`` pixels (repeats
count once); ``fixation_map`` is the ``FIXATIONMAPS`` image / 255. Both are in the
frame of the stored pixels (MATLAB ignores EXIF orientation; one CAT2000 stimulus is
known to carry a wrong EXIF rotation), so images are read unrotated when their EXIF
orientation would disagree with ``fixLocs``. Labels are the categories, in sorted
order; image ids are ``<Category>/<nnn>.jpg``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import (
    AnnotatedDataset,
    OutOfFrame,
    check_map_size,
    list_images,
    points_of,
    require,
)
from wsol.data.image_io import read_map
from wsol.data.sample import Sample
from wsol.errors import DataError, did_you_mean

FIXLOCS_KEY = "fixLocs"


@DATASETS.register("cat2000")
class CAT2000Dataset(AnnotatedDataset):
    """CAT2000 training set: fixation points, fixation maps, category labels.

    Args:
        root: folder holding ``trainSet`` (or the ``trainSet`` folder).
        split: ``"train"``, the only split with public fixations.
        categories: category names to keep (default: all, sorted).
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str,
        split: str = "train",
        categories: list[str] | None = None,
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        super().__init__(f"cat2000/{split}", skip_bad_samples, out_of_frame)
        if split != "train":
            raise DataError(f"CAT2000 split {split!r} has no public fixations; use split 'train'")
        base = require(root, "dataset root")
        self.base = base / "trainSet" if (base / "trainSet").is_dir() else base
        stimuli = require(self.base / "Stimuli", "stimulus folder")
        found = sorted(p.name for p in stimuli.iterdir() if p.is_dir())
        for name in categories or []:
            if name not in found:
                raise DataError(f"{stimuli}: no category {name!r}{did_you_mean(name, found)}")
        self.class_names = list(categories) if categories else found
        ids = [f"{c}/{n}" for c in self.class_names for n in list_images(stimuli / c)]
        self.image_ids = self.keep_valid(ids, lambda i: require(self._locs_path(i), "fixation locations"))
        self.ground_truth = frozenset({"fixations"})
        self._cache: tuple[int, np.ndarray] | None = None
        self.log_summary()

    def _locs_path(self, image_id: str) -> Path:
        return (self.base / "FIXATIONLOCS" / image_id).with_suffix(".mat")

    def _fix_locs(self, index: int) -> np.ndarray:
        if self._cache is None or self._cache[0] != index:
            path = self._locs_path(self.image_ids[index])
            try:
                data = loadmat(path)
            except (OSError, ValueError, TypeError, MatReadError) as err:
                raise DataError(f"cannot read {path}: {err}") from None
            if FIXLOCS_KEY not in data:
                keys = [k for k in data if not k.startswith("__")]
                raise DataError(f"{path}: no variable {FIXLOCS_KEY!r} (has {keys})")
            self._cache = (index, np.asarray(data[FIXLOCS_KEY]))
        return self._cache[1]

    def image_path(self, index: int) -> Path:
        return self.base / "Stimuli" / self.image_ids[index]

    def annotated_size(self, index: int) -> tuple[int, int]:
        height, width = self._fix_locs(index).shape[:2]
        return width, height

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        image_id = self.image_ids[index]
        locs = check_map_size(self._fix_locs(index), size, self._locs_path(image_id), image_id)
        points = points_of(locs != 0)
        if len(points) == 0:
            raise DataError(f"{self._locs_path(image_id)}: no fixation")
        label = self.class_names.index(image_id.split("/")[0])
        sample = Sample(image_id, image, label, size=size, fixations=points)
        map_path = self.base / "FIXATIONMAPS" / image_id
        if map_path.is_file():
            sample.fixation_map = check_map_size(read_map(map_path), size, map_path, image_id) / 255.0
        return sample
