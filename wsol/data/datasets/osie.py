"""OSIE (Xu et al., JoV 2014): 700 images (800x600), eye fixations of 15 viewers (3 s).

Layout of the authors' repository (NUS-VIP/predicting-human-gaze-beyond-pixels)::

    <root>/data/stimuli/<nnnn>.jpg
    <root>/data/eye/fixations.mat

``<root>`` may also be the ``data`` folder itself. ``fixations.mat`` (read with
``scipy.io.loadmat``) holds a cell array ``fixations``, one struct per image with
``img`` (the file name) and ``subjects``, a cell array of structs with ``fix_x``,
``fix_y`` (1-based MATLAB pixel coordinates, fractional) and ``fix_duration``.

Points follow the authors' ``computeFixationMaps.m``: each coordinate is rounded
(half away from zero), clipped to ``[1, W]`` / ``[1, H]``, and made 0-based. That
clipping is the reference protocol, so ``out_of_frame`` never triggers here. All
subjects' points of an image are merged, duplicates kept. The release ships no
continuous maps (``fixation_map`` is None). ``split="all"`` is every image listed in
``fixations.mat``; another split reads names from ``<root>/<split>.txt``. Images
have label 0 of the single class ``"image"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from wsol.data.datasets import DATASETS
from wsol.data.datasets._base import AnnotatedDataset, OutOfFrame, read_split_list, require
from wsol.data.datasets.salicon import FIXATION_CLASS
from wsol.data.sample import Sample
from wsol.errors import DataError


@DATASETS.register("osie")
class OSIEDataset(AnnotatedDataset):
    """OSIE eye fixations.

    Args:
        root: the repository folder (or its ``data`` folder).
        split: ``"all"`` or the name of a list file ``<root>/<split>.txt``.
        skip_bad_samples, out_of_frame: bad-input policy (see ``_base``).
    """

    def __init__(
        self,
        root: str,
        split: str = "all",
        skip_bad_samples: bool = False,
        out_of_frame: OutOfFrame = "error",
    ) -> None:
        super().__init__(f"osie/{split}", skip_bad_samples, out_of_frame)
        self.root = require(root, "dataset root")
        data = self.root / "data" if (self.root / "data").is_dir() else self.root
        self.stimuli = require(data / "stimuli", "stimulus folder")
        self.raw = read_fixations(require(data / "eye" / "fixations.mat", "fixation file"))
        names = read_split_list(self.root, split, sorted(self.raw))
        self.image_ids = self.keep_valid(names, self._check)
        self.class_names = [FIXATION_CLASS]
        self.ground_truth = frozenset({"fixations"})
        self.log_summary()

    def _check(self, name: str) -> None:
        if len(self.raw[name]) == 0:
            raise DataError(f"{self.stimuli / name}: no fixations")
        require(self.stimuli / name, "image")

    def image_path(self, index: int) -> Path:
        return self.stimuli / self.image_ids[index]

    def make_sample(self, index: int, image: np.ndarray | None, size: tuple[int, int]) -> Sample:
        one_based = np.floor(self.raw[self.image_ids[index]] + 0.5)  # MATLAB round(), coordinates > 0
        points = np.clip(one_based, 1, [size[0], size[1]]) - 1
        return Sample(self.image_ids[index], image, 0, size=size, fixations=points)


def read_fixations(path: Path) -> dict[str, np.ndarray]:
    """``{image file name: (M, 2) 1-based (fix_x, fix_y)}`` from OSIE's ``fixations.mat``."""
    try:
        cells = loadmat(path, simplify_cells=True)["fixations"]
        out = {}
        for cell in np.atleast_1d(cells):
            subjects = cell["subjects"]
            subjects = [subjects] if isinstance(subjects, dict) else list(subjects)
            xs = [np.atleast_1d(np.asarray(s["fix_x"], dtype=np.float64)).ravel() for s in subjects]
            ys = [np.atleast_1d(np.asarray(s["fix_y"], dtype=np.float64)).ravel() for s in subjects]
            out[str(cell["img"])] = np.stack([np.concatenate(xs), np.concatenate(ys)], axis=1)
        return out
    except (OSError, ValueError, TypeError, KeyError, IndexError, MatReadError) as err:
        raise DataError(f"cannot read OSIE fixations from {path}: {err!r}") from None
