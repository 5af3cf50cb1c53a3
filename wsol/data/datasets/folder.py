"""Unlabelled images in one folder: class-agnostic maps with nothing to score them against.

Layout::

    <root>/*.jpg|*.png|...        # the images (not sub-folders)
    <root>/<split>.txt            # optional: names (or stems) of the split's images, one per line

``split="all"`` is every image directly inside ``<root>`` in sorted order; another split
reads its names from ``<root>/<split>.txt``. Every image has label 0 of the single class
``"image"`` and no ground truth, so evaluation computes no metric: the folder is for
writing maps (``tools/eval_loc.py folder``) and for fitting class-agnostic methods
(``pc1``) on a set of photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import AnnotatedDataset, list_images, read_split_list, require
from wsol.data.datasets.salicon import FIXATION_CLASS
from wsol.data.sample import Sample


@DATASETS.register("folder")
class ImageFolderDataset(AnnotatedDataset):
    """The images of ``root`` (no labels, no ground truth).

    Args:
        root: the image folder.
        split: ``"all"`` or the name of a list file ``<root>/<split>.txt``.
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self, root: str, split: str = "all", skip_bad_samples: bool = False, out_of_frame: str = "error"
    ) -> None:
        super().__init__(f"folder/{split}", skip_bad_samples, out_of_frame)
        self.root = require(root, "image folder")
        self.image_ids = read_split_list(self.root, split, list_images(self.root))
        self.class_names = [FIXATION_CLASS]
        self.ground_truth = frozenset()

    def image_path(self, index: int) -> Path:
        return self.root / self.image_ids[index]

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        return Sample(self.image_ids[index], image, 0, size=size)
