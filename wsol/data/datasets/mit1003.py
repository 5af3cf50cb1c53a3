"""MIT1003 (Judd et al., ICCV 2009): 1003 images, eye fixations of 15 viewers (free viewing, 3 s).

Layout of the public release::

    <root>/ALLSTIMULI/<name>.jpeg
    <root>/ALLFIXATIONMAPS/<name>_fixMap.jpg    # continuous fixation map (8-bit JPEG)
    <root>/ALLFIXATIONMAPS/<name>_fixPts.jpg    # fixated pixels at 255 on 0 (8-bit JPEG)

``fixations`` are the 0-based ``(x, y)`` of the ``_fixPts`` pixels above
``points_threshold`` (the map is JPEG-compressed, so its zeros and 255s are not exact;
128 separates them). Repeated fixations on one pixel count once, as in the binary
maps the MIT benchmark scores against. ``fixation_map`` is ``_fixMap`` / 255. The
maps are in the frame of the stored pixels (MATLAB ignores EXIF orientation), so the
image is read unrotated when its EXIF orientation would disagree with them.

MIT1003 has no official split: ``split="all"`` is every stimulus; another split
reads the stimulus names (with or without extension) from ``<root>/<split>.txt``.
Images have label 0 of the single class ``"image"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import (
    AnnotatedDataset,
    OutOfFrame,
    check_map_size,
    list_images,
    points_of,
    read_split_list,
    require,
)
from wsol.data.datasets.salicon import FIXATION_CLASS
from wsol.data.image_io import read_image_size, read_map
from wsol.data.sample import Sample
from wsol.errors import DataError


@DATASETS.register("mit1003")
class MIT1003Dataset(AnnotatedDataset):
    """MIT1003 stimuli with fixation points and continuous fixation maps.

    Args:
        root: folder holding ``ALLSTIMULI`` and ``ALLFIXATIONMAPS``.
        split: ``"all"`` or the name of a list file ``<root>/<split>.txt``.
        points_threshold: ``_fixPts`` values above this are fixations (0..255).
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str,
        split: str = "all",
        points_threshold: int = 128,
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        super().__init__(f"mit1003/{split}", skip_bad_samples, out_of_frame)
        self.root = require(root, "dataset root")
        self.stimuli = require(self.root / "ALLSTIMULI", "stimulus folder")
        self.maps = require(self.root / "ALLFIXATIONMAPS", "fixation map folder")
        self.points_threshold = points_threshold
        names = read_split_list(self.root, split, list_images(self.stimuli))
        self.image_ids = self.keep_valid(names, self._check)
        self.class_names = [FIXATION_CLASS]
        self.ground_truth = frozenset({"fixations"})
        self.log_summary()

    def _map_path(self, name: str, kind: str) -> Path:
        return self.maps / f"{Path(name).stem}_{kind}.jpg"

    def _check(self, name: str) -> None:
        require(self._map_path(name, "fixPts"), "fixation points map")

    def image_path(self, index: int) -> Path:
        return self.stimuli / self.image_ids[index]

    def annotated_size(self, index: int) -> tuple[int, int]:
        return read_image_size(self._map_path(self.image_ids[index], "fixPts"), exif=False)

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        name = self.image_ids[index]
        pts_path = self._map_path(name, "fixPts")
        points = points_of(check_map_size(read_map(pts_path), size, pts_path, name) > self.points_threshold)
        if len(points) == 0:
            raise DataError(f"{pts_path}: no pixel above {self.points_threshold}, i.e. no fixation")
        sample = Sample(name, image, 0, size=size, fixations=points)
        map_path = self._map_path(name, "fixMap")
        if map_path.is_file():
            sample.fixation_map = check_map_size(read_map(map_path), size, map_path, name) / 255.0
        return sample
